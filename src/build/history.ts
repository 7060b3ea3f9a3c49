// History entries and times for the commands that change images: umoci's --history.* flags,
// --no-history, and SOURCE_DATE_EPOCH (a reproducible build's clock: creation times and
// clamped mtimes). Pure.
import { OciBundleError } from '../errors.js';
import type { HistoryEntry } from '../image/index.js';

export interface HistoryFlags {
  noHistory?: boolean;
  author?: string;
  comment?: string;
  created?: string;
  createdBy?: string;
}

/** SOURCE_DATE_EPOCH as seconds, when set (EUSAGE when it is not a number). */
export function sourceDateEpoch(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const v = env['SOURCE_DATE_EPOCH'];
  if (v === undefined || v === '') return undefined;
  if (!/^\d{1,15}$/.test(v)) throw new OciBundleError('EUSAGE', `SOURCE_DATE_EPOCH ${JSON.stringify(v)} is not a number of seconds`);
  return Number(v);
}

/** An RFC 3339 time for "now" (or SOURCE_DATE_EPOCH). */
export function nowRfc3339(epoch = sourceDateEpoch()): string {
  return (epoch === undefined ? new Date() : new Date(epoch * 1000)).toISOString();
}

export function checkRfc3339(v: string, flag: string): string {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(v) || Number.isNaN(Date.parse(v))) {
    throw new OciBundleError('EUSAGE', `${flag} ${JSON.stringify(v)} is not an RFC 3339 time`);
  }
  return v;
}

/** The history entry a command adds, or null with --no-history. */
export function historyEntry(f: HistoryFlags, defaults: { author?: string | undefined; createdBy: string }): HistoryEntry | null {
  if (f.noHistory) return null;
  const h: HistoryEntry = { created: f.created !== undefined ? checkRfc3339(f.created, '--history.created') : nowRfc3339(), created_by: f.createdBy ?? defaults.createdBy };
  const author = f.author ?? defaults.author;
  if (author !== undefined && author !== '') h.author = author;
  if (f.comment !== undefined && f.comment !== '') h.comment = f.comment;
  return h;
}
