// RootFS: the only code that touches a rootfs. Every operation resolves its parent directory
// inside the root (openat2 RESOLVE_IN_ROOT, or the O_NOFOLLOW walk of walk.ts), then makes
// one *at syscall on the last name, which is never followed unless a method says so.
// It takes clean relative paths and asserts them; it knows nothing of tar, layers or images.
import { readSync } from 'node:fs';
import { OciBundleError } from '../errors.js';
import { DirCache, type DirEntry } from './dircache.js';
import { native, type NativeAddon, type NativeConstants, type RawStat } from './native.js';
import { codeOf, relabel } from './syserr.js';
import { walk } from './walk.js';

export interface Time {
  sec: number;
  nsec: number;
}
export type NodeKind = 'file' | 'dir' | 'symlink' | 'char' | 'block' | 'fifo' | 'socket';
export interface Lstat {
  kind: NodeKind;
  mode: number; // & 0o7777
  uid: number;
  gid: number;
  size: number;
  ino: bigint;
  dev: bigint;
  nlink: number;
  rdevMajor: number;
  rdevMinor: number;
  mtime: Time;
  atime: Time;
  ctime: Time;
}
export interface Meta {
  uid: number;
  gid: number;
  mode: number; // 0o7777 bits
  atime: Time;
  mtime: Time;
  xattrs?: Map<string, Buffer>;
  chown?: boolean; // default true
}
export type Resolver = 'openat2' | 'walk';
export interface RootFSOptions {
  resolver?: Resolver | 'auto';
  /** How many parent-directory fds to keep open (default 128, at least 2). */
  cacheSize?: number;
}

/** Assert a clean rootfs-relative path: '.' or 'a/b/c' without '', '.', '..' components. */
export function assertCleanPath(p: string): void {
  if (p === '.') return;
  const bad =
    typeof p !== 'string' ||
    p.length === 0 ||
    p.charCodeAt(0) === 47 ||
    p.charCodeAt(p.length - 1) === 47 ||
    p.includes('//') ||
    p.includes('\0') ||
    p === '..' ||
    p.startsWith('./') ||
    p.startsWith('../') ||
    p.endsWith('/.') ||
    p.endsWith('/..') ||
    p.includes('/./') ||
    p.includes('/../');
  if (bad) throw new OciBundleError('EPATH', `invalid rootfs path '${String(p)}': not a clean relative path`);
}

function kindOf(mode: number, c: NativeConstants): NodeKind {
  switch (mode & c.S_IFMT) {
    case c.S_IFREG:
      return 'file';
    case c.S_IFDIR:
      return 'dir';
    case c.S_IFLNK:
      return 'symlink';
    case c.S_IFCHR:
      return 'char';
    case c.S_IFBLK:
      return 'block';
    case c.S_IFIFO:
      return 'fifo';
    default:
      return 'socket';
  }
}

function toLstat(s: RawStat, c: NativeConstants): Lstat {
  return {
    kind: kindOf(s.mode, c),
    mode: s.mode & 0o7777,
    uid: s.uid,
    gid: s.gid,
    size: s.size,
    ino: s.ino,
    dev: s.dev,
    nlink: s.nlink,
    rdevMajor: s.rdevMajor,
    rdevMinor: s.rdevMinor,
    mtime: { sec: s.mtimeSec, nsec: s.mtimeNsec },
    atime: { sec: s.atimeSec, nsec: s.atimeNsec },
    ctime: { sec: s.ctimeSec, nsec: s.ctimeNsec },
  };
}

const ABSENT = new Set(['ENOENT', 'ENOTDIR']);

function xattrArrays(m: Map<string, Buffer> | undefined): [string[] | null, Buffer[] | null] {
  if (m === undefined || m.size === 0) return [null, null];
  return [[...m.keys()], [...m.values()]];
}

export class RootFS {
  readonly resolver: Resolver;
  private rootFd: number;
  private readonly n: NativeAddon;
  private readonly c: NativeConstants;
  private readonly dirs: DirCache;
  /** fds handed out by createFile and not yet finished, with their paths (for messages). */
  private readonly openFiles = new Map<number, string>();

