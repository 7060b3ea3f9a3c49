// The `copy SRC DEST` command (platforms, compression and --dest-* registry flags) and the source
// flags shared by unpack, raw unpack and stat (--creds, --authfile, --tls-verify, --cache-dir,
// --speed-limit/--speed-time). Only translates flags and prints; the work is src/source/copy.ts,
// whose progress events become a bar on a TTY stderr (a line per blob with --verbose elsewhere,
// nothing on a pipe). Credentials are never printed.
import type { Argv, CommandModule } from 'yargs';
import type { CopyOptions, CopyProgress } from '../source/copy.js';
import type { SourceOptions } from '../source/index.js';
import { OciBundleError } from '../errors.js';
import { spellings } from '../source/transports.js';
import type { WarnFn } from '../errors.js';
import { amount, bar, printJson, printMessage, runWarnings, statusLine, stderrWarner } from './output.js';
import { withSignals } from './signals.js';
import { withHelp } from './usage.js';

export interface SourceArgs {
  creds?: string;
  authfile?: string;
  'tls-verify'?: boolean;
  'cache-dir'?: string;
  'speed-limit'?: number;
  'speed-time'?: number;
  'trust-realm'?: string[];
  platform?: string;
}

/** The registry flags' names (a help group of their own). */
export const REGISTRY_OPTIONS = ['creds', 'authfile', 'tls-verify', 'cache-dir', 'speed-limit', 'speed-time'];

export function sourceOptions<T>(y: Argv<T>) {
  return y
    .option('creds', { type: 'string', requiresArg: true, describe: 'registry credentials USER:PASS for docker:// sources (never printed)' })
    .option('authfile', { type: 'string', requiresArg: true, describe: 'auth.json / docker config.json with registry credentials' })
    .option('tls-verify', { type: 'boolean', default: true, describe: 'verify registry TLS certificates (--tls-verify=false for a local registry)' })
    .option('cache-dir', { type: 'string', requiresArg: true, describe: 'keep verified registry blobs here; later pulls reuse them' })
    .option('speed-limit', { type: 'number', requiresArg: true, describe: 'a blob transfer slower than this many bytes per --speed-time is broken off and resumed (default 1024)' })
    .option('speed-time', { type: 'number', requiresArg: true, describe: 'seconds for --speed-limit (default 30)' })
    .option('trust-realm', { type: 'string', array: true, requiresArg: true, describe: 'also send registry credentials to a token realm on this other host (repeatable; see README, Security)' });
}

function positive(v: number | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  if (!Number.isFinite(v) || v <= 0) throw new OciBundleError('EUSAGE', `--${flag} must be a positive number, not ${String(v)}`);
  return v;
}

/** SourceOptions from parsed flags; `warn` hears of registry retries and dropped cache entries. */
export function sourceOptionsOf(args: SourceArgs, warn: WarnFn = stderrWarner()): SourceOptions {
  const registry: NonNullable<SourceOptions['registry']> = { tlsVerify: args['tls-verify'] ?? true, onWarning: warn };
  if (args.creds !== undefined) registry.creds = args.creds;
  if (args.authfile !== undefined) registry.authfile = args.authfile;
  if (args['cache-dir'] !== undefined) registry.cacheDir = args['cache-dir'];
  const bytes = positive(args['speed-limit'], 'speed-limit');
  const secs = positive(args['speed-time'], 'speed-time');
  if (bytes !== undefined) registry.lowSpeedBytes = bytes;
  if (secs !== undefined) registry.lowSpeedMs = secs * 1000;
  registry.onWarning = stderrWarner();
  if (args['trust-realm'] !== undefined) registry.trustRealms = args['trust-realm'].map(String);
  return { ...(args.platform === undefined ? {} : { platform: args.platform }), registry };
}

export const SOURCE_NAMES = spellings('source');

