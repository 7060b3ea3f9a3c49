// `ocibundle repack --image PATH[:TAG] BUNDLE`: the changes in a bundle's rootfs since unpack
// become a new layer of the image, tagged TAG (umoci's flags). Parsing and printing only.
import { HISTORY_GROUP, HISTORY_OPTIONS, withHelp } from './usage.js';
import type { Argv, CommandModule } from 'yargs';
import { withSignals } from './signals.js';
import { compressOption, historyFlags, historyOptions, type CompressArgs, type HistoryArgs } from './build-options.js';
import { printJson, printMessage, stderrWarner } from './output.js';

interface RepackArgs extends HistoryArgs, CompressArgs {
  image: string;
  bundle: string;
  'refresh-bundle': boolean;
  'mask-path': string[];
  'mask-volumes': boolean;
  json: boolean;
  verbose: boolean;
}

export const repackCommand: CommandModule<object, RepackArgs> = {
  command: 'repack <bundle>',
  describe: 'add the changes made to a bundle rootfs since unpack as a new layer, and tag the result',
  builder: (y: Argv) =>
    withHelp(
      compressOption(historyOptions(y))
        .option('image', { type: 'string', demandOption: true, requiresArg: true, describe: 'PATH[:TAG]: the layout the bundle was unpacked from, and the tag to write (default latest)' })
        .positional('bundle', { type: 'string', demandOption: true, describe: 'a bundle made by unpack (ocibundle or umoci)' })
        .option('refresh-bundle', { type: 'boolean', default: false, describe: "update the bundle's umoci.json and mtree to the new image, so a later repack diffs against it" })
        .option('mask-path', { type: 'string', array: true, default: [], requiresArg: true, describe: 'a rootfs path whose changes are left out (repeatable)' })
        .option('mask-volumes', { type: 'boolean', default: true, describe: "leave out the image's Config.Volumes (--no-mask-volumes: include them)" })
        .option('json', { type: 'boolean', default: false, describe: 'print a JSON summary on stdout' })
        .option('verbose', { type: 'boolean', default: false, describe: 'report what was added on stderr' }),
      'repack',
      {
        describe: 'Add the changes made to a bundle rootfs since unpack as a new layer, and tag the result.',
        options: ['image', 'compress', 'refresh-bundle', 'mask-path', 'mask-volumes', 'json', 'verbose'],
        groups: { [HISTORY_GROUP]: HISTORY_OPTIONS },
        examples: [
          ['repack --image busybox:v2 bundle', 'bundle/rootfs changes become a layer of busybox:v2'],
          ['repack --image img:r --no-history bundle', 'with SOURCE_DATE_EPOCH=0: reproducible, mtimes clamped, no history'],
        ],
      },
    ) as unknown as Argv<RepackArgs>,
  handler: async (a) => {
    const { repack } = await import('../build/repack.js');
    const r = await withSignals((signal) => repack({
      image: a.image,
      bundle: a.bundle,
      history: historyFlags(a),
      compress: a.compress,
      refreshBundle: a['refresh-bundle'],
      maskPaths: a['mask-path'],
      noMaskVolumes: !a['mask-volumes'],
      onWarning: stderrWarner(),
      signal,
    }));
    if (a.json) printJson(r);
    else if (a.verbose) printMessage(r.layer ? `new layer ${r.layer}: ${r.added} entries, ${r.whiteouts} whiteouts (${r.hashed} files hashed)` : 'rootfs unchanged: no new layer');
  },
};
