// `ocibundle new --image PATH:TAG`: an empty image (no layers, this host's os/architecture)
// in an existing layout, as umoci new. Parsing and printing only.
import type { Argv, CommandModule } from 'yargs';
import { printData } from './output.js';

export const newCommand: CommandModule<object, { image: string }> = {
  command: 'new',
  describe: 'create an empty image (no layers) under a tag of an existing layout',
  builder: (y: Argv) =>
    y
      .option('image', { type: 'string', demandOption: true, requiresArg: true, describe: 'PATH:TAG of the new image (the layout must exist: see init)' })
      .example('$0 init --layout img && $0 new --image img:base', 'an empty image to build on with insert and config') as unknown as Argv<{ image: string }>,
  handler: async (a) => {
    const { newImage } = await import('../build/image-ops.js');
    printData(await newImage(a.image));
  },
};
