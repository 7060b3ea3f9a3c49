// PAX extended header records, parsed from the RAW bytes ("%d %s=%s\n" with the length
// validated): path/linkpath/size/uid/gid/mtime/atime, SCHILY.xattr.* and LIBARCHIVE.xattr.*
// as raw bytes, GNU.sparse.* (0.0, 0.1, 1.0 announcements). Pure: no stream state.
import type { Time } from './tar.js';
import { bad, decodeUtf8 } from './tar-header.js';

export interface PaxSparse {
  major: number;
  minor: number;
  name?: string;
  realSize?: number;
  /** Flattened (offset, length) pairs for 0.0 and 0.1; for 1.0 the map is in the data. */
  map: number[];
  has00: boolean;
  has01: boolean;
}

export interface PaxValues {
  path?: string;
  linkpath?: string;
  size?: number;
  uid?: number;
  gid?: number;
  mtime?: Time;
  atime?: Time;
  xattrs?: Map<string, Buffer>;
  sparse?: PaxSparse;
}

const SCHILY = 'SCHILY.xattr.';
const LIBARCHIVE = 'LIBARCHIVE.xattr.';

/**
 * Parse the data of an 'x' or 'g' header. Each record is "LEN KEY=VALUE\n" where LEN counts
 * the whole record; trailing NUL padding is tolerated. Values are kept as bytes until their
 * keyword says how to read them. Empty values unset the keyword (POSIX).
 */
export function parsePax(buf: Buffer, where: () => string): PaxValues {
  const out: PaxValues = {};
  let p = 0;
  const n = buf.length;
  while (p < n) {
    if (buf[p] === 0) {
      for (let i = p; i < n; i++) if (buf[i] !== 0) throw bad('pax header has bytes after nul padding', where);
      break;
    }
    let len = 0;
    let q = p;
    while (q < n && buf[q]! >= 0x30 && buf[q]! <= 0x39 && q - p < 16) len = len * 10 + (buf[q++]! - 0x30);
    if (q === p || buf[q] !== 0x20) throw bad(`pax record at byte ${p} has no valid length`, where);
    if (len <= q - p + 1 || p + len > n || buf[p + len - 1] !== 0x0a) {
      throw bad(`pax record at byte ${p} has a bad length ${len}`, where);
    }
    const kStart = q + 1;
    const rEnd = p + len - 1;
    let eq = kStart;
    while (eq < rEnd && buf[eq] !== 0x3d) eq++;
    if (eq === kStart || eq === rEnd) throw bad(`pax record at byte ${p} has no keyword`, where);
    const key = decodeUtf8(buf, kStart, eq, 'pax keyword', where);
    apply(out, key, buf.subarray(eq + 1, rEnd), where);
    p += len;
  }
  return out;
}

/** The header fields a PAX record may override, each with the parser of its value. */
const FIELDS: { [K in 'path' | 'linkpath' | 'size' | 'uid' | 'gid' | 'mtime' | 'atime']: (v: Buffer, what: string, where: () => string) => NonNullable<PaxValues[K]> } = {
  path: (v, what, where) => text(v, what, where),
  linkpath: (v, what, where) => text(v, what, where),
  size: (v, what, where) => decimal(v, what, where),
  uid: (v, what, where) => decimal(v, what, where),
  gid: (v, what, where) => decimal(v, what, where),
  mtime: (v, what, where) => paxTime(v, what, where),
  atime: (v, what, where) => paxTime(v, what, where),
};