  private constructor(n: NativeAddon, rootFd: number, resolver: Resolver, cacheSize: number) {
    this.n = n;
    this.c = n.constants;
    this.rootFd = rootFd;
    this.resolver = resolver;
    this.dirs = new DirCache(n, cacheSize);
  }

  /** Open the rootfs directory `rootDir` (a trusted host path; it may itself be a symlink). */
  static open(rootDir: string, opts: RootFSOptions = {}): RootFS {
    const n = native();
    const c = n.constants;
    const fd = n.openat(c.AT_FDCWD, rootDir, c.O_PATH | c.O_DIRECTORY | c.O_CLOEXEC, 0);
    let resolver: Resolver;
    try {
      resolver = pickResolver(n, fd, opts.resolver ?? 'auto');
    } catch (e) {
      n.close(fd);
      throw e;
    }
    return new RootFS(n, fd, resolver, opts.cacheSize ?? 128);
  }

  // --- queries -------------------------------------------------------------------------

  /** The entry itself (a final symlink is not followed); null when it does not exist. */
  lstat(path: string): Lstat | null {
    assertCleanPath(path);
    try {
      if (path === '.') return toLstat(this.n.fstat(this.root()), this.c);
      const [dfd, name] = this.at(path);
      return toLstat(this.n.fstatat(dfd, name, this.c.AT_SYMLINK_NOFOLLOW), this.c);
    } catch (e) {
      if (ABSENT.has(codeOf(e) ?? '')) return null;
      throw relabel(e, path);
    }
  }

  /** Like lstat, but symlinks (final one included) are followed inside the root. */
  stat(path: string): Lstat | null {
    assertCleanPath(path);
    let fd = -1;
    try {
      fd = this.resolveFull(path);
      return toLstat(this.n.fstat(fd), this.c);
    } catch (e) {
      if (ABSENT.has(codeOf(e) ?? '')) return null;
      throw relabel(e, path);
    } finally {
      if (fd >= 0) this.n.close(fd);
    }
  }

  /** Names in the directory at `path` (not followed if a symlink), sorted. */
  readdir(path: string): string[] {
    assertCleanPath(path);
    const c = this.c;
    const flags = c.O_RDONLY | c.O_DIRECTORY | c.O_NOFOLLOW | c.O_NONBLOCK | c.O_CLOEXEC;
    let fd = -1;
    try {
      if (path === '.') fd = this.n.openat(this.root(), '.', flags, 0);
      else {
        const [dfd, name] = this.at(path);
        fd = this.n.openat(dfd, name, flags, 0);
      }
      return this.n.getdents(fd).sort();
    } catch (e) {
      throw relabel(e, path);
    } finally {
      if (fd >= 0) this.n.close(fd);
    }
  }

  /**
   * A regular file's content, following symlinks inside the root (for /etc/passwd); null if
   * absent. Anything but a regular file is refused (EPATH) without being opened for reading,
   * so a FIFO or device cannot block or be triggered. Beyond maxBytes: ELIMIT.
   */
  readFile(path: string, maxBytes: number): Buffer | null {
    assertCleanPath(path);
    const c = this.c;
    let pathFd = -1;
    let fd = -1;
    try {
      try {
        pathFd = this.resolveFull(path);
      } catch (e) {
        if (ABSENT.has(codeOf(e) ?? '')) return null;
        throw e;
      }
      const st = this.n.fstat(pathFd);
      if ((st.mode & c.S_IFMT) !== c.S_IFREG) {
        throw new OciBundleError('EPATH', `${path} is a ${kindOf(st.mode, c)}, not a regular file: not read`);
      }
      if (st.size > maxBytes) {
        throw new OciBundleError('ELIMIT', `${path} is ${st.size} bytes, more than the ${maxBytes} allowed`);
      }
      // re-open the very inode we checked; O_NONBLOCK in case it was swapped for a FIFO
      fd = this.n.openat(c.AT_FDCWD, `/proc/self/fd/${pathFd}`, c.O_RDONLY | c.O_NONBLOCK | c.O_NOCTTY | c.O_CLOEXEC, 0);
      // one byte of headroom tells "exactly at the limit" from "grew past it"
      let buf = Buffer.allocUnsafe(Math.min(maxBytes, st.size) + 1);
      let len = 0;
      for (;;) {
        if (len === buf.length) {
          if (len > maxBytes) throw new OciBundleError('ELIMIT', `${path} grew beyond the ${maxBytes} bytes allowed`);
          const bigger = Buffer.allocUnsafe(Math.min(maxBytes + 1, buf.length * 2));
          buf.copy(bigger, 0, 0, len);
          buf = bigger;
        }
        const got = readSync(fd, buf, len, buf.length - len, null);
        if (got === 0) break;
        len += got;
      }
      if (len > maxBytes) throw new OciBundleError('ELIMIT', `${path} grew beyond the ${maxBytes} bytes allowed`);
      return buf.subarray(0, len);
    } catch (e) {
      throw relabel(e, path);
    } finally {
      if (fd >= 0) this.n.close(fd);
      if (pathFd >= 0) this.n.close(pathFd);
    }
  }

