// The objects of a recorded mtree (what each path names; hardlinks share one) held as typed
// arrays with one slot per object: type, size (4 bytes; larger sizes in a side map), nlink
// (2 bytes; likewise), a 32-byte digest slot and the index of
// its (mode, uid, gid, tar_time), interned since most objects share a few; side maps for the
// few with a link target or xattrs. entry() turns a slot back into an MtreeEntry with exactly
// the keywords the recorder set.
import { grown, release } from '../layer/path-table.js';
import type { MtreeEntry, MtreeType } from './mtree-spec.js';

export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

const TYPES: MtreeType[] = ['file', 'dir', 'link', 'char', 'block', 'fifo', 'socket'];
const CODES = new Map(TYPES.map((t, i) => [t, i]));
/** No digest keyword; the empty file's digest (shared); otherwise a slot of `digests`. */
const NO_DIGEST = -1;
const EMPTY_DIGEST = -2;
/** Size slots: no size keyword, and the size is in the side map (4 GiB - 2 and up). */
const NO_SIZE = 0xffffffff;
const BIG = 0xfffffffe;
/** An nlink slot whose count is in the side map (65535 and up). */
const BIG_NLINK = 0xffff;

/** slots[o], or the side map's value when the slot holds `limit` (the value did not fit). */
function compactGet(slots: Uint32Array | Uint16Array, side: Map<number, number>, o: number, limit: number): number {
  const v = slots[o]!;
  return v === limit ? side.get(o)! : v;
}

function compactSet(slots: Uint32Array | Uint16Array, side: Map<number, number>, o: number, n: number, limit: number): void {
  if (n < limit) {
    slots[o] = n;
    side.delete(o);
  } else {
    slots[o] = limit;
    side.set(o, n);
  }
}

/** The xattrs of every entry that has none: one shared, never-written map. */
const NO_XATTRS: Map<string, string> = new Map();

export class Inodes {
  type = new Uint8Array(1024);
  /** Index into `metas` + 1; 0: no mode, uid, gid or tar_time keyword. */
  private meta = new Uint32Array(1024);
  /** Distinct [mode, uid, gid, tar_time], and their index by a key of the four. */
  private readonly metas: [number, number, number, number][] = [];
  private readonly metaIndex = new Map<string, number>();
  private lastMeta = -1;
  /** NO_SIZE: no size keyword; BIG: the size is in `bigSizes`. */
  private sizes = new Uint32Array(1024);
  private readonly bigSizes = new Map<number, number>();
  /** 0: no nlink keyword; BIG_NLINK: the count is in `bigNlinks`. */
  private nlinks = new Uint16Array(1024);
  private readonly bigNlinks = new Map<number, number>();
  private dig = new Int32Array(1024);
  private digests = Buffer.alloc(32 * 1024);
  private digestsUsed = 0;
  readonly links = new Map<number, string>();
  private readonly xattrs = new Map<number, Map<string, string>>();
  private count = 0;

  static code(t: MtreeType): number {
    return CODES.get(t)!;
  }

  /** A new object of type `t` with no other keyword yet. */
  add(t: MtreeType): number {
    const o = this.count++;
    if (o >= this.type.length) {
      const n = o + 1;
      this.type = grown(this.type, n);
      this.meta = grown(this.meta, n);
      this.sizes = grown(this.sizes, n);
      this.nlinks = grown(this.nlinks, n);
      this.dig = grown(this.dig, n);
    }
    this.type[o] = CODES.get(t)!;
    this.meta[o] = 0;
    this.sizes[o] = NO_SIZE;
    this.nlinks[o] = 0;
    this.dig[o] = NO_DIGEST;
    return o;
  }

  /** The size keyword's value, undefined when there is none. */
  size(o: number): number | undefined {
    return this.sizes[o] === NO_SIZE ? undefined : compactGet(this.sizes, this.bigSizes, o, BIG);
  }

