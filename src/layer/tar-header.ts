// Decoding of single 512-byte tar header blocks: checksum (signed and unsigned sums, as GNU
// tar), octal and base-256 numbers, NUL-terminated names and UTF-8 validation, format
// detection (v7, ustar, star, old GNU). Pure functions over bytes at an offset: no stream
// state, no PAX records, no sparse maps.
import { OciBundleError } from '../errors.js';

export const BLOCK = 512;

/** Field offsets and widths of the header block. */
export const F = {
  name: [0, 100],
  mode: [100, 8],
  uid: [108, 8],
  gid: [116, 8],
  size: [124, 12],
  mtime: [136, 12],
  chksum: [148, 8],
  typeflag: [156, 1],
  linkname: [157, 100],
  magic: [257, 8],
  devmajor: [329, 8],
  devminor: [337, 8],
  prefix: [345, 155],
  gnuAtime: [345, 12],
  gnuSparse: [386, 96], // 4 entries of (offset 12, numbytes 12)
  gnuIsExtended: [482, 1],
  gnuRealSize: [483, 12],
} as const satisfies Record<string, readonly [number, number]>;

export type Format = 'v7' | 'ustar' | 'gnu' | 'star';

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/** True for an all-zero block (the end-of-archive marker). */
export function isZeroBlock(b: Buffer, off: number): boolean {
  for (let i = off, end = off + BLOCK; i < end; i++) if (b[i] !== 0) return false;
  return true;
}

/** True when the stored checksum matches the unsigned or the signed byte sum. */
export function checksumOk(b: Buffer, off: number): boolean {
  let u = 0;
  let s = 0;
  for (let i = 0; i < BLOCK; i++) {
    const c = i >= 148 && i < 156 ? 0x20 : b[off + i]!;
    u += c;
    s += c > 127 ? c - 256 : c;
  }
  const stored = parseOctal(b, off + 148, 8);
  return stored === u || stored === s;
}

/** Lenient octal as GNU tar and Go read it: leading/trailing spaces and NULs; null if invalid. */
export function parseOctal(b: Buffer, start: number, len: number): number | null {
  let i = start;
  const end = start + len;
  while (i < end && (b[i] === 0x20 || b[i] === 0)) i++;
  let v = 0;
  for (; i < end; i++) {
    const c = b[i]!;
    if (c < 0x30 || c > 0x37) break;
    v = v * 8 + (c - 0x30);
  }
  for (; i < end; i++) if (b[i] !== 0x20 && b[i] !== 0) return null;
  return v;
}

/**
 * A numeric field: octal, or GNU base-256 when the top bit of the first byte is set (0x80
 * positive, 0xff negative, big-endian two's complement). Throws ETAR when the field is not a
 * number, is negative where `allowNegative` is false, or exceeds 2^53.
 */
export function parseNumeric(b: Buffer, start: number, len: number, what: string, where: () => string, allowNegative = false): number {
  const first = b[start]!;
  if ((first & 0x80) === 0) {
    const v = parseOctal(b, start, len);
    if (v === null) throw bad(`invalid octal ${what} field ${JSON.stringify(b.toString('latin1', start, start + len))}`, where);
    if (v > MAX_SAFE) throw bad(`${what} ${v} exceeds 2^53`, where);
    return v;
  }
  const inv = first & 0x40 ? 0xff : 0;
  let x = 0;
  for (let i = 0; i < len; i++) {
    let c = b[start + i]! ^ inv;
    if (i === 0) c &= 0x7f;
    if (x > (MAX_SAFE - c) / 256) throw bad(`base-256 ${what} exceeds 2^53`, where);
    x = x * 256 + c;
  }
  if (inv === 0) return x;
  if (!allowNegative) throw bad(`negative base-256 ${what}`, where);
  return -x - 1;
}

const utf8Fatal = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Bytes [s, e) as a string; throws ETAR naming `what` when they are not valid UTF-8. */
export function decodeUtf8(b: Buffer, s: number, e: number, what: string, where: () => string): string {
  for (let i = s; i < e; i++) {
    if (b[i]! >= 0x80) {
      try {
        return utf8Fatal.decode(b.subarray(s, e));
      } catch (cause) {
        throw bad(`${what} is not valid utf-8: ${JSON.stringify(b.toString('utf8', s, e))} (bytes ${b.toString('hex', s, e)})`, where, cause);
      }
    }
  }
  return b.toString('latin1', s, e);
}

/** A NUL-terminated header string field, UTF-8 checked. */
export function cString(b: Buffer, start: number, len: number, what: string, where: () => string): string {
  let e = start;
  const end = start + len;
  while (e < end && b[e] !== 0) e++;
  return decodeUtf8(b, start, e, what, where);
}

/** The header's format, from its magic (and the star trailer). */
export function formatOf(b: Buffer, off: number): Format {
  const m = off + 257;
  // "ustar\0" + "00" is POSIX; "ustar  \0" is old GNU.
  if (b[m] === 0x75 && b[m + 1] === 0x73 && b[m + 2] === 0x74 && b[m + 3] === 0x61 && b[m + 4] === 0x72) {
    if (b[m + 5] === 0) {
      // star puts "tar\0" at 508 and shortens the prefix to 131 bytes.
      if (b[off + 508] === 0x74 && b[off + 509] === 0x61 && b[off + 510] === 0x72 && b[off + 511] === 0) return 'star';
      return 'ustar';
    }
    if (b[m + 5] === 0x20 && b[m + 6] === 0x20 && b[m + 7] === 0) return 'gnu';
  }
  return 'v7';
}

export function bad(message: string, where: () => string, cause?: unknown): OciBundleError {
  return new OciBundleError('ETAR', `${message} (${where()})`, cause === undefined ? undefined : { cause });
}