function apply(out: PaxValues, key: string, v: Buffer, where: () => string): void {
  if (Object.hasOwn(FIELDS, key)) {
    const field = key as keyof typeof FIELDS;
    // POSIX: a record with an empty value deletes the keyword (the header's value applies).
    if (v.length === 0) delete out[field];
    else (out as Record<string, unknown>)[field] = FIELDS[field](v, `pax ${field}`, where);
    return;
  }
  if (key.startsWith(SCHILY)) {
    const name = key.slice(SCHILY.length);
    if (!name) throw bad('pax xattr record with an empty name', where);
    (out.xattrs ??= new Map()).set(name, Buffer.from(v));
    return;
  }
  if (key.startsWith(LIBARCHIVE)) {
    let name: string;
    try {
      name = decodeURIComponent(key.slice(LIBARCHIVE.length));
    } catch (cause) {
      throw bad(`pax record ${JSON.stringify(key)} has a badly escaped xattr name`, where, cause);
    }
    const b64 = v.toString('latin1');
    if (!name || !/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) throw bad(`pax record ${JSON.stringify(key)} is not base64`, where);
    (out.xattrs ??= new Map()).set(name, Buffer.from(b64, 'base64'));
    return;
  }
  if (key.startsWith('GNU.sparse.')) sparse(out, key.slice(11), v, where);
  // Everything else (uname, gname, ctime, comment, charset, hdrcharset, vendor keys) is ignored.
}

function sparse(out: PaxValues, k: string, v: Buffer, where: () => string): void {
  const s = (out.sparse ??= { major: 0, minor: 0, map: [], has00: false, has01: false });
  switch (k) {
    case 'major':
      s.major = decimal(v, 'GNU.sparse.major', where);
      return;
    case 'minor':
      s.minor = decimal(v, 'GNU.sparse.minor', where);
      return;
    case 'name':
      s.name = text(v, 'GNU.sparse.name', where);
      return;
    case 'realsize':
    case 'size':
      s.realSize = decimal(v, `GNU.sparse.${k}`, where);
      return;
    case 'numblocks':
      decimal(v, 'GNU.sparse.numblocks', where);
      s.has00 = true;
      return;
    case 'offset':
    case 'numbytes':
      // 0.0: repeated offset/numbytes records, in order.
      if ((k === 'offset') !== (s.map.length % 2 === 0)) throw bad('GNU.sparse.offset/numbytes records out of order', where);
      s.map.push(decimal(v, `GNU.sparse.${k}`, where));
      s.has00 = true;
      return;
    case 'map': {
      const str = v.toString('latin1');
      s.map = [];
      if (str !== '') {
        for (const part of str.split(',')) s.map.push(decimalStr(part, 'GNU.sparse.map', where));
      }
      if (s.map.length % 2 !== 0) throw bad('GNU.sparse.map has an odd number of values', where);
      s.has01 = true;
      return;
    }
  }
}

function text(v: Buffer, what: string, where: () => string): string {
  if (v.includes(0)) throw bad(`${what} contains a nul byte`, where);
  return decodeUtf8(v, 0, v.length, what, where);
}

function decimal(v: Buffer, what: string, where: () => string): number {
  return decimalStr(v.toString('latin1'), what, where);
}

function decimalStr(s: string, what: string, where: () => string): number {
  if (!/^[0-9]{1,16}$/.test(s)) throw bad(`${what} ${JSON.stringify(s.slice(0, 40))} is not a decimal number`, where);
  const n = Number(s);
  if (n > Number.MAX_SAFE_INTEGER) throw bad(`${what} ${s} exceeds 2^53`, where);
  return n;
}

/** "[-]SEC[.FRACTION]" -> seconds and nanoseconds with 0 <= nsec < 1e9 (fraction truncated). */
export function paxTime(v: Buffer, what: string, where: () => string): Time {
  const s = v.toString('latin1');
  const m = /^(-?)([0-9]{1,16})(?:\.([0-9]+))?$/.exec(s);
  if (!m) throw bad(`${what} ${JSON.stringify(s.slice(0, 40))} is not a time`, where);
  const neg = m[1] === '-';
  const whole = Number(m[2]);
  if (whole > Number.MAX_SAFE_INTEGER - 1) throw bad(`${what} ${s} is out of range`, where);
  const nsec = m[3] ? Number((m[3] + '00000000').slice(0, 9)) : 0;
  if (!neg) return { sec: whole, nsec };
  if (nsec === 0) return { sec: whole === 0 ? 0 : -whole, nsec: 0 };
  return { sec: -whole - 1, nsec: 1e9 - nsec };
}