  /** A symlink's target, verbatim (never followed). */
  readlink(path: string): string {
    this.assertNotRoot(path);
    try {
      const [dfd, name] = this.at(path);
      return this.n.readlinkat(dfd, name, false);
    } catch (e) {
      throw relabel(e, path);
    }
  }

  /**
   * A read-only fd on the regular file at `path` itself: a final symlink is not followed, a
   * FIFO or device is refused (O_NONBLOCK, then fstat) without being read. Caller closes it.
   */
  openRead(path: string): number {
    this.assertNotRoot(path);
    const c = this.c;
    let fd = -1;
    try {
      const [dfd, name] = this.at(path);
      fd = this.n.openat(dfd, name, c.O_RDONLY | c.O_NOFOLLOW | c.O_NONBLOCK | c.O_NOCTTY | c.O_CLOEXEC, 0);
      const st = this.n.fstat(fd);
      if ((st.mode & c.S_IFMT) !== c.S_IFREG) throw new OciBundleError('EPATH', `${path} is a ${kindOf(st.mode, c)}, not a regular file: not read`);
      return fd;
    } catch (e) {
      if (fd >= 0) this.n.close(fd);
      throw relabel(e, path);
    }
  }

  /** Every xattr of the entry itself (a symlink's own, not its target's). */
  listXattrs(path: string): Map<string, Buffer> {
    assertCleanPath(path);
    try {
      const [dfd, name] = path === '.' ? [this.root(), ''] : this.at(path);
      const out = new Map<string, Buffer>();
      for (const x of this.n.llistxattrat(dfd, name)) out.set(x, this.n.lgetxattrat(dfd, name, x));
      return out;
    } catch (e) {
      throw relabel(e, path);
    }
  }

  /** Set one xattr of the entry itself (never through a final symlink). */
  setXattr(path: string, name: string, value: Buffer): void {
    assertCleanPath(path);
    try {
      if (path === '.') {
        const fd = this.openRootDir();
        try {
          this.n.fsetxattr(fd, name, value, 0);
        } finally {
          this.n.close(fd);
        }
        return;
      }
      const [dfd, entry] = this.at(path);
      this.n.lsetxattrat(dfd, entry, name, value, 0);
    } catch (e) {
      throw relabel(e, path);
    }
  }

  // --- creation ------------------------------------------------------------------------

  /** mkdir; the mode is subject to the umask (setMeta sets the exact one). EEXIST propagates. */
  mkdir(path: string, mode: number): void {
    assertCleanPath(path);
    try {
      const [dfd, name] = this.at(path);
      this.n.mkdirat(dfd, name, mode & 0o7777);
    } catch (e) {
      throw relabel(e, path);
    }
  }

  /** A new regular file (O_EXCL, never through a final symlink); returns a write-only fd. */
  createFile(path: string, mode: number): number {
    this.assertNotRoot(path);
    const c = this.c;
    try {
      const [dfd, name] = this.at(path);
      const fd = this.n.openat(dfd, name, c.O_WRONLY | c.O_CREAT | c.O_EXCL | c.O_NOFOLLOW | c.O_CLOEXEC, mode & 0o7777);
      this.openFiles.set(fd, path);
      return fd;
    } catch (e) {
      throw relabel(e, path);
    }
  }

  /** fd (from createFile) now belongs to someone else, who closes it: close() leaves it alone. */
  handOff(fd: number): void {
    this.openFiles.delete(fd);
  }

