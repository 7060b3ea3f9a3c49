// The `unpack` and `raw unpack` / `raw runtime-config` commands: argument parsing, signal
// handling, progress display and the summary. All work is done by src/unpack.ts and
// src/runtime-config.ts; this file only translates flags and prints.
import { rawAddLayerCommand } from './insert.js';
import type { Argv, CommandModule } from 'yargs';
import { OciBundleError } from '../errors.js';
import type { IdMap } from '../spec/index.js';
import { parseIdMap } from '../spec/idmap.js';
import type { UnpackOptions, UnpackProgress, UnpackSummary } from '../unpack.js';
import { printJson, printMessage, stderrWarner } from './output.js';
import { withSignals } from './signals.js';
import { SOURCE_NAMES, sourceOptions, sourceOptionsOf, type SourceArgs } from './copy.js';
import { shapeOptions, shapeOptionsOf, type ShapeArgs } from './shape-options.js';

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
    .option('json', { type: 'boolean', default: false, describe: 'print a JSON summary on stdout' });
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
function progressReporter(verbose: boolean): ((p: UnpackProgress) => void) | undefined {
  const tty = process.stderr.isTTY === true;
  if (!tty && !verbose) return undefined;
  let lastLayer = -1;
  let lastDraw = 0;
  return (p) => {
    const now = Date.now();
    if (!tty) {
      if (p.layer !== lastLayer) printMessage(`layer ${p.layer + 1}/${p.layers}`);
      lastLayer = p.layer;
      return;
    }
    if (now - lastDraw < 100 && p.compressedDone < p.compressedTotal) return;
    lastDraw = now;
    const frac = p.compressedTotal > 0 ? p.compressedDone / p.compressedTotal : 1;
    const width = 30;
    const bar = '#'.repeat(Math.round(frac * width)).padEnd(width, '.');
    const mb = (n: number) => (n / 1048576).toFixed(1);
    process.stderr.write(`\rlayer ${p.layer + 1}/${p.layers} [${bar}] ${mb(p.compressedDone)}/${mb(p.compressedTotal)} MiB`);
    if (p.compressedDone >= p.compressedTotal) process.stderr.write('\n');
  };
}

async function runUnpack(args: UnpackArgs, rootfsOnly: boolean): Promise<void> {
  const warn = stderrWarner();
  const progress = args.verbose || process.stderr.isTTY ? progressReporter(args.verbose) : undefined;
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
      mtree: args.mtree ?? true,
      signal,
      onWarning: warn,
    };
    if (args.platform !== undefined) opts.platform = args.platform;
    opts.source = sourceOptionsOf(args);
    if (args['max-size'] !== undefined) opts.maxSize = parseSize(args['max-size']);
    if (progress) opts.onProgress = progress;
    const { unpack } = await import('../unpack.js');
    return unpack(opts);
  });
  if (args.json) printJson(summary);
  else if (args.verbose) {
    printMessage(`unpacked ${summary.stats.entries} entries (${summary.stats.bytes} bytes) from ${summary.layers.length} layers into ${summary.rootfs} in ${summary.ms} ms`);
  }
}

export const unpackCommand: CommandModule<object, UnpackArgs> = {
  command: 'unpack <bundle>',
  describe: 'unpack an image into an OCI runtime bundle (BUNDLE/rootfs + BUNDLE/config.json)',
  builder: (y) =>
    layerOptions(configOptions(mappingOptions(imageOption(y))))
      .positional('bundle', { type: 'string', demandOption: true, describe: 'bundle directory (created with mode 0700)' })
      .option('mtree', { type: 'boolean', default: true, describe: 'write umoci.json and sha256_<manifest>.mtree for repack (--no-mtree to skip)' })
      .example('$0 unpack --image busybox:latest bundle', 'then: runc run -b bundle ctr')
      .example('$0 unpack --image debian@sha256:... --platform linux/arm64/v8 bundle', 'a digest and a platform')
      .example('$0 unpack --rootless --image busybox bundle', 'as an unprivileged user') as unknown as Argv<UnpackArgs>,
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

const rawUnpack: CommandModule<object, UnpackArgs> = {
  command: 'unpack <bundle>',
  describe: 'unpack only the root file system of an image into ROOTFS (no config.json)',
  builder: (y) =>
    layerOptions(mappingOptions(imageOption(y)))
      .positional('bundle', { type: 'string', demandOption: true, describe: 'the rootfs directory to create' })
      .example('$0 raw unpack --image busybox:latest rootfs', '') as unknown as Argv<UnpackArgs>,
  handler: (args) => runUnpack({ ...args, tty: false, volumes: true }, true),
};

const rawRuntimeConfig: CommandModule<object, RuntimeConfigArgs> = {
  command: 'runtime-config <config>',
  describe: 'write only the runtime config.json for an image',
  builder: (y) =>
    configOptions(mappingOptions(imageOption(y)))
      .positional('config', { type: 'string', demandOption: true, describe: 'the config.json path to write' })
      .option('rootfs', { type: 'string', describe: "an unpacked rootfs whose /etc/passwd and /etc/group resolve the image's User" })
      .option('force', { type: 'boolean', default: false, describe: 'replace an existing file' })
      .example('$0 raw runtime-config --image busybox:user --rootfs bundle/rootfs config.json', '') as unknown as Argv<RuntimeConfigArgs>,
  handler: async (args) => {
    const { writeRuntimeConfig } = await import('../runtime-config.js');
    await writeRuntimeConfig({
      ...shapeOptionsOf(args),
      image: args.image,
      config: args.config,
      ...(args.platform === undefined ? {} : { platform: args.platform }),
      ...(args.rootfs === undefined ? {} : { rootfs: args.rootfs }),
      rootless: args.rootless,
      uidMap: maps(args['uid-map']),
      gidMap: maps(args['gid-map']),
      tty: args.tty,
      volumes: args.volumes,
      force: args.force,
      source: sourceOptionsOf(args),
      onWarning: stderrWarner(),
    });
  },
};

export const rawCommand: CommandModule<object, object> = {
  command: 'raw',
  describe: 'lower-level operations: a rootfs only, a config.json only, a tar as a layer',
  builder: (y) => y.command(rawUnpack as never).command(rawRuntimeConfig as never).command(rawAddLayerCommand as never).demandCommand(1, ''),
  handler: () => {},
};
