// `ocibundle new --image PATH:TAG`: an empty image (no layers, this host's os/architecture)
// in an existing layout, as umoci new. Parsing and printing only.
import { withHelp } from './usage.js';
import type { Argv, CommandModule } from 'yargs';
import { withSignals } from './signals.js';
import { printData } from './output.js';

export const newCommand: CommandModule<object, { image: string }> = {
  command: 'new',
  describe: 'create an empty image (no layers) under a tag of an existing layout',
  builder: (y: Argv) =>
    withHelp(y.option('image', { type: 'string', demandOption: true, requiresArg: true, describe: 'PATH:TAG of the new image (the layout must exist: see init)' }), 'new', {
      describe: 'Create an empty image (no layers, this host\'s os/architecture) under a tag of an existing layout.',
      options: ['image'],
      examples: [
        ['new --image img:base', 'after ocibundle init --layout img: an image to build on'],
        ['new --image img:base && ocibundle insert --image img:base f /f', 'then a first layer'],
      ],
    }) as unknown as Argv<{ image: string }>,
  handler: async (a) => {
    const { newImage } = await import('../build/image-ops.js');
    printData(await withSignals((signal) => newImage(a.image, signal)));
  },
};