  /** Owner, then mode (setuid/setgid/sticky survive the chown), xattrs, times; closes fd. */
  finishFile(fd: number, meta: Meta): void {
    const path = this.openFiles.get(fd) ?? `fd ${fd}`;
    this.openFiles.delete(fd);
    const [names, values] = xattrArrays(meta.xattrs);
    const own = meta.chown !== false;
    try {
      this.n.finishFd(
        fd, own ? meta.uid : -1, own ? meta.gid : -1, meta.mode & 0o7777, names, values,
        meta.atime.sec, meta.atime.nsec, meta.mtime.sec, meta.mtime.nsec,
      );
    } catch (e) {
      throw relabel(e, path);
    }
  }

  /**
   * createFile, its whole content data[off, +len), then finishFile, in one native call; with
   * `digest` (only where hashesNatively()), the content's SHA-256 is written into it. EEXIST
   * propagates (nothing was written); a later failure leaves the file as far as it got.
   */
  writeFile(path: string, createMode: number, data: Buffer, off: number, len: number, meta: Meta, digest: Buffer | null = null): void {
    this.assertNotRoot(path);
    const [names, values] = xattrArrays(meta.xattrs);
    const own = meta.chown !== false;
    try {
      const [dfd, name] = this.at(path);
      this.n.writeFileAt(
        dfd, name, createMode & 0o7777, data, off, len, own ? meta.uid : -1, own ? meta.gid : -1, meta.mode & 0o7777,
        names, values, meta.atime.sec, meta.atime.nsec, meta.mtime.sec, meta.mtime.nsec, digest,
      );
    } catch (e) {
      throw relabel(e, path);
    }
  }

  /**
   * Whether writeFile() and the file writer can hash content natively: OpenSSL's SHA-256 is in
   * this process, and OCIBUNDLE_NATIVE_SHA256=0 does not switch it off (the caller then hashes).
   */
  hashesNatively(): boolean {
    return process.env['OCIBUNDLE_NATIVE_SHA256'] !== '0' && this.n.sha256Ready();
  }

  /** A symlink holding `target` verbatim. */
  symlink(target: string, path: string): void {
    this.assertNotRoot(path);
    try {
      const [dfd, name] = this.at(path);
      this.n.symlinkat(target, dfd, name);
    } catch (e) {
      throw relabel(e, path);
    }
  }

  /** A hard link at `path` to `existing` (whose final component is not followed). */
  link(existing: string, path: string): void {
    this.assertNotRoot(existing);
    this.assertNotRoot(path);
    try {
      const [ofd, oname] = this.at(existing);
      const [nfd, nname] = this.at(path);
      this.n.linkat(ofd, oname, nfd, nname, 0);
    } catch (e) {
      throw relabel(e, path, existing);
    }
  }

  mknod(path: string, kind: 'char' | 'block' | 'fifo', mode: number, major: number, minor: number): void {
    this.assertNotRoot(path);
    const c = this.c;
    const type = kind === 'char' ? c.S_IFCHR : kind === 'block' ? c.S_IFBLK : kind === 'fifo' ? c.S_IFIFO : -1;
    if (type < 0) throw new OciBundleError('EPATH', `cannot create ${path}: unknown node kind ${String(kind)}`);
    try {
      const [dfd, name] = this.at(path);
      this.n.mknodat(dfd, name, type | (mode & 0o7777), kind === 'fifo' ? 0 : major, kind === 'fifo' ? 0 : minor);
    } catch (e) {
      throw relabel(e, path);
    }
  }

  // --- metadata ------------------------------------------------------------------------

  /**
   * Owner, mode, xattrs and times of any entry without following a final symlink (a symlink
   * gets lchown, its own xattrs and lutimes; Linux has no symlink modes, so no chmod).
   */
  setMeta(path: string, meta: Meta): void {
    assertCleanPath(path);
    const [names, values] = xattrArrays(meta.xattrs);
    const own = meta.chown !== false;
    const uid = own ? meta.uid : -1;
    const gid = own ? meta.gid : -1;
    try {
      if (path === '.') {
        const fd = this.openRootDir();
        this.n.finishFd(fd, uid, gid, meta.mode & 0o7777, names, values, meta.atime.sec, meta.atime.nsec, meta.mtime.sec, meta.mtime.nsec);
        return;
      }
      const [dfd, name] = this.at(path);
      this.n.setMetaAt(dfd, name, uid, gid, meta.mode & 0o7777, names, values, meta.atime.sec, meta.atime.nsec, meta.mtime.sec, meta.mtime.nsec);
    } catch (e) {
      throw relabel(e, path);
    }
  }

