// Records a bundle's mtree while the applier writes the rootfs (an ApplyObserver): each
// object as written, file digests as the applier hashed them where it wrote them (or hashed
// here from the bytes as they stream), hardlink counts, removals of whole trees. Directories
// the applier made implicitly are lstat'ed once at the end. When an entry goes where a path model cannot follow (a symlinked parent), the recorder says so and
// the caller walks the rootfs instead. The model is held compactly: paths in the applier's
// path table, each object's keywords in typed arrays (mtree-inodes.ts), no object per entry.
import { createHash, type Hash } from 'node:crypto';
import type { Applied, ApplyObserver } from '../layer/observer.js';
import { grown, PathTable, ROOT } from '../layer/path-table.js';
import type { RootFS } from '../fs/rootfs.js';
import type { MtreeEntry, MtreeSource, MtreeType } from './mtree-spec.js';
import { EMPTY_SHA256, Inodes } from './mtree-inodes.js';

export { EMPTY_SHA256 } from './mtree-inodes.js';

const KIND: Record<Applied['kind'], MtreeType> = { file: 'file', dir: 'dir', symlink: 'link', char: 'char', block: 'block', fifo: 'fifo' };

/** A finished model: the mtree's source for formatting, and lookups by path. */
export interface MtreeModel extends MtreeSource<number> {
  get(path: string): MtreeEntry | undefined;
}

export class MtreeRecorder implements ApplyObserver, MtreeModel {
  readonly paths = new PathTable();
  /** Per path node: its object in `objs` (hardlinks share one), -1 when not in the model. */
  private objOf = new Int32Array(1024).fill(-1);
  private readonly objs = new Inodes();
  /** Directories the applier made as missing parents: lstat'ed at the end (node ids). */
  private readonly implicit = new Set<number>();
  private hash: Hash | null = null;
  /** The digest of the file being written, given instead of its bytes (see digest()). */
  private known: string | null = null;
  /** Why the model cannot be trusted (null while it can). */
  lost: string | null = null;
  /** Files put before their digest (hashed on the writer thread): token -> [object, path node]. */
  private readonly pending = new Map<number, [number, number]>();
  private readonly scratch: MtreeEntry = { type: 'dir', xattrs: new Map() };

  constructor() {
    this.setObj(ROOT, this.objs.add('dir'));
    this.implicit.add(ROOT);
  }

  private obj(id: number): number {
    return id >= 0 && id < this.objOf.length ? this.objOf[id]! : -1;
  }

  private setObj(id: number, o: number): void {
    this.objOf = grown(this.objOf, id + 1, -1);
    this.objOf[id] = o;
  }

  put(path: string, a: Applied): void {
    const type = KIND[a.kind];
    const id = this.paths.intern(path);
    const o = this.objs.add(type);
    this.objs.setMeta(o, a.mode, a.uid, a.gid, a.mtime.sec);
    if (type === 'file' || type === 'dir') this.objs.setXattrs(o, a.xattrs);
    if (type !== 'dir') this.objs.setNlink(o, 1);
    if (type === 'link') {
      const link = a.link ?? '';
      this.objs.links.set(o, link);
      this.objs.setSize(o, Buffer.byteLength(link));
    } else if (type === 'file') {
      this.objs.setSize(o, a.size ?? 0);
      if (a.pending !== undefined) {
        this.objs.setDigest(o, EMPTY_SHA256); // replaced by digestOf()
        this.pending.set(a.pending, [o, id]);
      } else this.objs.setDigest(o, this.known ?? (this.hash ? this.hash.digest('hex') : EMPTY_SHA256));
      this.hash = null;
      this.known = null;
    } else if (type !== 'dir') this.objs.setSize(o, 0);
    const old = this.obj(id);
    if (old >= 0 && this.objs.type[old] === DIR && type === 'dir') {
      this.setObj(id, o);
      this.implicit.delete(id);
      return;
    }
    if (old >= 0) this.removeNode(id);
    if (!this.attach(id, path)) return;
    this.setObj(id, o);
  }

  data(chunk: Buffer): void {
    (this.hash ??= createHash('sha256')).update(chunk);
  }

