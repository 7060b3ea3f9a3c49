// The `unpack` and `raw unpack` / `raw runtime-config` commands: argument parsing, signal
// handling, progress display and the summary. All work is done by src/unpack.ts and
// src/runtime-config.ts; this file only translates flags and prints.
import { rawAddLayerCommand } from './insert.js';
import { withHelp } from './usage.js';
import type { Argv, CommandModule } from 'yargs';
import { OciBundleError } from '../errors.js';
import type { IdMap } from '../spec/index.js';
import { parseIdMap } from '../spec/idmap.js';
import type { UnpackOptions, UnpackProgress, UnpackSummary } from '../unpack.js';
import { amount, bar, printJson, printJsonText, printMessage, runWarnings, statusLine, stderrWarner } from './output.js';
import { withSignals } from './signals.js';
import { storeDirOf } from './store.js';
import { REGISTRY_OPTIONS, SOURCE_NAMES, sourceOptions, sourceOptionsOf, type SourceArgs } from './copy.js';
import { SHAPE_OPTIONS, shapeOptions, shapeOptionsOf, type ShapeArgs } from './shape-options.js';

interface UnpackArgs extends SourceArgs, ShapeArgs {
  image: string;
  bundle: string;
  platform?: string;
  force: boolean;
  rootless: boolean;
  'uid-map': string[];
  'gid-map': string[];
  'keep-dirlinks': boolean;
  'max-size'?: string;
  tty: boolean;
  volumes: boolean;
  mtree?: boolean;
  verbose: boolean;
  json: boolean;
  store?: string;
  overlay?: boolean;
  sync: boolean;
}

function imageOption<T>(y: Argv<T>) {
  return sourceOptions(y)
    .option('image', { type: 'string', demandOption: true, describe: `the image (tag defaults to latest): ${SOURCE_NAMES}` })
    .option('platform', { type: 'string', describe: 'os/arch[/variant] to pick from an index (default: this host)' });
}

function mappingOptions<T>(y: Argv<T>) {
  return y
    .option('rootless', { type: 'boolean', default: false, describe: 'unpack as an unprivileged user: no chown, owners kept in user.rootlesscontainers, devices as empty files' })
    .option('uid-map', { type: 'string', array: true, default: [], describe: 'CONTAINER:HOST[:SIZE] uid mapping (repeatable)' })
    .option('gid-map', { type: 'string', array: true, default: [], describe: 'CONTAINER:HOST[:SIZE] gid mapping (repeatable)' });
}

function configOptions<T>(y: Argv<T>) {
  return shapeOptions(y)
    .option('tty', { type: 'boolean', default: false, describe: 'set process.terminal true in config.json' })
    .option('volumes', { type: 'boolean', default: true, describe: 'turn image Volumes into tmpfs mounts (--no-volumes to skip)' });
}

function layerOptions<T>(y: Argv<T>) {
  return y
    .option('force', { type: 'boolean', default: false, describe: 'replace an existing rootfs and config.json' })
    .option('keep-dirlinks', { type: 'boolean', default: false, describe: "keep a lower layer's symlink to a directory where an upper layer has a directory (as umoci)" })
    .option('max-size', { type: 'string', describe: 'cap on the bytes of file content written, e.g. 2G, 500M' })
    .option('verbose', { type: 'boolean', default: false, describe: 'report progress on stderr even when it is not a terminal' })
    .option('json', { type: 'boolean', default: false, describe: 'print a JSON summary on stdout' })
    .option('sync', { type: 'boolean', default: false, describe: 'flush the bundle to disk before exiting (syncfs), so it survives a power loss; default: as umoci and tar, no flush' })
    .option('store', { type: 'string', describe: 'use a layer store: each layer extracted once, reused (value optional: $XDG_CACHE_HOME/ocibundle, else ~/.cache/ocibundle)' });
}

export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$/i.exec(text.trim());
  if (!m) throw new OciBundleError('EUSAGE', `invalid size ${JSON.stringify(text)}: expected a number with an optional K, M, G or T suffix`);
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  return Math.floor(Number(m[1]) * mult);
}

function maps(list: string[]): IdMap[] {
  return list.map(parseIdMap);
}

