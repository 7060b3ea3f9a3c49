// Records a bundle's mtree while the applier writes the rootfs (an ApplyObserver): each
// object as written, file digests hashed from the bytes as they stream (or, with a layer
// worker, taken from the worker's digests by entry ordinal), hardlink counts, removals of
// whole trees. Directories the applier made implicitly are lstat'ed once at the
// end. When an entry goes where a path model cannot follow (a symlinked parent), the
// recorder says so and the caller walks the rootfs instead.
import { createHash, type Hash } from 'node:crypto';
import type { Applied, ApplyObserver } from '../layer/observer.js';
import type { RootFS } from '../fs/rootfs.js';
import type { Mtree, MtreeEntry, MtreeType } from './mtree-spec.js';

export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/**
 * The xattrs of every entry that has none: one shared, never-written map instead of one per
 * entry (a million-entry layer would otherwise hold a million empty maps). Entries with
 * xattrs get their own.
 */
const NO_XATTRS: Map<string, string> = new Map();

const KIND: Record<Applied['kind'], MtreeType> = { file: 'file', dir: 'dir', symlink: 'link', char: 'char', block: 'block', fifo: 'fifo' };

function split(path: string): [string, string] {
  const i = path.lastIndexOf('/');
  return i < 0 ? ['.', path] : [path.slice(0, i), path.slice(i + 1)];
}

/** Files whose digest the layer worker delivers: the entry waits for it until finish(). */
interface Pending {
  e: MtreeEntry;
  path: string;
  layer: number;
  ordinal: number;
}

export class MtreeRecorder implements ApplyObserver {
  /** The model: path -> entry (hardlinks share one entry object); it becomes the Mtree. */
  private readonly nodes: Mtree = new Map();
  /** Child names of each directory of the model. */
  private readonly kids = new Map<string, Set<string>>();
  /** Directories the applier made as missing parents: lstat'ed at the end. */
  private readonly implicit = new Set<string>();
  private hash: Hash | null = null;
  /** The digest of the file being written, given instead of its bytes (see digest()). */
  private known: string | null = null;
  /** Why the model cannot be trusted (null while it can). */
  lost: string | null = null;
  /** Set by fromStream(): file digests come from the worker, keyed `layer:ordinal`. */
  private streamed: Map<number, string>[] | null = null;
  private pending: Pending[] = [];

  get needsData(): boolean {
    return this.streamed === null;
  }

  /** From now on, file digests arrive through fileDigests() instead of data(). */
  fromStream(): void {
    this.streamed ??= [];
  }

  /** Digests of layer `layer`'s files: flat pairs [entry ordinal, hex sha256]. */
  fileDigests(layer: number, list: readonly (number | string)[]): void {
    const m = ((this.streamed ??= [])[layer] ??= new Map());
    for (let i = 0; i + 1 < list.length; i += 2) m.set(list[i] as number, list[i + 1] as string);
  }

  constructor() {
    this.setDir('.', { type: 'dir', xattrs: NO_XATTRS });
    this.implicit.add('.');
  }

  private setDir(path: string, e: MtreeEntry): void {
    this.nodes.set(path, e);
    this.kids.set(path, new Set());
  }

  private static xattrsOf(a: Applied): Map<string, string> {
    if (a.xattrs.size === 0) return NO_XATTRS;
    const m = new Map<string, string>();
    for (const [k, v] of a.xattrs) m.set(k, v.toString('base64'));
    return m;
  }

