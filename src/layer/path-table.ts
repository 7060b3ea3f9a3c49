// Interned rootfs paths: every clean path ('.' or 'a/b/c') is a node, its parent node plus
// its base name, with a small integer id. Held in typed arrays and one name arena instead of a
// JS string (and a Set slot) per path, so a million-entry layer costs tens of bytes per path.
// Nodes are never freed (ids stay valid); what a node means (exists, was added) is its users'.

const NONE = -1;
/** nameLen bit: the name is in the `wide` map, not the arena. */
const WIDE = 0x8000;
/** The root '.' is always node 0. */
export const ROOT = 0;

/**
 * `a`, or a copy at least `need` long (doubling; new slots 0, or `fill`), for arrays indexed by
 * node id. The old array is released at once (detached: it must not be used again), so its
 * memory goes at the next young collection, not after the major one a big model waits for.
 */
export function grown<T extends Int32Array | Uint32Array | Uint16Array | Uint8Array | Float64Array>(a: T, need: number, fill = 0): T {
  if (need <= a.length) return a;
  let n = a.length;
  while (n < need) n *= 2;
  const b = new (a.constructor as new (n: number) => T)(n);
  b.set(a);
  if (fill !== 0) b.fill(fill, a.length);
  release(a);
  return b;
}

/** Detaches a typed array's buffer, so the memory is freed as soon as a young GC runs. */
export function release(a: ArrayBufferView): void {
  if (a.buffer instanceof ArrayBuffer && a.byteOffset === 0 && a.byteLength === a.buffer.byteLength) structuredClone(a.buffer, { transfer: [a.buffer] });
}

export class PathTable {
  private parents = new Int32Array(1024);
  private firstChild = new Int32Array(1024).fill(NONE);
  private nextSibling = new Int32Array(1024);
  private nameStart = new Uint32Array(1024);
  private nameLen = new Uint16Array(1024);
  /** Base names of one-byte characters (U+0000-U+00FF), back to back; others are in `wide`. */
  private arena = new Uint8Array(16 * 1024);
  /** Names with a character above U+00FF (their nameLen has the WIDE bit). */
  private readonly wide = new Map<number, string>();
  /** A Buffer over the arena, for latin1 decoding (renewed when the arena grows). */
  private view = Buffer.alloc(0);
  private arenaUsed = 0;
  /** Open addressing, linear probing: node id + 1, 0 for an empty slot. */
  private slots = new Int32Array(2048);
  private count = 1;
  /** A random seed, so names that collide cannot be chosen in advance. */
  private readonly seed = (Math.random() * 0x100000000) | 0;
  /** The directory of the previous lookup: tar entries come grouped by directory. */
  private lastDir = '';
  private lastDirId = ROOT;

  constructor() {
    this.parents[ROOT] = NONE;
  }

  /** Nodes interned so far (the root included). */
  get size(): number {
    return this.count;
  }

  /** The id of `path`, or -1 when it was never interned. */
  find(path: string): number {
    return this.lookup(path, false);
  }

  /** The id of `path`, interning it and its missing ancestors. */
  intern(path: string): number {
    return this.lookup(path, true);
  }

  parentOf(id: number): number {
    return this.parents[id]!;
  }

  /** The base name of a node ('.' for the root). */
  name(id: number): string {
    if (id === ROOT) return '.';
    const start = this.nameStart[id]!;
    const len = this.nameLen[id]!;
    if (len & WIDE) return this.wide.get(id)!;
    if (this.view.buffer !== this.arena.buffer) this.view = Buffer.from(this.arena.buffer);
    return this.view.toString('latin1', start, start + len);
  }

  /** The clean path of a node. */
  path(id: number): string {
    if (id === ROOT) return '.';
    const parts: string[] = [];
    for (let n = id; n !== ROOT; n = this.parents[n]!) parts.push(this.name(n));
    return parts.reverse().join('/');
  }

  /** The children ever interned under `id`, in no particular order (the callback may intern). */
  forEachChild(id: number, f: (child: number) => void): void {
    for (let c = this.firstChild[id]!; c !== NONE; c = this.nextSibling[c]!) f(c);
  }

  /** Every node below `id` (not `id` itself), parents before children. */
  forEachBelow(id: number, f: (node: number) => void): void {
    const stack = [id];
    while (stack.length > 0) {
      const n = stack.pop()!;
      for (let c = this.firstChild[n]!; c !== NONE; c = this.nextSibling[c]!) {
        f(c);
        stack.push(c);
      }
    }
  }

