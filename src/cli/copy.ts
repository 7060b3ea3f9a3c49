// The `copy SRC DEST` command and the source flags shared by unpack, raw unpack and stat
// (--creds, --authfile, --tls-verify). Only translates flags and prints; the work is
// src/source/copy.ts. Credentials are passed on, never printed.
import type { Argv, CommandModule } from 'yargs';
import type { SourceOptions } from '../source/index.js';
import { printJson, printMessage } from './output.js';

export interface SourceArgs {
  creds?: string;
  authfile?: string;
  'tls-verify'?: boolean;
  'cache-dir'?: string;
  platform?: string;
}

export function sourceOptions<T>(y: Argv<T>) {
  return y
    .option('creds', { type: 'string', requiresArg: true, describe: 'registry credentials USER:PASS for docker:// sources (never printed)' })
    .option('authfile', { type: 'string', requiresArg: true, describe: 'auth.json / docker config.json with registry credentials' })
    .option('tls-verify', { type: 'boolean', default: true, describe: 'verify registry TLS certificates (--tls-verify=false for a local registry)' })
    .option('cache-dir', { type: 'string', requiresArg: true, describe: 'keep verified registry blobs here; later pulls reuse them' });
}

/** SourceOptions from parsed flags. */
export function sourceOptionsOf(args: SourceArgs): SourceOptions {
  const registry: NonNullable<SourceOptions['registry']> = { tlsVerify: args['tls-verify'] ?? true };
  if (args.creds !== undefined) registry.creds = args.creds;
  if (args.authfile !== undefined) registry.authfile = args.authfile;
  if (args['cache-dir'] !== undefined) registry.cacheDir = args['cache-dir'];
  return { ...(args.platform === undefined ? {} : { platform: args.platform }), registry };
}

export const SOURCE_NAMES = 'PATH[:TAG], PATH@sha256:HEX, oci:PATH[:TAG], oci-archive:FILE[:TAG], docker-archive:FILE[:REPO:TAG] or docker://HOST[:PORT]/REPO[:TAG|@DIGEST]';

interface CopyArgs extends SourceArgs {
  src: string;
  dest: string;
  json: boolean;
  verbose: boolean;
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
      .option('verbose', { type: 'boolean', default: false, describe: 'report what was copied on stderr' })
      .example('$0 copy docker-archive:busybox.tar oci:busybox:latest', 'then: $0 unpack --image busybox:latest bundle')
      .example('$0 copy docker://127.0.0.1:5000/busybox:latest busybox:latest --tls-verify=false', 'from a local registry') as unknown as Argv<CopyArgs>,
  handler: async (args) => {
    const { copyImage } = await import('../source/copy.js');
    const r = await copyImage(args.src, args.dest, sourceOptionsOf(args));
    if (args.json) printJson(r);
    else if (args.verbose) printMessage(`copied ${r.descriptor.digest} as tag ${r.tag}: ${r.copied} blob(s) written, ${r.skipped} already present`);
  },
};