  digest(sha256: string): void {
    this.known = sha256;
  }

  digestOf(token: number, sha256: string): void {
    const p = this.pending.get(token);
    if (p === undefined) return;
    this.pending.delete(token);
    this.objs.setDigest(p[0], sha256); // hardlinks made meanwhile share the object
  }

  link(path: string, target: string): void {
    const t = this.obj(this.paths.find(target));
    if (t < 0 || this.objs.type[t] === DIR) {
      this.untracked(`hardlink ${path} names ${target}, which the model does not hold`);
      return;
    }
    const id = this.paths.intern(path);
    if (this.obj(id) >= 0) this.removeNode(id);
    if (!this.attach(id, path)) return;
    this.objs.setNlink(t, (this.objs.nlink(t) || 1) + 1);
    this.setObj(id, t);
  }

  remove(path: string): void {
    const id = this.paths.find(path);
    if (this.obj(id) >= 0) this.removeNode(id); // else not in the model: nothing to forget (a removed implicit name)
  }

  /** Forget a node and everything below it (a live node's ancestors are all live). */
  private removeNode(id: number): void {
    const stack = [id];
    while (stack.length > 0) {
      const n = stack.pop()!;
      const o = this.objOf[n]!;
      this.paths.forEachChild(n, (c) => {
        if (this.obj(c) >= 0) stack.push(c);
      });
      if (this.objs.type[o] !== DIR && this.objs.nlink(o) > 1) this.objs.setNlink(o, this.objs.nlink(o) - 1);
      this.objOf[n] = -1;
      this.implicit.delete(n);
    }
  }

  implicitDir(path: string): void {
    const id = this.paths.intern(path);
    if (this.obj(id) >= 0 || !this.attach(id, path)) return;
    this.setObj(id, this.objs.add('dir'));
    this.implicit.add(id);
  }

  untracked(why: string): void {
    this.lost ??= why;
  }

  /** The parent of `id` must be a directory of the model. */
  private attach(id: number, path: string): boolean {
    const p = id === ROOT ? ROOT : this.paths.parentOf(id);
    const o = this.obj(p);
    if (o < 0 || this.objs.type[o] !== DIR) {
      this.untracked(`${path} has no directory parent in the model`);
      return false;
    }
    return true;
  }

  /** The finished model, after the applier's finish(): implicit directories are lstat'ed. */
  finish(fs: RootFS): MtreeModel {
    for (const [, id] of this.pending.values()) this.untracked(`no digest came for ${this.paths.path(id)}`);
    this.pending.clear();
    for (const id of this.implicit) {
      const p = this.paths.path(id);
      const st = fs.lstat(p);
      if (st === null || st.kind !== 'dir') {
        this.untracked(`${p} is not a directory on disk`);
        this.objOf[id] = -1;
        continue;
      }
      const o = this.objs.add('dir');
      this.objs.setMeta(o, st.mode, st.uid, st.gid, st.mtime.sec);
      this.objs.setXattrs(o, fs.listXattrs(p));
      this.objOf[id] = o;
    }
    this.implicit.clear();
    return this;
  }

  // --- MtreeModel ---------------------------------------------------------------------

  get root(): number | null {
    const o = this.obj(ROOT);
    return o >= 0 && this.objs.type[o] === DIR ? ROOT : null;
  }

  /** The entry at `id`, in a scratch object that the next call overwrites (formatting only). */
  entry(id: number): MtreeEntry {
    return this.objs.fill(this.objOf[id]!, this.scratch);
  }

  isDir(id: number): boolean {
    return this.objs.type[this.objOf[id]!] === DIR;
  }

  children(id: number): [string, number][] {
    const out: [string, number][] = [];
    this.paths.forEachChild(id, (c) => {
      if (this.obj(c) >= 0) out.push([this.paths.name(c), c]);
    });
    return out;
  }

  get(path: string): MtreeEntry | undefined {
    const o = this.obj(this.paths.find(path));
    return o < 0 ? undefined : this.objs.entry(o);
  }
}

const DIR = Inodes.code('dir');
