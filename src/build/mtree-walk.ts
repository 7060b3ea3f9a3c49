// Walks a rootfs through RootFS (every lookup confined, no symlink followed) and describes
// what is on disk: one DiskEntry per object, parents before children, names sorted; the
// mtree entry of an object (hashing a file's bytes through an fd opened without following).
// Used by repack to diff against a bundle's mtree, and by unpack when recording lost track.
import { createHash } from 'node:crypto';
import { closeSync, readSync } from 'node:fs';
import { OciBundleError } from '../errors.js';
import type { Lstat, RootFS } from '../fs/rootfs.js';
import type { Mtree, MtreeEntry, MtreeType } from './mtree-spec.js';

export interface DiskEntry {
  path: string;
  st: Lstat;
  /** Symlink target. */
  link?: string;
  xattrs: Map<string, Buffer>;
}

const TYPE: Record<Lstat['kind'], MtreeType> = { file: 'file', dir: 'dir', symlink: 'link', char: 'char', block: 'block', fifo: 'fifo', socket: 'socket' };
const HASH_CHUNK = 1 << 20;
let hashBuf: Buffer | null = null;

/** Every object under the root ('.' first), depth first, parents before children. */
export function* walkRootfs(fs: RootFS, skip: (path: string) => boolean = () => false): Generator<DiskEntry> {
  const stack: string[] = ['.'];
  while (stack.length > 0) {
    const path = stack.pop()!;
    const st = fs.lstat(path);
    if (st === null) continue; // removed while we walked: it is simply not there
    const e: DiskEntry = { path, st, xattrs: st.kind === 'symlink' ? new Map() : fs.listXattrs(path) };
    if (st.kind === 'symlink') e.link = fs.readlink(path);
    yield e;
    if (st.kind === 'dir') {
      const names = fs.readdir(path);
      for (let i = names.length - 1; i >= 0; i--) {
        const child = path === '.' ? names[i]! : `${path}/${names[i]!}`;
        if (!skip(child)) stack.push(child);
      }
    }
  }
}

/** sha256 of a regular file's bytes and how many there were (no symlink followed). */
export function hashFile(fs: RootFS, path: string): { sha256: string; size: number } {
  const fd = fs.openRead(path);
  try {
    const h = createHash('sha256');
    hashBuf ??= Buffer.allocUnsafe(HASH_CHUNK);
    let size = 0;
    for (;;) {
      const n = readSync(fd, hashBuf, 0, HASH_CHUNK, null);
      if (n === 0) break;
      h.update(hashBuf.subarray(0, n));
      size += n;
    }
    return { sha256: h.digest('hex'), size };
  } finally {
    closeSync(fd);
  }
}

/** The mtree entry of what is on disk, with umoci's keywords (go-mtree's walk semantics). */
export function diskMtreeEntry(d: DiskEntry, sha256: string | undefined): MtreeEntry {
  const type = TYPE[d.st.kind];
  const e: MtreeEntry = { type, mode: d.st.mode, uid: d.st.uid, gid: d.st.gid, tarTime: d.st.mtime.sec, xattrs: new Map() };
  if (type === 'file' || type === 'dir') for (const [k, v] of d.xattrs) e.xattrs.set(k, v.toString('base64'));
  if (type !== 'dir') {
    e.nlink = d.st.nlink;
    e.size = d.st.size;
  }
  if (type === 'link') e.link = d.link ?? '';
  if (type === 'file') {
    if (sha256 === undefined) throw new OciBundleError('EIO', `internal: no digest for ${d.path}`);
    e.sha256 = sha256;
  }
  return e;
}

/** The mtree of a whole rootfs, by walking and hashing it (the slow path). */
export function walkMtree(fs: RootFS): Mtree {
  const out: Mtree = new Map();
  for (const d of walkRootfs(fs)) out.set(d.path, diskMtreeEntry(d, d.st.kind === 'file' ? hashFile(fs, d.path).sha256 : undefined));
  return out;
}
