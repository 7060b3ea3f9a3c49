// Sparse files (old GNU 'S', PAX GNU.sparse 0.0/0.1/1.0): reading and validating sparse maps,
// and expanding the stored fragments into the logical file by emitting zeros for holes.
// Pure over bytes and a callback; knows nothing of the archive stream or of the rootfs.
import { BLOCK, bad, parseNumeric } from './tar-header.js';

const ZEROS = Buffer.alloc(64 * 1024);

/** Append the (offset, numbytes) entries of an old GNU sparse area (24 bytes each). */
export function readGnuSparseEntries(b: Buffer, off: number, count: number, into: number[], where: () => string): void {
  for (let i = 0; i < count; i++) {
    const e = off + i * 24;
    if (b[e] === 0) break; // an empty offset field ends the list
    into.push(parseNumeric(b, e, 12, 'sparse offset', where), parseNumeric(b, e + 12, 12, 'sparse numbytes', where));
  }
}

/**
 * The GNU.sparse 1.0 map at the head of the data: decimal numbers each ended by '\n', the
 * count first, then offset/length pairs, padded to a block. Null while more blocks are needed.
 */
export function parseSparse1Map(buf: Buffer, where: () => string): { map: number[]; bytes: number } | null {
  const nums: number[] = [];
  let need = 1;
  let p = 0;
  while (nums.length < need) {
    const nl = buf.indexOf(0x0a, p);
    if (nl < 0) return null;
    const s = buf.toString('latin1', p, nl);
    if (!/^[0-9]{1,16}$/.test(s) || Number(s) > Number.MAX_SAFE_INTEGER) throw bad(`GNU sparse 1.0 map has a bad number ${JSON.stringify(s.slice(0, 40))}`, where);
    nums.push(Number(s));
    if (nums.length === 1) need = 1 + 2 * nums[0]!;
    p = nl + 1;
  }
  return { map: nums.slice(1), bytes: Math.ceil(p / BLOCK) * BLOCK };
}

/** Fragments must be ordered, not overlap, fit in realSize, and add up to the stored bytes. */
export function validateSparse(map: number[], realSize: number, stored: number, where: () => string): void {
  let end = 0;
  let sum = 0;
  for (let i = 0; i < map.length; i += 2) {
    const off = map[i]!;
    const len = map[i + 1]!;
    if (off < end || off + len > realSize) throw bad(`sparse map fragment ${off}+${len} overlaps or exceeds the file size ${realSize}`, where);
    end = off + len;
    sum += len;
  }
  if (sum !== stored) throw bad(`sparse map covers ${sum} bytes but the archive stores ${stored}`, where);
}

/**
 * Turns the stored fragment bytes into the logical file: each hole goes to `hole` when given
 * (the writer seeks past it, so it stays a hole on disk), else it is emitted as zeros.
 */
export class SparseExpander {
  private idx = 0;
  private pos = 0;
  private left = 0;
  constructor(
    private readonly map: number[],
    private readonly realSize: number,
    private readonly emit: (b: Buffer) => void,
    private readonly hole?: (bytes: number) => void,
  ) {}

  write(chunk: Buffer): void {
    let off = 0;
    while (off < chunk.length) {
      while (this.left === 0) {
        const fo = this.map[this.idx]!;
        this.left = this.map[this.idx + 1]!;
        this.idx += 2;
        this.zeros(fo - this.pos);
        this.pos = fo;
      }
      const n = Math.min(this.left, chunk.length - off);
      this.emit(chunk.subarray(off, off + n));
      off += n;
      this.pos += n;
      this.left -= n;
    }
  }

  finish(): void {
    this.zeros(this.realSize - this.pos);
    this.pos = this.realSize;
  }

  private zeros(n: number): void {
    if (n > 0 && this.hole) {
      this.hole(n);
      return;
    }
    while (n > 0) {
      const k = Math.min(n, ZEROS.length);
      this.emit(ZEROS.subarray(0, k));
      n -= k;
    }
  }
}