  setSize(o: number, n: number): void {
    compactSet(this.sizes, this.bigSizes, o, n, BIG);
  }

  /** The nlink keyword's value, 0 when there is none. */
  nlink(o: number): number {
    return compactGet(this.nlinks, this.bigNlinks, o, BIG_NLINK);
  }

  setNlink(o: number, n: number): void {
    compactSet(this.nlinks, this.bigNlinks, o, n, BIG_NLINK);
  }

  setMeta(o: number, mode: number, uid: number, gid: number, tarTime: number): void {
    const last = this.metas[this.lastMeta];
    if (last === undefined || last[0] !== mode || last[1] !== uid || last[2] !== gid || last[3] !== tarTime) {
      const key = `${mode}:${uid}:${gid}:${tarTime}`;
      let i = this.metaIndex.get(key);
      if (i === undefined) {
        i = this.metas.push([mode, uid, gid, tarTime]) - 1;
        this.metaIndex.set(key, i);
      }
      this.lastMeta = i;
    }
    this.meta[o] = this.lastMeta + 1;
  }

  /** Raw xattr values, kept base64 as the mtree writes them. */
  setXattrs(o: number, x: ReadonlyMap<string, Buffer>): void {
    if (x.size === 0) {
      this.xattrs.delete(o);
      return;
    }
    const m = new Map<string, string>();
    for (const [k, v] of x) m.set(k, v.toString('base64'));
    this.xattrs.set(o, m);
  }

  setDigest(o: number, hex: string): void {
    if (hex === EMPTY_SHA256) {
      this.dig[o] = EMPTY_DIGEST;
      return;
    }
    let slot = this.dig[o]!;
    if (slot < 0) {
      slot = this.digestsUsed++;
      if ((slot + 1) * 32 > this.digests.length) {
        const b = Buffer.alloc(this.digests.length * 2);
        this.digests.copy(b);
        release(this.digests);
        this.digests = b;
      }
      this.dig[o] = slot;
    }
    this.digests.write(hex, slot * 32, 32, 'hex');
  }

  /**
   * Object `o` into `e`, every keyword field written (undefined when absent): one scratch
   * entry serves a whole formatting pass without an allocation per entry.
   */
  fill(o: number, e: MtreeEntry): MtreeEntry {
    e.type = TYPES[this.type[o]!]!;
    e.xattrs = this.xattrs.get(o) ?? NO_XATTRS;
    const m = this.metas[this.meta[o]! - 1];
    e.mode = m?.[0];
    e.uid = m?.[1];
    e.gid = m?.[2];
    e.tarTime = m?.[3];
    e.size = this.size(o);
    const nlink = this.nlink(o);
    e.nlink = nlink > 0 ? nlink : undefined;
    e.link = this.links.get(o);
    const d = this.dig[o]!;
    e.sha256 = d === EMPTY_DIGEST ? EMPTY_SHA256 : d >= 0 ? this.digests.toString('hex', d * 32, d * 32 + 32) : undefined;
    return e;
  }

  entry(o: number): MtreeEntry {
    const e: MtreeEntry = { type: TYPES[this.type[o]!]!, xattrs: this.xattrs.get(o) ?? NO_XATTRS };
    const m = this.metas[this.meta[o]! - 1];
    if (m !== undefined) {
      e.mode = m[0];
      e.uid = m[1];
      e.gid = m[2];
      e.tarTime = m[3];
    }
    const size = this.size(o);
    if (size !== undefined) e.size = size;
    const nlink = this.nlink(o);
    if (nlink > 0) e.nlink = nlink;
    const link = this.links.get(o);
    if (link !== undefined) e.link = link;
    const d = this.dig[o]!;
    if (d === EMPTY_DIGEST) e.sha256 = EMPTY_SHA256;
    else if (d >= 0) e.sha256 = this.digests.toString('hex', d * 32, d * 32 + 32);
    return e;
  }
}
