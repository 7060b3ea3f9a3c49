// The `copy SRC DEST` command and the source flags shared by unpack, raw unpack and stat
// (--creds, --authfile, --tls-verify, --cache-dir, --speed-limit/--speed-time). Only translates
// flags and prints; the work is src/source/copy.ts, whose progress events become a bar on a TTY
// stderr (a line per blob with --verbose elsewhere, nothing on a pipe). Credentials are never printed.
import type { Argv, CommandModule } from 'yargs';
import type { CopyOptions, CopyProgress } from '../source/copy.js';
import type { SourceOptions } from '../source/index.js';
import { escapeControls } from './escape.js';
import { OciBundleError } from '../errors.js';
import { printJson, printMessage, stderrWarner } from './output.js';
import { withSignals } from './signals.js';

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

/** SourceOptions from parsed flags. */
export function sourceOptionsOf(args: SourceArgs): SourceOptions {
  const registry: NonNullable<SourceOptions['registry']> = { tlsVerify: args['tls-verify'] ?? true };
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

export const SOURCE_NAMES = 'PATH[:TAG], PATH@sha256:HEX, oci:PATH[:TAG], oci-archive:FILE[:TAG], docker-archive:FILE[:REPO:TAG] or docker://HOST[:PORT]/REPO[:TAG|@DIGEST]';

interface CopyArgs extends SourceArgs {
  src: string;
  dest: string;
  json: boolean;
  verbose: boolean;
  jobs: number;
  'verify-existing': boolean;
}

/** `done/total UNIT`, in MiB, or in KiB when the total is under 1 MiB. */
function amount(done: number, total: number): string {
  const [div, unit] = total < 1048576 ? [1024, 'KiB'] : [1048576, 'MiB'];
  return `${(done / div).toFixed(1)}/${(total / div).toFixed(1)} ${unit}`;
}

/** Progress on stderr: a redrawn bar on a TTY, a line per finished blob with --verbose, else none. */
export function copyProgressReporter(tty: boolean, verbose: boolean, write: (s: string) => void = (s) => process.stderr.write(s)) {
  let lastDraw = 0;
  let open = false;
  const onProgress = (p: CopyProgress): void => {
    if (!tty) {
      if (p.finished) write(`ocibundle: blob ${p.blobsDone}/${p.blobs} ${escapeControls(p.digest)} (${amount(p.bytesDone, p.bytesTotal)})\n`);
      return;
    }
    const last = p.finished && p.blobsDone === p.blobs;
    const now = Date.now();
    if (!last && !p.finished && now - lastDraw < 100) return;
    lastDraw = now;
    const frac = p.bytesTotal > 0 ? p.bytesDone / p.bytesTotal : p.blobsDone / p.blobs;
    const width = 30;
    const bar = '#'.repeat(Math.round(frac * width)).padEnd(width, '.');
    write(`\rblob ${p.blobsDone}/${p.blobs} [${bar}] ${amount(p.bytesDone, p.bytesTotal)}`);
    open = !last;
    if (last) write('\n');
  };
  return {
    onProgress: tty || verbose ? onProgress : undefined,
    /** Ends a bar left mid-line (before an error message is printed). */
    finish: () => {
      if (open) write('\n');
      open = false;
    },
  };
}

export const copyCommand: CommandModule<object, CopyArgs> = {
  command: 'copy <src> <dest>',
  describe: 'copy an image from any source into an OCI layout or oci-archive, converting Docker media types to OCI',
  builder: (y) =>
    sourceOptions(y)
      .positional('src', { type: 'string', demandOption: true, describe: `the image: ${SOURCE_NAMES}` })
      .positional('dest', { type: 'string', demandOption: true, describe: 'oci:PATH[:TAG] (or a bare PATH[:TAG]; created if absent) or oci-archive:FILE[:TAG]; tag defaults to latest' })
      .option('platform', { type: 'string', requiresArg: true, describe: 'copy only this os/arch[/variant] from a multi-platform index (default: all platforms)' })
      .option('json', { type: 'boolean', default: false, describe: 'print {descriptor, tag, copied, skipped} on stdout' })
      .option('verbose', { type: 'boolean', default: false, describe: 'report each blob copied, and a summary, on stderr' })
      .option('jobs', { type: 'number', default: 3, requiresArg: true, describe: 'blobs transferred at once (1-64)' })
      .option('verify-existing', { type: 'boolean', default: true, describe: 're-hash blobs DEST already has before reusing them (--no-verify-existing: check only their size)' })
      .example('$0 copy docker-archive:busybox.tar oci:busybox:latest', 'then: $0 unpack --image busybox:latest bundle')
      .example('$0 copy docker://127.0.0.1:5000/busybox:latest busybox:latest --tls-verify=false', 'from a local registry') as unknown as Argv<CopyArgs>,
  handler: async (args) => {
    const { copyImage } = await import('../source/copy.js');
    const progress = copyProgressReporter(process.stderr.isTTY === true, args.verbose);
    const r = await withSignals(async (signal) => {
      const opts: CopyOptions = { ...sourceOptionsOf(args), jobs: args.jobs, signal, verifyExisting: args['verify-existing'], onWarning: stderrWarner() };
      if (progress.onProgress) opts.onProgress = progress.onProgress;
      return copyImage(args.src, args.dest, opts);
    }).finally(progress.finish);
    if (args.json) printJson(r);
    else if (args.verbose) printMessage(`copied ${r.descriptor.digest} as tag ${r.tag}: ${r.copied} blob(s) written, ${r.skipped} already present`);
  },
};
