// `ocibundle insert --image PATH[:TAG] SOURCE TARGET` (and --whiteout TARGET, --opaque,
// --rootless, id maps, --history.*), and `raw add-layer --image PATH[:TAG] LAYER.tar`: a new
// layer from host files or from a tar made elsewhere. Parsing and printing only.
import { HISTORY_GROUP, HISTORY_OPTIONS, withHelp } from './usage.js';
import type { Argv, CommandModule } from 'yargs';
import { withSignals } from './signals.js';
import { OciBundleError } from '../errors.js';
import { parseIdMap } from '../spec/index.js';
import { commonOptionsOf, compressOption, historyOptions, type CompressArgs, type HistoryArgs } from './build-options.js';
import { printData } from './output.js';

interface InsertArgs extends HistoryArgs, CompressArgs {
  image: string;
  tag?: string;
  source: string;
  target?: string;
  whiteout: boolean;
  opaque: boolean;
  rootless: boolean;
  'uid-map': string[];
  'gid-map': string[];
}

export const insertCommand: CommandModule<object, InsertArgs> = {
  command: 'insert <source> [target]',
  describe: 'add a host file or directory tree (or a whiteout) as a new layer',
  builder: (y: Argv) =>
    withHelp(
      compressOption(historyOptions(y))
      .positional('source', { type: 'string', describe: 'host file or directory (with --whiteout: the TARGET path)' })
      .positional('target', { type: 'string', describe: 'path in the image' })
      .option('image', { type: 'string', demandOption: true, requiresArg: true, describe: 'PATH[:TAG] of the image' })
      .option('tag', { type: 'string', requiresArg: true, describe: 'write the result under this tag (default: the --image tag)' })
      .option('whiteout', { type: 'boolean', default: false, describe: 'add a whiteout for TARGET instead of files' })
      .option('opaque', { type: 'boolean', default: false, describe: 'hide what lower layers have under TARGET (a directory)' })
      .option('rootless', { type: 'boolean', default: false, describe: 'owners from user.rootlesscontainers, else root' })
      .option('uid-map', { type: 'string', array: true, default: [], describe: 'CONTAINER:HOST[:SIZE]: host owners are mapped back (repeatable)' })
      .option('gid-map', { type: 'string', array: true, default: [], describe: 'CONTAINER:HOST[:SIZE] (repeatable)' }),
      'insert',
      {
        describe: 'Add a host file or directory tree (or a whiteout) as a new layer, as umoci insert.',
        options: ['image', 'tag', 'whiteout', 'opaque', 'compress', 'rootless', 'uid-map', 'gid-map'],
        groups: { [HISTORY_GROUP]: HISTORY_OPTIONS },
        examples: [
          ['insert --image img:v1 ./probe /usr/bin/probe', 'one file'],
          ['insert --image img:v1 --whiteout /etc/motd', 'delete a path'],
        ],
      },
    ) as unknown as Argv<InsertArgs>,
  handler: async (a) => {
    const { insert } = await import('../build/image-ops.js');
    const whiteout = a.whiteout;
    const target = whiteout ? (a.target ?? a.source) : a.target;
    if (target === undefined) throw new OciBundleError('EUSAGE', 'insert needs SOURCE and TARGET');
    printData(await withSignals((signal) => insert({
      ...commonOptionsOf(a), target, whiteout, opaque: a.opaque,
      ...(whiteout ? {} : { source: a.source }), rootless: a.rootless, uidMap: a['uid-map'].map(parseIdMap), gidMap: a['gid-map'].map(parseIdMap), compress: a.compress,
      signal,
    })));
  },
};

interface AddLayerArgs extends HistoryArgs, CompressArgs {
  image: string;
  tag?: string;
  layer: string;
}

export const rawAddLayerCommand: CommandModule<object, AddLayerArgs> = {
  command: 'add-layer <layer>',
  describe: 'add an uncompressed tar file as a new layer (compressed on the way in)',
  builder: (y: Argv) =>
    withHelp(
      compressOption(historyOptions(y))
        .positional('layer', { type: 'string', demandOption: true, describe: 'a tar file' })
        .option('image', { type: 'string', demandOption: true, requiresArg: true, describe: 'PATH[:TAG] of the image' })
        .option('tag', { type: 'string', requiresArg: true, describe: 'write the result under this tag (default: the --image tag)' }),
      'raw add-layer',
      {
        describe: 'Add an uncompressed tar file as a new layer (compressed on the way in), as umoci raw add-layer.',
        options: ['image', 'tag', 'compress'],
        groups: { [HISTORY_GROUP]: HISTORY_OPTIONS },
        examples: [
          ['raw add-layer --image img:v1 layer.tar', 'the tar becomes the top layer of img:v1'],
          ['raw add-layer --image img --tag v2 --compress zstd layer.tar', 'zstd, under a new tag'],
        ],
      },
    ) as unknown as Argv<AddLayerArgs>,
  handler: async (a) => {
    const { rawAddLayer } = await import('../build/image-ops.js');
    printData(await withSignals((signal) => rawAddLayer({ ...commonOptionsOf(a), file: a.layer, compress: a.compress, signal })));
  },
};