/** A one-line progress bar on a TTY; one line per layer with --verbose elsewhere. */
function progressReporter(verbose: boolean): { onProgress?: (p: UnpackProgress) => void; finish: () => void } {
  const tty = process.stderr.isTTY === true;
  const status = statusLine();
  const finish = () => status.end();
  if (!tty && !verbose) return { finish };
  let lastLayer = -1;
  let lastDraw = 0;
  const onProgress = (p: UnpackProgress) => {
    const now = Date.now();
    if (!tty) {
      if (p.layer !== lastLayer) printMessage(`layer ${p.layer + 1}/${p.layers}`);
      lastLayer = p.layer;
      return;
    }
    // The library reports at most ~10 times a second within a layer; layer starts come at once.
    if (now - lastDraw < 100 && p.compressedDone < p.compressedTotal && p.layer === lastLayer) return;
    lastDraw = now;
    lastLayer = p.layer;
    const frac = p.compressedTotal > 0 ? p.compressedDone / p.compressedTotal : 1;
    status.draw(`layer ${p.layer + 1}/${p.layers} ${bar(frac)} ${amount(p.compressedDone, p.compressedTotal)}`);
  };
  return { onProgress, finish };
}

async function runUnpack(args: UnpackArgs, rootfsOnly: boolean): Promise<void> {
  const warn = stderrWarner({ json: args.json });
  const progress = progressReporter(args.verbose);
  const summary: UnpackSummary = await withSignals(async (signal) => {
    const opts: UnpackOptions = {
      ...(rootfsOnly ? {} : shapeOptionsOf(args)),
      image: args.image,
      bundle: args.bundle,
      rootfsOnly,
      force: args.force,
      rootless: args.rootless,
      uidMap: maps(args['uid-map']),
      gidMap: maps(args['gid-map']),
      keepDirlinks: args['keep-dirlinks'],
      tty: args.tty ?? false,
      volumes: args.volumes ?? true,
      mtree: args.mtree ?? !args.overlay,
      sync: args.sync ?? false,
      signal,
      onWarning: warn,
    };
    if (args.platform !== undefined) opts.platform = args.platform;
    opts.source = sourceOptionsOf(args, warn);
    if (args['max-size'] !== undefined) opts.maxSize = parseSize(args['max-size']);
    if (progress.onProgress) opts.onProgress = progress.onProgress;
    if (args.store !== undefined) opts.store = await storeDirOf(args.store);
    if (args.overlay) opts.overlay = true;
    const { unpack } = await import('../unpack.js');
    return unpack(opts);
  }).finally(progress.finish);
  // With --json the warnings are part of the result, not lines on stderr.
  if (args.json) printJson({ ...summary, warnings: runWarnings });
  else if (args.verbose) {
    printMessage(`unpacked ${summary.stats.entries} entries (${summary.stats.bytes} bytes) from ${summary.layers.length} layers into ${summary.rootfs} in ${summary.ms} ms`);
  }
}

export const unpackCommand: CommandModule<object, UnpackArgs> = {
  command: 'unpack <bundle>',
  describe: 'unpack an image into an OCI runtime bundle (BUNDLE/rootfs + BUNDLE/config.json)',
  builder: (y) =>
    withHelp(layerOptions(configOptions(mappingOptions(imageOption(y)))).option('overlay', { type: 'boolean', default: false, describe: 'with --store: BUNDLE/rootfs is an overlay mount of the store layers (see `ocibundle umount`)' }).positional('bundle', { type: 'string', demandOption: true, describe: 'bundle directory (created with mode 0700)' }).option('mtree', { type: 'boolean', describe: 'write umoci.json and sha256_<manifest>.mtree for repack (default: on, off with --overlay; --no-mtree to skip)' }), 'unpack', {
      describe: 'Unpack an image into an OCI runtime bundle: BUNDLE/rootfs and BUNDLE/config.json.',
      options: ['image', 'platform', 'force', 'rootless', 'uid-map', 'gid-map', 'keep-dirlinks', 'max-size', 'json', 'verbose', 'sync', 'tty', 'volumes', 'mtree', 'store', 'overlay'],
      groups: { 'Process and config.json options:': SHAPE_OPTIONS, 'Registry options (docker:// images):': REGISTRY_OPTIONS },
      examples: [
        ['unpack --image busybox:latest bundle', 'then: runc run -b bundle ctr'],
        ['unpack --image debian@sha256:HEX --platform linux/arm64/v8 bundle', 'an image by digest, for another platform'],
        ['unpack --rootless --image busybox bundle', 'as an unprivileged user (owners kept in user.rootlesscontainers)'],
        ['unpack --image docker://127.0.0.1:5000/busybox --tls-verify=false b', 'straight from a local registry'],
        ['unpack --store=/var/cache/ocibundle --overlay --image busybox b', 'an overlay bundle from the layer store'],
      ],
    }) as unknown as Argv<UnpackArgs>,
  handler: (args) => runUnpack(args, false),
};

