// Encoding of one tar entry as PAX-extended ustar bytes: the 'x' header (when any value does
// not fit ustar exactly) and the ustar block. Deterministic: the same entry always gives the
// same bytes (PAX records in a fixed order, no uname/gname, no atime/ctime). Values that need
// PAX: names and link targets over the ustar fields or not plain ASCII, numbers over the
// octal fields, nanosecond mtimes, and xattrs (SCHILY.xattr.NAME with the raw value bytes).
import { OciBundleError } from '../errors.js';

export const BLOCK = 512;

export interface Time {
  sec: number;
  nsec: number;
}
export type EntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';

export interface WriteEntry {
  /** Archive name, relative, without a leading './' or '/'; directories may end in '/'. */
  name: string;
  type: EntryType;
  /** Data bytes that follow (files only; 0 for every other type). */
  size?: number;
  mode: number;
  uid?: number;
  gid?: number;
  mtime: Time;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  xattrs?: ReadonlyMap<string, Buffer>;
}

const TYPEFLAG: Record<EntryType, string> = { file: '0', hardlink: '1', symlink: '2', char: '3', block: '4', dir: '5', fifo: '6' };
const OCTAL_MAX = { 8: 0o7777777, 12: 0o77777777777 } as const;
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/** One PAX record "LEN KEY=VALUE\n", LEN counting the whole record. */
function paxRecord(key: string, value: Buffer): Buffer {
  const body = 1 + Buffer.byteLength(key) + 1 + value.length + 1; // ' ' key '=' value '\n'
  let len = body + String(body).length;
  if (String(len).length !== String(len - body).length) len = body + String(len).length;
  return Buffer.concat([Buffer.from(`${len} ${key}=`, 'utf8'), value, Buffer.from('\n')]);
}

function fitsOctal(n: number, width: 8 | 12): boolean {
  return Number.isInteger(n) && n >= 0 && n <= OCTAL_MAX[width];
}

function writeOctal(h: Buffer, off: number, width: 8 | 12, n: number): void {
  h.write(`${n.toString(8).padStart(width - 1, '0')}\0`, off, width, 'latin1');
}

/** Split a long ASCII name into ustar prefix (<=155) and name (<=100) at a '/'; null if none fits. */
function splitUstar(name: string): [string, string] | null {
  if (name.length <= 100) return ['', name];
  if (name.length > 256) return null;
  for (let i = name.length - 101; i < name.length; i++) {
    if (i < 0 || name[i] !== '/') continue;
    const prefix = name.slice(0, i);
    const rest = name.slice(i + 1);
    if (prefix.length <= 155 && rest.length <= 100 && rest.length > 0) return [prefix, rest];
  }
  return null;
}

function checkEntry(e: WriteEntry): void {
  if (e.name === '' || e.name.includes('\0')) throw new OciBundleError('EPATH', `tar entry with an empty or NUL-containing name: ${JSON.stringify(e.name)}`);
  if ((e.linkname ?? '').includes('\0')) throw new OciBundleError('EPATH', `tar entry ${e.name} has a NUL in its link target`);
  if (e.type !== 'file' && (e.size ?? 0) !== 0) throw new OciBundleError('ETAR', `tar entry ${e.name} of type ${e.type} cannot carry data`);
  for (const n of [e.size ?? 0, e.uid ?? 0, e.gid ?? 0]) {
    if (!Number.isSafeInteger(n) || n < 0) throw new OciBundleError('ETAR', `tar entry ${e.name} has an invalid number ${n}`);
  }
  if (!fitsOctal(e.devmajor ?? 0, 8) || !fitsOctal(e.devminor ?? 0, 8) || !fitsOctal(e.mode & 0o7777, 8)) {
    throw new OciBundleError('ETAR', `tar entry ${e.name} has a mode or device number that ustar cannot hold`);
  }
}

