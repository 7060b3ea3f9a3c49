// The component-by-component resolver used where openat2 is missing (or forced for tests):
// opens each component with O_PATH|O_NOFOLLOW, reads symlinks itself and resolves them
// against the rootfs root (absolute targets and '..' clamp at the root), with a hop limit.
// Returns an O_PATH fd the caller owns; never returns the root fd itself and never reads a file.
import type { NativeAddon } from './native.js';
import { sysError } from './syserr.js';

export const MAX_SYMLINK_HOPS = 40;

export interface WalkResult {
  fd: number;
  /** A symlink was followed on the way. */
  aliased: boolean;
}

/**
 * Resolve `rest` (a clean relative path) starting at `baseFd`, a directory inside the root
 * `rootFd`. Intermediate symlinks are always followed; the final one only with `follow`.
 * With `noSymlinks`, meeting any symlink to follow returns null instead (the caller then
 * retries from the root). `wantDir`: the result must be a directory (else ENOTDIR).
 */
export function walk(
  n: NativeAddon,
  rootFd: number,
  baseFd: number,
  rest: string,
  opts: { follow: boolean; noSymlinks: boolean; wantDir: boolean },
): WalkResult | null {
  const c = n.constants;
  const todo = rest.split('/').reverse();
  const stack: number[] = []; // fds of the directories below baseFd on the current path
  let cur = baseFd;
  let hops = 0;
  let aliased = false;
  let result = -1;
  try {
    while (todo.length > 0) {
      const comp = todo.pop()!;
      if (comp === '' || comp === '.') continue;
      if (comp === '..') {
        // only reachable from symlink targets, and noSymlinks walks never expand those
        const up = stack.pop();
        if (up !== undefined) n.close(up);
        cur = stack.length > 0 ? stack[stack.length - 1]! : baseFd;
        continue;
      }
      const fd = n.openat(cur, comp, c.O_PATH | c.O_NOFOLLOW | c.O_CLOEXEC, 0);
      let type: number;
      try {
        type = n.fstat(fd).mode & c.S_IFMT;
      } catch (e) {
        n.close(fd);
        throw e;
      }
      const last = todo.length === 0;
      if (type === c.S_IFLNK && (!last || opts.follow)) {
        let target: string;
        try {
          if (opts.noSymlinks) return null;
          target = n.readlinkat(fd, '', false);
        } finally {
          n.close(fd);
        }
        if (++hops > MAX_SYMLINK_HOPS) throw sysError('ELOOP', 'walk', rest);
        if (target === '') throw sysError('ENOENT', 'walk', rest);
        aliased = true;
        if (target.startsWith('/')) {
          for (const f of stack) n.close(f);
          stack.length = 0;
          cur = rootFd;
          baseFd = rootFd;
        }
        const parts = target.split('/');
        for (let i = parts.length - 1; i >= 0; i--) {
          const p = parts[i]!;
          if (p !== '' && p !== '.') todo.push(p);
        }
        continue;
      }
      if (type !== c.S_IFDIR && (!last || opts.wantDir)) {
        n.close(fd);
        throw sysError('ENOTDIR', 'walk', rest);
      }
      stack.push(fd);
      cur = fd;
    }
    // a fresh fd for the result, so the caller owns it whatever the path was
    result = stack.length > 0 ? stack.pop()! : n.openat(cur, '.', c.O_PATH | c.O_DIRECTORY | c.O_CLOEXEC, 0);
    return { fd: result, aliased };
  } finally {
    for (const f of stack) n.close(f);
  }
}
