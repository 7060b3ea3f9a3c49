// Tolerant, size-capped parsers for the text of a rootfs's /etc/passwd and /etc/group.
// Pure: never reads files (the caller reads them confined to the rootfs). Malformed lines
// are skipped, never guessed at: a bad uid field must not turn into uid 0.
import { OciBundleError } from '../errors.js';
import { SPEC_LIMITS } from './limits.js';

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

/** Largest valid uid/gid: (uid_t)-1 is reserved. */
export const MAX_UNIX_ID = 0xfffffffe;

/** A decimal id in 0..MAX_UNIX_ID, or null. Digits only: no sign, no spaces, no hex. */
export function parseUnixId(text: string): number | null {
  if (!/^[0-9]{1,10}$/.test(text)) return null;
  const n = Number(text);
  return n <= MAX_UNIX_ID ? n : null;
}

function lines(text: string, what: string): string[] {
  if (typeof text !== 'string') throw new OciBundleError('ECONFIG', `${what} contents must be a string`);
  if (text.length > SPEC_LIMITS.passwdBytes) {
    throw new OciBundleError('ELIMIT', `${what} is larger than ${SPEC_LIMITS.passwdBytes} bytes`);
  }
  const out: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    // Comments, NIS compat entries (+/-) and lines with NUL bytes carry no usable entry.
    if (line === '' || line.startsWith('#') || line.startsWith('+') || line.startsWith('-') || line.includes('\0')) continue;
    out.push(line);
  }
  return out;
}

/** Entries of an /etc/passwd text (name:password:uid:gid:gecos:home:shell), in file order. */
export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of lines(text, '/etc/passwd')) {
    const f = line.split(':');
    if (f.length < 4 || f[0] === '') continue;
    const uid = parseUnixId(f[2]!);
    const gid = parseUnixId(f[3]!);
    if (uid === null || gid === null) continue;
    out.push({ name: f[0]!, uid, gid, home: f[5] ?? '' });
  }
  return out;
}

/** Entries of an /etc/group text (name:password:gid:member,member), in file order. */
export function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const line of lines(text, '/etc/group')) {
    const f = line.split(':');
    if (f.length < 3 || f[0] === '') continue;
    const gid = parseUnixId(f[2]!);
    if (gid === null) continue;
    const members = (f[3] ?? '').split(',').filter((m) => m !== '');
    out.push({ name: f[0]!, gid, members });
  }
  return out;
}