/** The header bytes of one entry: optional PAX 'x' header (with its data) + the ustar block. */
export function encodeHeader(e: WriteEntry): Buffer {
  checkEntry(e);
  const size = e.size ?? 0;
  const uid = e.uid ?? 0;
  const gid = e.gid ?? 0;
  const link = e.linkname ?? '';
  const records: Buffer[] = [];
  const pax = (k: string, v: string | Buffer) => records.push(paxRecord(k, typeof v === 'string' ? Buffer.from(v, 'utf8') : v));

  let prefix = '';
  let shortName = e.name;
  const split = PRINTABLE_ASCII.test(e.name) ? splitUstar(e.name) : null;
  if (split) [prefix, shortName] = split;
  else {
    pax('path', e.name);
    shortName = asciiStub(e.name, 100);
  }
  let shortLink = link;
  if (!(PRINTABLE_ASCII.test(link) && link.length <= 100)) {
    pax('linkpath', link);
    shortLink = asciiStub(link, 100);
  }
  if (!fitsOctal(size, 12)) pax('size', String(size));
  if (!fitsOctal(uid, 8)) pax('uid', String(uid));
  if (!fitsOctal(gid, 8)) pax('gid', String(gid));
  const sec = e.mtime.sec;
  const nsec = e.mtime.nsec;
  if (!Number.isInteger(nsec) || nsec < 0 || nsec > 999_999_999 || !Number.isSafeInteger(sec)) {
    throw new OciBundleError('ETAR', `tar entry ${e.name} has an invalid mtime ${sec}.${nsec}`);
  }
  if (nsec !== 0 || !fitsOctal(sec, 12)) pax('mtime', formatTime(sec, nsec));
  if (e.xattrs) {
    for (const name of [...e.xattrs.keys()].sort()) {
      if (name === '' || name.includes('=') || name.includes('\0')) throw new OciBundleError('ETAR', `tar entry ${e.name} has an invalid xattr name ${JSON.stringify(name)}`);
      pax(`SCHILY.xattr.${name}`, e.xattrs.get(name)!);
    }
  }

  const h = ustarBlock(shortName, prefix, TYPEFLAG[e.type], {
    mode: e.mode & 0o7777,
    uid: fitsOctal(uid, 8) ? uid : 0,
    gid: fitsOctal(gid, 8) ? gid : 0,
    size: fitsOctal(size, 12) ? size : 0,
    mtime: fitsOctal(sec, 12) ? sec : 0,
    devmajor: e.type === 'char' || e.type === 'block' ? (e.devmajor ?? 0) : 0,
    devminor: e.type === 'char' || e.type === 'block' ? (e.devminor ?? 0) : 0,
  }, shortLink);
  if (records.length === 0) return h;
  const data = Buffer.concat(records);
  const paxName = asciiStub(`PaxHeaders/${shortName}`, 100);
  const x = ustarBlock(paxName, '', 'x', { mode: 0o644, uid: 0, gid: 0, size: data.length, mtime: fitsOctal(sec, 12) ? sec : 0, devmajor: 0, devminor: 0 }, '');
  return Buffer.concat([x, data, Buffer.alloc(padding(data.length)), h]);
}

/** A printable-ASCII stand-in for a name kept in PAX (readers that ignore PAX see this). */
function asciiStub(s: string, max: number): string {
  let out = '';
  for (const ch of s) out += /[\x20-\x7e]/.test(ch) ? ch : '_';
  return out.length <= max ? out : out.slice(out.length - max);
}

/** PAX time "SEC[.NNNNNNNNN]" with trailing zeros trimmed (as GNU tar and Go write it). */
export function formatTime(sec: number, nsec: number): string {
  if (nsec === 0) return String(sec);
  return `${sec}.${String(nsec).padStart(9, '0').replace(/0+$/, '')}`;
}

interface Numbers {
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  devmajor: number;
  devminor: number;
}

/** One ustar header block (all values must already fit). */
export function ustarBlock(name: string, prefix: string, typeflag: string, n: Numbers, linkname: string): Buffer {
  const h = Buffer.alloc(BLOCK);
  h.write(name, 0, 100, 'latin1');
  writeOctal(h, 100, 8, n.mode);
  writeOctal(h, 108, 8, n.uid);
  writeOctal(h, 116, 8, n.gid);
  writeOctal(h, 124, 12, n.size);
  writeOctal(h, 136, 12, n.mtime);
  h.fill(0x20, 148, 156);
  h.write(typeflag, 156, 1, 'latin1');
  h.write(linkname, 157, 100, 'latin1');
  h.write('ustar\0', 257, 6, 'latin1');
  h.write('00', 263, 2, 'latin1');
  writeOctal(h, 329, 8, n.devmajor);
  writeOctal(h, 337, 8, n.devminor);
  h.write(prefix, 345, 155, 'latin1');
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += h[i]!;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  return h;
}

/** Zero bytes after `size` data bytes up to the next block boundary. */
export function padding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

/** The end-of-archive marker: two zero blocks. */
export function trailer(): Buffer {
  return Buffer.alloc(2 * BLOCK);
}