interface RuntimeConfigArgs extends SourceArgs, ShapeArgs {
  image: string;
  config: string;
  platform?: string;
  rootfs?: string;
  rootless: boolean;
  'uid-map': string[];
  'gid-map': string[];
  tty: boolean;
  volumes: boolean;
  force: boolean;
}

export const rawUnpack: CommandModule<object, UnpackArgs & { rootfs: string }> = {
  command: 'unpack <rootfs>',
  describe: 'unpack only the root file system of an image into ROOTFS (no config.json)',
  builder: (y) =>
    withHelp(
      layerOptions(mappingOptions(imageOption(y)))
        .option('force', { type: 'boolean', default: false, describe: 'replace an existing ROOTFS' })
        .positional('rootfs', { type: 'string', demandOption: true, describe: 'the rootfs directory to create' }),
      'raw unpack',
      {
        describe: 'Unpack only the root file system of an image into ROOTFS (no config.json).',
        options: ['image', 'platform', 'force', 'rootless', 'uid-map', 'gid-map', 'keep-dirlinks', 'max-size', 'json', 'verbose', 'sync', 'store'],
        groups: { 'Registry options (docker:// images):': REGISTRY_OPTIONS },
        examples: [
          ['raw unpack --image busybox:latest rootfs', 'rootfs/ only; then: raw runtime-config --rootfs rootfs'],
          ['raw unpack --rootless --image busybox rootfs', 'as an unprivileged user'],
        ],
      },
    ) as unknown as Argv<UnpackArgs & { rootfs: string }>,
  handler: (args) => runUnpack({ ...args, bundle: args.rootfs, tty: false, volumes: true }, true),
};

export const rawRuntimeConfig: CommandModule<object, RuntimeConfigArgs> = {
  command: 'runtime-config <config>',
  aliases: ['config'], // umoci's name for it
  describe: 'write only the runtime config.json for an image',
  builder: (y) =>
    withHelp(
      configOptions(mappingOptions(imageOption(y)))
        .positional('config', { type: 'string', demandOption: true, describe: 'the config.json path to write, or - for stdout' })
        .option('rootfs', { type: 'string', describe: "an unpacked rootfs whose /etc/passwd and /etc/group resolve the image's User" })
        .option('force', { type: 'boolean', default: false, describe: 'replace an existing CONFIG' }),
      'raw runtime-config',
      {
        describe: 'Write only the runtime config.json for an image.',
        options: ['image', 'platform', 'rootfs', 'force', 'rootless', 'uid-map', 'gid-map', 'tty', 'volumes'],
        groups: { 'Process and config.json options:': SHAPE_OPTIONS, 'Registry options (docker:// images):': REGISTRY_OPTIONS },
        examples: [
          ['raw runtime-config --image busybox --rootfs rootfs config.json', "named users resolved in rootfs/etc/passwd"],
          ['raw runtime-config --image busybox --tty --env A=1 config.json', 'an interactive process with one more variable'],
          ['raw runtime-config --image busybox - | jq .process', 'config.json on stdout'],
        ],
      },
    ) as unknown as Argv<RuntimeConfigArgs>,
  handler: async (args) => {
    const { writeRuntimeConfig, runtimeConfigText } = await import('../runtime-config.js');
    const warn = stderrWarner();
    const toStdout = args.config === '-';
    const spec = await writeRuntimeConfig({
      ...shapeOptionsOf(args),
      image: args.image,
      ...(toStdout ? {} : { config: args.config }),
      ...(args.platform === undefined ? {} : { platform: args.platform }),
      ...(args.rootfs === undefined ? {} : { rootfs: args.rootfs }),
      rootless: args.rootless,
      uidMap: maps(args['uid-map']),
      gidMap: maps(args['gid-map']),
      tty: args.tty,
      volumes: args.volumes,
      force: args.force,
      source: sourceOptionsOf(args, warn),
      onWarning: warn,
    });
    if (toStdout) printJsonText(runtimeConfigText(spec));
  },
};

export const rawCommand: CommandModule<object, object> = {
  command: 'raw',
  describe: 'lower-level operations: a rootfs only, a config.json only, a tar as a layer',
  builder: (y) =>
    withHelp(y.command(rawUnpack as never).command(rawRuntimeConfig as never).command(rawAddLayerCommand as never).demandCommand(1, ''), 'raw', {
      describe: 'Lower-level operations, as in umoci: a rootfs only, a config.json only, a tar as a layer.',
      options: [],
      examples: [
        ['raw unpack --image busybox:latest rootfs', 'only the root file system'],
        ['raw runtime-config --image busybox --rootfs rootfs config.json', 'only config.json, users resolved in rootfs'],
      ],
    }),
  handler: () => {},
};