interface CopyArgs extends SourceArgs {
  src: string;
  dest: string;
  json: boolean;
  verbose: boolean;
  jobs: number;
  'verify-existing': boolean;
  all: boolean;
  'dest-creds'?: string;
  'dest-authfile'?: string;
  'dest-tls-verify': boolean;
  'upload-chunk-size'?: number;
  'dest-compress'?: string;
  'dest-decompress': boolean;
}

/** --dest-compress FORMAT / --dest-decompress as the library's compression. */
function compressionOf(args: CopyArgs): CopyOptions['compression'] {
  const c = args['dest-compress'];
  if (c !== undefined && args['dest-decompress']) throw new OciBundleError('EUSAGE', 'copy takes --dest-compress or --dest-decompress, not both');
  if (args['dest-decompress']) return 'none';
  if (c === undefined) return undefined;
  if (c !== 'gzip' && c !== 'zstd') throw new OciBundleError('EUSAGE', `--dest-compress takes gzip or zstd, not ${JSON.stringify(c.slice(0, 40))}`);
  return c;
}

/** The docker:// destination's options from the --dest-* flags. */
function destRegistryOf(args: CopyArgs): NonNullable<CopyOptions['destRegistry']> {
  const out: NonNullable<CopyOptions['destRegistry']> = { tlsVerify: args['dest-tls-verify'] };
  if (args['dest-creds'] !== undefined) out.creds = args['dest-creds'];
  if (args['dest-authfile'] !== undefined) out.authfile = args['dest-authfile'];
  const chunk = args['upload-chunk-size'];
  if (chunk !== undefined) {
    if (!Number.isSafeInteger(chunk) || chunk < 1) throw new OciBundleError('EUSAGE', `--upload-chunk-size must be a positive integer, not ${String(chunk)}`);
    out.chunkBytes = chunk;
  }
  return out;
}

/** Progress on stderr: a redrawn bar on a TTY, a line per finished blob with --verbose, else none. */
export function copyProgressReporter(tty: boolean, verbose: boolean) {
  let lastDraw = 0;
  const status = statusLine();
  const onProgress = (p: CopyProgress): void => {
    if (!tty) {
      if (p.finished) printMessage(`blob ${p.blobsDone}/${p.blobs} ${p.digest} (${amount(p.bytesDone, p.bytesTotal)})`);
      return;
    }
    const last = p.finished && p.blobsDone === p.blobs;
    const now = Date.now();
    if (!last && !p.finished && now - lastDraw < 100) return;
    lastDraw = now;
    const frac = p.bytesTotal > 0 ? p.bytesDone / p.bytesTotal : p.blobsDone / p.blobs;
    status.draw(`blob ${p.blobsDone}/${p.blobs} ${bar(frac)} ${amount(p.bytesDone, p.bytesTotal)}`);
    if (last) status.end();
  };
  return {
    onProgress: tty || verbose ? onProgress : undefined,
    /** Ends a bar left mid-line (before an error message is printed). */
    finish: () => status.end(),
  };
}

