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

interface Node {
  e: MtreeEntry;
  /** Child names (directories only). */
  kids?: Set<string>;
  implicit?: boolean;
}

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
  private readonly nodes = new Map<string, Node>();
  private hash: Hash | null = null;
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
    this.nodes.set('.', { e: { type: 'dir', xattrs: new Map() }, kids: new Set(), implicit: true });
  }

  put(path: string, a: Applied): void {
    const type = KIND[a.kind];
    const e: MtreeEntry = { type, mode: a.mode, uid: a.uid, gid: a.gid, tarTime: a.mtime.sec, xattrs: new Map() };
    if (type === 'file' || type === 'dir') for (const [k, v] of a.xattrs) e.xattrs.set(k, v.toString('base64'));
    if (type !== 'dir') e.nlink = 1;
    if (type === 'link') e.link = a.link ?? '';
    if (type === 'link') e.size = Buffer.byteLength(e.link!);
    else if (type === 'file') {
      e.size = a.size ?? 0;
      if (this.streamed !== null && e.size > 0 && a.entry !== undefined) {
        e.sha256 = EMPTY_SHA256; // replaced in finish()
        this.pending.push({ e, path, layer: a.entry.layer, ordinal: a.entry.ordinal });
      } else e.sha256 = this.hash ? this.hash.digest('hex') : EMPTY_SHA256;
      this.hash = null;
    } else if (type !== 'dir') e.size = 0;
    const old = this.nodes.get(path);
    if (old && old.e.type === 'dir' && type === 'dir') {
      old.e = e;
      old.implicit = false;
      return;
    }
    if (old) this.remove(path);
    if (!this.attach(path)) return;
    this.nodes.set(path, type === 'dir' ? { e, kids: new Set() } : { e });
  }

  data(chunk: Buffer): void {
    (this.hash ??= createHash('sha256')).update(chunk);
  }

  link(path: string, target: string): void {
    const t = this.nodes.get(target);
    if (!t || t.e.type === 'dir') {
      this.untracked(`hardlink ${path} names ${target}, which the model does not hold`);
      return;
    }
    if (this.nodes.has(path)) this.remove(path);
    if (!this.attach(path)) return;
    t.e.nlink = (t.e.nlink ?? 1) + 1;
    this.nodes.set(path, { e: t.e });
  }

  remove(path: string): void {
    const n = this.nodes.get(path);
    if (!n) return; // not in the model: nothing to forget (a removed implicit name)
    const drop = (p: string, node: Node) => {
      if (node.kids) for (const k of node.kids) {
        const cp = p === '.' ? k : `${p}/${k}`;
        const c = this.nodes.get(cp);
        if (c) drop(cp, c);
      }
      if (node.e.type !== 'dir' && node.e.nlink !== undefined && node.e.nlink > 1) node.e.nlink--;
      this.nodes.delete(p);
    };
    drop(path, n);
    const [parent, name] = split(path);
    this.nodes.get(parent)?.kids?.delete(name);
  }

  implicitDir(path: string): void {
    if (this.nodes.has(path) || !this.attach(path)) return;
    this.nodes.set(path, { e: { type: 'dir', xattrs: new Map() }, kids: new Set(), implicit: true });
  }

  untracked(why: string): void {
    this.lost ??= why;
  }

  private attach(path: string): boolean {
    const [parent, name] = split(path);
    const p = this.nodes.get(parent);
    if (!p?.kids) {
      this.untracked(`${path} has no directory parent in the model`);
      return false;
    }
    p.kids.add(name);
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
    const out: Mtree = new Map();
    for (const [p, n] of this.nodes) {
      if (n.implicit) {
        const st = fs.lstat(p);
        if (st === null || st.kind !== 'dir') {
          this.untracked(`${p} is not a directory on disk`);
          continue;
        }
        n.e = { type: 'dir', mode: st.mode, uid: st.uid, gid: st.gid, tarTime: st.mtime.sec, xattrs: new Map() };
        for (const [k, v] of fs.listXattrs(p)) n.e.xattrs.set(k, v.toString('base64'));
      }
      out.set(p, n.e);
    }
    return out;
  }
}
