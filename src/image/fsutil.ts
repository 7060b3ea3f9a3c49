// Small file-system helpers for the directory store: no-follow reads of regular files with a
// size cap, atomic replacement (exclusive temp file, fsync, rename, fsync dir) and owner
// matching. Knows nothing of OCI documents.
import { closeSync, constants as C, fstatSync, openSync, promises as fsp, readSync } from 'node:fs';
import { OciBundleError } from '../errors.js';
import { createTempFile } from '../host/temp.js';

const OPEN_RO = C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK;

/** Identity of a file's current content: inode, size and ns mtime (an atomic rename changes the inode). */
export function stampOf(st: { ino: bigint; size: bigint; mtimeNs: bigint; ctimeNs: bigint }): string {
  return `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
}

export async function statStamp(path: string): Promise<string | undefined> {
  try {
    return stampOf(await fsp.lstat(path, { bigint: true }));
  } catch {
    return undefined;
  }
}

/**
 * Reads a regular file without following a final symlink; ELIMIT beyond `cap` bytes. Its calls
 * are synchronous: the files are small (oci-layout, index.json), and four thread-pool round
 * trips cost more than the reads (for `ls` they were the only use of libuv's pool). O_NONBLOCK
 * keeps a FIFO from blocking the open; anything but a regular file is refused before a read.
 */
export async function readRegularFile(path: string, cap: number, what: string, onStamp?: (stamp: string) => void): Promise<Buffer> {
  const fd = openSync(path, OPEN_RO);
  try {
    const big = fstatSync(fd, { bigint: true });
    onStamp?.(stampOf(big));
    const st = { isFile: () => big.isFile(), size: Number(big.size) };
    if (!st.isFile()) throw new OciBundleError('EBADLAYOUT', `${what} ${path} is not a regular file`);
    if (st.size > cap) throw new OciBundleError('ELIMIT', `${what} ${path} is ${st.size} bytes, over the ${cap}-byte limit`);
    const buf = Buffer.allocUnsafe(st.size + 1);
    let n = 0;
    for (;;) {
      const bytesRead = readSync(fd, buf, n, buf.length - n, null);
      if (bytesRead === 0) break;
      n += bytesRead;
      if (n > st.size) throw new OciBundleError('EBADLAYOUT', `${what} ${path} grew while being read`);
    }
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

export interface Owner {
  uid: number;
  gid: number;
}

/** The owner new files should get: the directory's, when we are allowed to give it. */
export async function ownerOf(dir: string): Promise<Owner | undefined> {
  const st = await fsp.stat(dir);
  if (process.getuid?.() === st.uid && process.getgid?.() === st.gid) return undefined;
  return { uid: st.uid, gid: st.gid };
}

/** Writes `bytes` to `dest` atomically: new temp file of `kind` in `tmpDir` (same fs), fsync, rename, fsync dir. */
export async function writeAtomic(tmpDir: string, dest: string, bytes: Uint8Array, mode: number, owner?: Owner, kind = 'index'): Promise<void> {
  const { path: tmp, fh } = await createTempFile(tmpDir, kind, mode);
  try {
    try {
      await fh.writeFile(bytes);
      if (owner) await fh.chown(owner.uid, owner.gid).catch(() => undefined);
      await fh.chmod(mode);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, dest);
  } catch (e) {
    await fsp.unlink(tmp).catch(() => undefined);
    throw e;
  }
  await fsyncDir(dest.slice(0, dest.lastIndexOf('/')) || '/');
}

export async function fsyncDir(dir: string): Promise<void> {
  const fh = await fsp.open(dir, C.O_RDONLY | C.O_DIRECTORY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
