// Writes objects of a rootfs as tar entries of a new layer: owners translated back to
// container ids (through the bundle's id maps, or the rootless owner record), xattrs by the
// unpack policy (the rootless record itself stripped), hardlinks within the layer as links,
// devices with their numbers, mtimes clamped to SOURCE_DATE_EPOCH, and whiteouts. File data
// is read through fds opened without following symlinks; a file that changes size while it
// is read fails the layer (EIO), so a half-read file never becomes an image.
import { createHash } from 'node:crypto';
import { closeSync, readSync } from 'node:fs';
import { OciBundleError } from '../errors.js';
import type { RootFS, Time } from '../fs/rootfs.js';
import { parseRootlessXattr, type IdMap } from '../layer/ids.js';
import { decideXattr } from '../layer/xattrs.js';
import type { TarWriter, WriteEntry } from '../tar/index.js';
import type { DiskEntry } from './mtree-walk.js';

export interface OwnerOptions {
  rootless: boolean;
  uidMap: IdMap[];
  gidMap: IdMap[];
}

export interface EntryOptions extends OwnerOptions {
  /** SOURCE_DATE_EPOCH: later mtimes are clamped to it. */
  clampTo?: number;
}

const RL = 'user.rootlesscontainers';
const CHUNK = 1 << 20;

/** host id -> container id through the maps; null when no map covers it. */
function unmap(maps: IdMap[], id: number): number | null {
  if (maps.length === 0) return id;
  for (const m of maps) if (id >= m.hostID && id < m.hostID + m.size) return m.containerID + (id - m.hostID);
  return null;
}

/** The container owner of an object on disk. */
export function containerOwner(d: DiskEntry, o: OwnerOptions): { uid: number; gid: number } {
  if (o.rootless) {
    const rec = d.xattrs.get(RL);
    const parsed = rec ? parseRootlessXattr(rec) : null;
    const uid = parsed?.uid ?? unmap(o.uidMap, d.st.uid) ?? 0;
    const gid = parsed?.gid ?? unmap(o.gidMap, d.st.gid) ?? 0;
    return { uid, gid };
  }
  const uid = unmap(o.uidMap, d.st.uid);
  const gid = unmap(o.gidMap, d.st.gid);
  if (uid === null || gid === null) {
    throw new OciBundleError('EPATH', `${d.path} is owned by ${d.st.uid}:${d.st.gid}, which the bundle's id maps do not cover`);
  }
  return { uid, gid };
}

function clamp(t: Time, to: number | undefined): Time {
  return to !== undefined && t.sec >= to ? { sec: to, nsec: 0 } : t;
}

function* readChunks(fs: RootFS, path: string, hash: ReturnType<typeof createHash> | null): Generator<Buffer> {
  let fd: number;
  try {
    fd = fs.openRead(path);
  } catch (e) {
    throw new OciBundleError('EIO', `${path} changed while it was repacked: ${(e as Error).message}`, { cause: e });
  }
  try {
    for (;;) {
      const buf = Buffer.allocUnsafe(CHUNK);
      const n = readSync(fd, buf, 0, CHUNK, null);
      if (n === 0) return;
      const b = buf.subarray(0, n);
      hash?.update(b);
      yield b;
    }
  } finally {
    closeSync(fd);
  }
}

/** Writes layer entries for disk objects (and whiteouts); returns the sha256 of each file written. */
export class LayerEntries {
  private readonly firstPathOfInode = new Map<string, string>();
  readonly digests = new Map<string, string>();

  constructor(
    private readonly fs: RootFS,
    private readonly w: TarWriter,
    private readonly o: EntryOptions,
  ) {}

  async whiteout(path: string, mtime: Time): Promise<void> {
    const i = path.lastIndexOf('/');
    const name = i < 0 ? `.wh.${path}` : `${path.slice(0, i)}/.wh.${path.slice(i + 1)}`;
    await this.w.add({ name, type: 'file', mode: 0o644, mtime: clamp(mtime, this.o.clampTo) });
  }

  async opaque(dir: string, mtime: Time): Promise<void> {
    await this.w.add({ name: dir === '.' ? '.wh..wh..opq' : `${dir}/.wh..wh..opq`, type: 'file', mode: 0o644, mtime: clamp(mtime, this.o.clampTo) });
  }

  /** One object; `as` renames it in the layer (insert). */
  async add(d: DiskEntry, as: string = d.path): Promise<void> {
    const { uid, gid } = containerOwner(d, this.o);
    const xattrs = new Map<string, Buffer>();
    if (d.st.kind === 'file' || d.st.kind === 'dir') {
      for (const [k, v] of d.xattrs) if (k !== RL && decideXattr(k, v, false).keep) xattrs.set(k, v);
    }
    const base = { uid, gid, mode: d.st.mode, mtime: clamp(d.st.mtime, this.o.clampTo), xattrs };
    const name = as === '.' ? './' : as;
    let e: WriteEntry;
    switch (d.st.kind) {
      case 'dir':
        e = { ...base, name: name.endsWith('/') ? name : `${name}/`, type: 'dir' };
        break;
      case 'symlink':
        e = { ...base, name, type: 'symlink', linkname: d.link ?? '' };
        break;
      case 'char':
      case 'block':
        e = { ...base, name, type: d.st.kind, devmajor: d.st.rdevMajor, devminor: d.st.rdevMinor };
        break;
      case 'fifo':
        e = { ...base, name, type: 'fifo' };
        break;
      case 'file': {
        const key = `${d.st.dev}:${d.st.ino}`;
        const first = d.st.nlink > 1 ? this.firstPathOfInode.get(key) : undefined;
        if (first !== undefined) {
          await this.w.add({ ...base, xattrs: new Map(), name, type: 'hardlink', linkname: first });
          this.digests.set(d.path, this.digests.get(first) ?? '');
          return;
        }
        if (d.st.nlink > 1) this.firstPathOfInode.set(key, as);
        const h = createHash('sha256');
        await this.w.add({ ...base, name, type: 'file', size: d.st.size }, readChunks(this.fs, d.path, h));
        this.digests.set(d.path, h.digest('hex'));
        return;
      }
      default:
        return;
    }
    await this.w.add(e);
  }
}