export const copyCommand: CommandModule<object, CopyArgs> = {
  command: 'copy <src> <dest>',
  describe: 'copy an image from any source to an OCI layout, oci-archive, dir:, docker-archive or registry, as skopeo copy',
  builder: (y) =>
    withHelp(
      sourceOptions(y)
      .positional('src', { type: 'string', demandOption: true, describe: `the image: ${SOURCE_NAMES}` })
      .positional('dest', { type: 'string', demandOption: true, describe: `${spellings('destination')} (a layout is created if absent; tag defaults to latest)` })
      .option('platform', { type: 'string', requiresArg: true, describe: 'copy only this os/arch[/variant] from a multi-platform index (default: this host\'s)' })
      .option('all', { type: 'boolean', default: false, describe: 'copy a multi-platform index whole, every platform (as skopeo --all)' })
      .option('json', { type: 'boolean', default: false, describe: 'print {descriptor, tag, copied, skipped} on stdout' })
      .option('verbose', { type: 'boolean', default: false, describe: 'report each blob copied, and a summary, on stderr' })
      .option('jobs', { type: 'number', default: 3, requiresArg: true, describe: 'blobs transferred at once (1-64)' })
      .option('verify-existing', { type: 'boolean', default: true, describe: 're-hash blobs DEST already has before reusing them (--no-verify-existing: check only their size)' })
      .option('dest-creds', { type: 'string', requiresArg: true, describe: 'registry credentials USER:PASS for a docker:// destination (never printed)' })
      .option('dest-authfile', { type: 'string', requiresArg: true, describe: 'auth.json / docker config.json for a docker:// destination (default: --authfile, then the usual files)' })
      .option('dest-tls-verify', { type: 'boolean', default: true, describe: 'verify the destination registry\'s TLS certificates (--dest-tls-verify=false for a local registry)' })
      .option('dest-compress', { type: 'string', requiresArg: true, alias: 'dest-compress-format', describe: 'recompress every layer to gzip or zstd while copying (new digests, same diff_ids)' })
      .option('dest-decompress', { type: 'boolean', default: false, describe: 'store every layer uncompressed' })
      .option('upload-chunk-size', { type: 'number', requiresArg: true, describe: 'push blobs in PATCH chunks of this many bytes (default: one PUT per blob)' }),
      'copy',
      {
        describe: 'Copy an image from any source to an OCI layout or oci-archive (Docker media types converted to OCI), a dir:, a docker-archive or a registry, as skopeo copy does: only this host\'s platform of an index unless --all.',
        options: ['platform', 'all', 'dest-compress', 'dest-decompress', 'jobs', 'json', 'verbose', 'verify-existing'],
        groups: { 'Registry options (docker:// sources):': REGISTRY_OPTIONS, 'Registry options (docker:// destinations):': ['dest-creds', 'dest-authfile', 'dest-tls-verify', 'upload-chunk-size'] },
        examples: [
          ['copy docker-archive:busybox.tar oci:busybox:latest', 'then: ocibundle unpack --image busybox:latest bundle'],
          ['copy --tls-verify=false docker://127.0.0.1:5000/busybox bb', 'from a local plain-http registry into layout bb'],
          ['copy --platform linux/arm64 multi:latest oci-archive:arm.tar', 'one platform of an index, as an archive'],
          ['copy --all multi:latest oci:all:latest', 'every platform of an index (default: this host\'s only)'],
          ['copy --dest-tls-verify=false bb:latest docker://127.0.0.1:5000/bb:v1', 'push to a local plain-http registry'],
        ],
      },
    ) as unknown as Argv<CopyArgs>,
  handler: async (args) => {
    const { copyImage } = await import('../source/copy.js');
    const progress = copyProgressReporter(process.stderr.isTTY === true, args.verbose);
    const warn = stderrWarner({ json: args.json });
    const r = await withSignals(async (signal) => {
      const compression = compressionOf(args);
      const opts: CopyOptions = { ...sourceOptionsOf(args, warn), jobs: args.jobs, all: args.all, destRegistry: destRegistryOf(args), signal, verifyExisting: args['verify-existing'], onWarning: warn };
      if (progress.onProgress) opts.onProgress = progress.onProgress;
      if (compression !== undefined) opts.compression = compression;
      return copyImage(args.src, args.dest, opts);
    }).finally(progress.finish);
    if (args.json) printJson({ ...r, warnings: runWarnings });
    else if (args.verbose) {
      // dir: has no tag, a docker-archive: may have none
      const as = r.tag === '' ? `to ${args.dest}` : `as tag ${r.tag}`;
      const up = r.uploads && r.uploads.mounted > 0 ? ` (${r.uploads.mounted} mounted)` : '';
      printMessage(`copied ${r.descriptor.digest} ${as}: ${r.copied} blob(s) written${up}, ${r.skipped} already present`);
    }
  },
};
