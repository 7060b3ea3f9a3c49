// File content from one open fd into another, cheapest way first: FICLONE (a reflink, where the
// file system shares extents: btrfs, xfs, bcachefs), else copy_file_range (an in-kernel copy),
// else read/write. Remembers per process which way worked so a refusal is paid once.
// Knows nothing of paths or policy: the callers open and close both fds.
import { readSync, writeSync } from 'node:fs';
import { native } from './native.js';

export type CloneWay = 'reflink' | 'copy_file_range' | 'readwrite';

/** Errors by which the kernel says "not this way here" (not a real I/O failure). */
const UNSUPPORTED = new Set(['EOPNOTSUPP', 'ENOTSUP', 'EXDEV', 'EINVAL', 'ENOSYS', 'ENOTTY', 'EBADF']);
let reflinkWorks = true;
let rangeWorks = true;
export const cloneCounts: Record<CloneWay, number> = { reflink: 0, copy_file_range: 0, readwrite: 0 };

/** Make dstFd (an empty file opened for writing) hold the first `size` bytes of srcFd. */
export function cloneContent(srcFd: number, dstFd: number, size: number): CloneWay {
  if (size === 0) return 'readwrite';
  const n = native();
  if (reflinkWorks) {
    try {
      n.ficlone(dstFd, srcFd);
      cloneCounts.reflink++;
      return 'reflink';
    } catch (e) {
      if (!UNSUPPORTED.has((e as { code?: string }).code ?? '')) throw e;
      reflinkWorks = false;
    }
  }
  if (rangeWorks) {
    try {
      const done = n.copyFileRange(srcFd, dstFd, size);
      if (done !== size) throw Object.assign(new Error(`store file shorter than its ${size} bytes`), { code: 'EIO' });
      cloneCounts.copy_file_range++;
      return 'copy_file_range';
    } catch (e) {
      if (!UNSUPPORTED.has((e as { code?: string }).code ?? '')) throw e;
      rangeWorks = false;
    }
  }
  const buf = Buffer.allocUnsafe(Math.min(size, 1 << 20));
  let pos = 0;
  while (pos < size) {
    const got = readSync(srcFd, buf, 0, Math.min(buf.length, size - pos), pos);
    if (got === 0) throw Object.assign(new Error(`store file shorter than its ${size} bytes`), { code: 'EIO' });
    let off = 0;
    while (off < got) off += writeSync(dstFd, buf, off, got - off);
    pos += got;
  }
  cloneCounts.readwrite++;
  return 'readwrite';
}