  /** Owner only (lchown semantics: a final symlink is not followed). */
  chown(path: string, uid: number, gid: number): void {
    assertCleanPath(path);
    try {
      if (path === '.') {
        const fd = this.openRootDir();
        try {
          this.n.fchown(fd, uid, gid);
        } finally {
          this.n.close(fd);
        }
        return;
      }
      const [dfd, name] = this.at(path);
      this.n.fchownat(dfd, name, uid, gid, this.c.AT_SYMLINK_NOFOLLOW);
    } catch (e) {
      throw relabel(e, path);
    }
  }

  /** The permission bits of a non-symlink entry (its times stay; only ctime moves). */
  chmod(path: string, mode: number): void {
    this.assertNotRoot(path);
    try {
      const [dfd, name] = this.at(path);
      this.n.fchmodat(dfd, name, mode & 0o7777, this.c.AT_SYMLINK_NOFOLLOW);
    } catch (e) {
      throw relabel(e, path);
    }
  }

  /** atime and mtime of the entry itself (lutimes semantics). */
  setTimes(path: string, atime: Time, mtime: Time): void {
    assertCleanPath(path);
    try {
      if (path === '.') {
        const fd = this.openRootDir();
        try {
          this.n.futimens(fd, atime.sec, atime.nsec, mtime.sec, mtime.nsec);
        } finally {
          this.n.close(fd);
        }
        return;
      }
      const [dfd, name] = this.at(path);
      this.n.utimensat(dfd, name, atime.sec, atime.nsec, mtime.sec, mtime.nsec, this.c.AT_SYMLINK_NOFOLLOW);
    } catch (e) {
      throw relabel(e, path);
    }
  }

  // --- removal and renaming ------------------------------------------------------------

  /** Unlink a non-directory, or delete a whole tree; never follows symlinks. False if absent. */
  remove(path: string): boolean {
    this.assertNotRoot(path);
    let entry: [number, string, boolean];
    try {
      entry = this.atAliased(path);
    } catch (e) {
      if (ABSENT.has(codeOf(e) ?? '')) return false;
      throw relabel(e, path);
    }
    const [dfd, name, aliased] = entry;
    try {
      return this.n.rmtreeat(dfd, name);
    } catch (e) {
      throw relabel(e, path);
    } finally {
      this.dirs.invalidate(path, aliased);
    }
  }

  /** rename(2) within the root; `to` is replaced as rename(2) does. */
  rename(from: string, to: string): void {
    this.assertNotRoot(from);
    this.assertNotRoot(to);
    let aliased = false;
    try {
      const [ofd, oname, a1] = this.atAliased(from);
      const [nfd, nname, a2] = this.atAliased(to);
      aliased = a1 || a2;
      this.n.renameat2(ofd, oname, nfd, nname, 0);
    } catch (e) {
      throw relabel(e, from, to);
    } finally {
      this.dirs.invalidate(from, aliased);
      this.dirs.invalidate(to, aliased);
    }
  }

  /** Close every fd: cached directories, unfinished files, the root. Idempotent. */
  close(): void {
    this.dirs.clear();
    for (const fd of this.openFiles.keys()) {
      try {
        this.n.close(fd);
      } catch {
        /* closing anyway */
      }
    }
    this.openFiles.clear();
    if (this.rootFd >= 0) {
      const fd = this.rootFd;
      this.rootFd = -1;
      this.n.close(fd);
    }
  }

  /** Number of cached parent-directory fds (for tests). */
  get cachedDirs(): number {
    return this.dirs.size;
  }

  // --- resolution ----------------------------------------------------------------------

  private root(): number {
    if (this.rootFd < 0) throw new OciBundleError('EIO', 'rootfs is closed');
    return this.rootFd;
  }