  private lookup(path: string, create: boolean): number {
    if (path === '.') return ROOT;
    const slash = path.lastIndexOf('/');
    let dir = ROOT;
    if (slash >= 0) {
      if (slash === this.lastDir.length && path.startsWith(this.lastDir)) dir = this.lastDirId;
      else {
        const d = path.slice(0, slash);
        dir = this.lookup(d, create);
        if (dir === NONE) return NONE;
        this.lastDir = d;
        this.lastDirId = dir;
      }
    }
    return this.child(dir, path, slash + 1, create);
  }

  /** The node named path[start..] under `dir`. */
  private child(dir: number, path: string, start: number, create: boolean): number {
    const len = path.length - start;
    const h = this.hash(dir, path, start);
    const mask = this.slots.length - 1;
    for (let s = h & mask; ; s = (s + 1) & mask) {
      const v = this.slots[s]!;
      if (v === 0) break;
      const id = v - 1;
      if (this.parents[id] === dir && (this.nameLen[id]! & ~WIDE) === len && this.sameName(id, path, start)) return id;
    }
    if (!create) return NONE;
    if (len >= WIDE) throw new RangeError('path component too long');
    return this.add(dir, path, start, len, h);
  }

  private sameName(id: number, path: string, start: number): boolean {
    const a = this.arena;
    const off = this.nameStart[id]!;
    const len = this.nameLen[id]!;
    if (len & WIDE) return this.wide.get(id) === path.slice(start);
    for (let i = 0; i < len; i++) if (a[off + i] !== path.charCodeAt(start + i)) return false;
    return true;
  }

  private add(dir: number, path: string, start: number, len: number, h: number): number {
    const id = this.count++;
    if (id >= this.parents.length) {
      this.parents = grown(this.parents, id + 1);
      this.firstChild = grown(this.firstChild, id + 1, NONE);
      this.nextSibling = grown(this.nextSibling, id + 1);
      this.nameStart = grown(this.nameStart, id + 1);
      this.nameLen = grown(this.nameLen, id + 1);
    }
    let narrow = true;
    for (let i = start; i < path.length && narrow; i++) narrow = path.charCodeAt(i) < 256;
    if (narrow) {
      this.arena = grown(this.arena, this.arenaUsed + len);
      for (let i = 0; i < len; i++) this.arena[this.arenaUsed + i] = path.charCodeAt(start + i);
      this.nameStart[id] = this.arenaUsed;
      this.nameLen[id] = len;
      this.arenaUsed += len;
    } else {
      this.wide.set(id, path.slice(start));
      this.nameLen[id] = len | WIDE;
    }
    this.parents[id] = dir;
    this.nextSibling[id] = this.firstChild[dir]!;
    this.firstChild[dir] = id;
    if (this.count * 10 > this.slots.length * 7) this.rehash();
    else this.place(id, h);
    return id;
  }

  /** Hash of (parent node, path[start..]); a stored node's is hash(parent, arena name). */
  private hash(dir: number, path: string, start: number): number {
    let h = Math.imul(dir ^ this.seed, 0x9e3779b1) ^ (path.length - start);
    for (let i = start; i < path.length; i++) h = Math.imul(h ^ path.charCodeAt(i), 0x01000193);
    return mix(h);
  }

  private storedHash(id: number): number {
    const wide = this.wide.get(id);
    if (wide !== undefined) return this.hash(this.parents[id]!, wide, 0);
    const off = this.nameStart[id]!;
    const len = this.nameLen[id]!;
    let h = Math.imul(this.parents[id]! ^ this.seed, 0x9e3779b1) ^ len;
    for (let i = 0; i < len; i++) h = Math.imul(h ^ this.arena[off + i]!, 0x01000193);
    return mix(h);
  }

  private place(id: number, h: number): void {
    const mask = this.slots.length - 1;
    let s = h & mask;
    while (this.slots[s] !== 0) s = (s + 1) & mask;
    this.slots[s] = id + 1;
  }

  private rehash(): void {
    const n = this.slots.length * 2;
    release(this.slots);
    this.slots = new Int32Array(n);
    for (let id = 1; id < this.count; id++) this.place(id, this.storedHash(id));
  }
}

function mix(h: number): number {
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  return h ^ (h >>> 12);
}