  put(path: string, a: Applied): void {
    const type = KIND[a.kind];
    const e: MtreeEntry = { type, mode: a.mode, uid: a.uid, gid: a.gid, tarTime: a.mtime.sec, xattrs: type === 'file' || type === 'dir' ? MtreeRecorder.xattrsOf(a) : NO_XATTRS };
    if (type !== 'dir') e.nlink = 1;
    if (type === 'link') e.link = a.link ?? '';
    if (type === 'link') e.size = Buffer.byteLength(e.link!);
    else if (type === 'file') {
      e.size = a.size ?? 0;
      if (this.streamed !== null && e.size > 0 && a.entry !== undefined) {
        e.sha256 = EMPTY_SHA256; // replaced in finish()
        this.pending.push({ e, path, layer: a.entry.layer, ordinal: a.entry.ordinal });
      } else e.sha256 = this.known ?? (this.hash ? this.hash.digest('hex') : EMPTY_SHA256);
      this.hash = null;
      this.known = null;
    } else if (type !== 'dir') e.size = 0;
    const old = this.nodes.get(path);
    if (old && old.type === 'dir' && type === 'dir') {
      this.nodes.set(path, e);
      this.implicit.delete(path);
      return;
    }
    if (old) this.remove(path);
    if (!this.attach(path)) return;
    if (type === 'dir') this.setDir(path, e);
    else this.nodes.set(path, e);
  }

  data(chunk: Buffer): void {
    (this.hash ??= createHash('sha256')).update(chunk);
  }

  digest(sha256: string): void {
    this.known = sha256;
  }

  link(path: string, target: string): void {
    const t = this.nodes.get(target);
    if (!t || t.type === 'dir') {
      this.untracked(`hardlink ${path} names ${target}, which the model does not hold`);
      return;
    }
    if (this.nodes.has(path)) this.remove(path);
    if (!this.attach(path)) return;
    t.nlink = (t.nlink ?? 1) + 1;
    this.nodes.set(path, t);
  }

  remove(path: string): void {
    const n = this.nodes.get(path);
    if (!n) return; // not in the model: nothing to forget (a removed implicit name)
    const drop = (p: string, e: MtreeEntry) => {
      const kids = this.kids.get(p);
      if (kids) for (const k of kids) {
        const cp = p === '.' ? k : `${p}/${k}`;
        const c = this.nodes.get(cp);
        if (c) drop(cp, c);
      }
      if (e.type !== 'dir' && e.nlink !== undefined && e.nlink > 1) e.nlink--;
      this.nodes.delete(p);
      this.kids.delete(p);
      this.implicit.delete(p);
    };
    drop(path, n);
    const [parent, name] = split(path);
    this.kids.get(parent)?.delete(name);
  }

  implicitDir(path: string): void {
    if (this.nodes.has(path) || !this.attach(path)) return;
    this.setDir(path, { type: 'dir', xattrs: NO_XATTRS });
    this.implicit.add(path);
  }

  untracked(why: string): void {
    this.lost ??= why;
  }

  private attach(path: string): boolean {
    const [parent, name] = split(path);
    const kids = this.kids.get(parent);
    if (!kids) {
      this.untracked(`${path} has no directory parent in the model`);
      return false;
    }
    kids.add(name);
    return true;
  }

  /** The finished model, after the applier's finish(): implicit directories are lstat'ed. */
  finish(fs: RootFS): Mtree {
    for (const p of this.pending) {
      const hex = this.streamed?.[p.layer]?.get(p.ordinal);
      if (hex === undefined) this.untracked(`the layer stream gave no digest for ${p.path}`);
      else p.e.sha256 = hex;
    }
    this.pending = [];
    this.streamed = null;
    this.kids.clear();
    for (const p of this.implicit) {
      const st = fs.lstat(p);
      if (st === null || st.kind !== 'dir') {
        this.untracked(`${p} is not a directory on disk`);
        this.nodes.delete(p);
        continue;
      }
      const xattrs = fs.listXattrs(p);
      const e: MtreeEntry = { type: 'dir', mode: st.mode, uid: st.uid, gid: st.gid, tarTime: st.mtime.sec, xattrs: xattrs.size === 0 ? NO_XATTRS : new Map() };
      for (const [k, v] of xattrs) e.xattrs.set(k, v.toString('base64'));
      this.nodes.set(p, e);
    }
    this.implicit.clear();
    return this.nodes;
  }
}
