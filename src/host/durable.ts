// Flushing host files to disk for callers that ask for durability (unpack --sync): fsync of
// a directory after a rename into it, and syncfs of a whole file system (one call for a
// finished rootfs instead of an fsync per file). Knows nothing of bundles.
import { closeSync, constants as C, fsyncSync, openSync } from 'node:fs';
import { native } from '../fs/native.js';

function withDirFd(dir: string, fn: (fd: number) => void): void {
  const fd = openSync(dir, C.O_RDONLY | C.O_DIRECTORY);
  try {
    fn(fd);
  } finally {
    closeSync(fd);
  }
}

/** fsync(2) of the directory itself: makes renames and creations in it durable. */
export function fsyncDirSync(dir: string): void {
  withDirFd(dir, fsyncSync);
}

/** syncfs(2) of the file system `dir` is on: every dirty page and inode of it reaches disk. */
export function syncFileSystemOf(dir: string): void {
  withDirFd(dir, (fd) => native().syncfs(fd));
}
