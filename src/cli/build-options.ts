// Options shared by the image-changing commands (repack, config, insert, raw add-layer, new):
// umoci's --history.* / --no-history flags and --compress. Parsing only.
import type { Argv } from 'yargs';
import { OciBundleError } from '../errors.js';
import type { HistoryFlags } from '../build/history.js';
import type { Compression } from '../build/layer-blob.js';

/** yargs reads --history.author as history: {author} and --no-history as history: false. */
export interface HistoryArgs {
  history?: boolean | { author?: unknown; comment?: unknown; created?: unknown; created_by?: unknown };
}

export function historyOptions<T>(y: Argv<T>): Argv<T & HistoryArgs> {
  return y
    .option('history', { hidden: true, describe: 'history entry (--no-history: add none)' })
    .option('history.author', { type: 'string', requiresArg: true, describe: 'author of the history entry (default: the image author); --no-history adds no entry' })
    .option('history.comment', { type: 'string', requiresArg: true, describe: 'comment of the history entry' })
    .option('history.created', { type: 'string', requiresArg: true, describe: 'creation time of the history entry, RFC 3339 (default: now, or SOURCE_DATE_EPOCH)' })
    .option('history.created_by', { type: 'string', requiresArg: true, describe: 'created_by of the history entry' }) as unknown as Argv<T & HistoryArgs>;
}

/** --image, --tag and the history flags, as the build library takes them. */
export function commonOptionsOf(a: HistoryArgs & { image: string; tag?: string }): { image: string; tag?: string; history: HistoryFlags } {
  return { image: a.image, ...(a.tag !== undefined ? { tag: a.tag } : {}), history: historyFlags(a) };
}

export function historyFlags(a: HistoryArgs): HistoryFlags {
  const f: HistoryFlags = { noHistory: a.history === false };
  const h = typeof a.history === 'object' && a.history !== null ? a.history : {};
  const str = (v: unknown, flag: string): string => {
    if (typeof v !== 'string') throw new OciBundleError('EUSAGE', `${flag} takes one value`);
    return v;
  };
  if (h.author !== undefined) f.author = str(h.author, '--history.author');
  if (h.comment !== undefined) f.comment = str(h.comment, '--history.comment');
  if (h.created !== undefined) f.created = str(h.created, '--history.created');
  if (h.created_by !== undefined) f.createdBy = str(h.created_by, '--history.created_by');
  return f;
}

export interface CompressArgs {
  compress: Compression;
}

export function compressOption<T>(y: Argv<T>): Argv<T & CompressArgs> {
  return y.option('compress', { choices: ['gzip', 'zstd', 'none'] as const, default: 'gzip' as const, describe: 'compression of the new layer' }) as unknown as Argv<T & CompressArgs>;
}