  private assertNotRoot(path: string): void {
    assertCleanPath(path);
    if (path === '.') throw new OciBundleError('EPATH', 'the rootfs root itself cannot be created, linked, renamed or removed');
  }

  private openRootDir(): number {
    const c = this.c;
    return this.n.openat(this.root(), '.', c.O_RDONLY | c.O_DIRECTORY | c.O_CLOEXEC, 0);
  }

  /** (parent dir fd, last name) for a clean path other than '.'; the fd stays owned here. */
  private at(path: string): [number, string] {
    const i = path.lastIndexOf('/');
    if (i < 0) return [this.root(), path];
    return [this.dirEntry(path.slice(0, i)).fd, path.slice(i + 1)];
  }

  private atAliased(path: string): [number, string, boolean] {
    const i = path.lastIndexOf('/');
    if (i < 0) return [this.root(), path, false];
    const e = this.dirEntry(path.slice(0, i));
    return [e.fd, path.slice(i + 1), e.aliased];
  }

  /** The directory at `dir`, every symlink on the way followed inside the root; cached. */
  private dirEntry(dir: string): DirEntry {
    const hit = this.dirs.get(dir);
    if (hit !== undefined) return hit;
    const e = this.resolveDir(dir);
    this.dirs.set(dir, e);
    return e;
  }

  private resolveDir(dir: string): DirEntry {
    const root = this.root();
    const c = this.c;
    // First try below the nearest cached ancestor with no symlinks at all: one short lookup.
    let base = root;
    let rest = dir;
    let baseAliased = false;
    for (let i = dir.lastIndexOf('/'); i > 0; i = dir.lastIndexOf('/', i - 1)) {
      const a = this.dirs.peek(dir.slice(0, i));
      if (a !== undefined) {
        base = a.fd;
        rest = dir.slice(i + 1);
        baseAliased = a.aliased;
        break;
      }
    }
    const flags = c.O_PATH | c.O_DIRECTORY | c.O_CLOEXEC;
    if (this.resolver === 'openat2') {
      try {
        const fd = this.n.openat2(base, rest, flags, 0, c.RESOLVE_BENEATH | c.RESOLVE_NO_SYMLINKS | c.RESOLVE_NO_MAGICLINKS);
        return { fd, aliased: baseAliased };
      } catch (e) {
        if (codeOf(e) !== 'ELOOP') throw e;
      }
      const fd = this.n.openat2(root, dir, flags, 0, c.RESOLVE_IN_ROOT | c.RESOLVE_NO_MAGICLINKS);
      return { fd, aliased: true };
    }
    const quick = walk(this.n, root, base, rest, { follow: true, noSymlinks: true, wantDir: true });
    if (quick !== null) return { fd: quick.fd, aliased: baseAliased };
    const full = walk(this.n, root, root, dir, { follow: true, noSymlinks: false, wantDir: true })!;
    return { fd: full.fd, aliased: true };
  }

  /** An O_PATH fd for `path` with every symlink followed inside the root; caller closes. */
  private resolveFull(path: string): number {
    const root = this.root();
    const c = this.c;
    if (this.resolver === 'openat2') {
      return this.n.openat2(root, path, c.O_PATH | c.O_CLOEXEC, 0, c.RESOLVE_IN_ROOT | c.RESOLVE_NO_MAGICLINKS);
    }
    return walk(this.n, root, root, path, { follow: true, noSymlinks: false, wantDir: false })!.fd;
  }
}

function pickResolver(n: NativeAddon, rootFd: number, want: Resolver | 'auto'): Resolver {
  if (want === 'walk') return 'walk';
  const c = n.constants;
  try {
    n.close(n.openat2(rootFd, '.', c.O_PATH | c.O_DIRECTORY | c.O_CLOEXEC, 0, c.RESOLVE_IN_ROOT | c.RESOLVE_NO_MAGICLINKS));
    return 'openat2';
  } catch (e) {
    // ENOSYS: kernel < 5.6; EPERM: a seccomp profile that predates openat2
    const code = codeOf(e);
    if (want === 'auto' && (code === 'ENOSYS' || code === 'EPERM')) return 'walk';
    if (want === 'openat2') {
      throw new OciBundleError('ENATIVE', `openat2 is not usable on this system (${code ?? 'error'})`, { cause: e });
    }
    throw e;
  }
}
