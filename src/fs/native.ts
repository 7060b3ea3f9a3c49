// Loads the ocibundle_native addon (native/build/Release, built by `npm install`) and gives
// its thin syscall wrappers TypeScript types. No policy and no path handling here: callers
// (src/fs/rootfs.ts) decide what to resolve and how. Fails with ENATIVE if the addon is missing.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { OciBundleError } from '../errors.js';
import { packageFile } from '../package-files.js';

/** A struct stat, exactly: ino/dev as BigInt, times as (sec, nsec). */
export interface RawStat {
  mode: number; // full st_mode, type bits included
  uid: number;
  gid: number;
  size: number;
  ino: bigint;
  dev: bigint;
  nlink: number;
  rdevMajor: number;
  rdevMinor: number;
  atimeSec: number;
  atimeNsec: number;
  mtimeSec: number;
  mtimeNsec: number;
  ctimeSec: number;
  ctimeNsec: number;
}

export type PathArg = string | Buffer;

/**
 * Failures throw an Error shaped like Node's: `code` ('ENOENT'), `errno` (negative),
 * `syscall`, and `path`/`dest` when there is one. Ids are -1 ("unchanged") or 0..2^32-1;
 * times are (sec, nsec) with nsec in [0, 1e9) or UTIME_NOW/UTIME_OMIT.
 */
export interface NativeAddon {
  openat2(dirfd: number, path: PathArg, flags: number, mode: number, resolve: number): number;
  openat(dirfd: number, path: PathArg, flags: number, mode: number): number;
  close(fd: number): void;
  /** flock(fd, LOCK_EX|LOCK_NB) when `exclusive` is 1, LOCK_UN when 0: false when another
   * open file description holds the lock (never blocks). */
  flock(fd: number, exclusive: number): boolean;
  mkdirat(dirfd: number, path: PathArg, mode: number): void;
  /** mode includes the S_IF* type bits. */
  mknodat(dirfd: number, path: PathArg, mode: number, major: number, minor: number): void;
  symlinkat(target: PathArg, dirfd: number, path: PathArg): void;
  linkat(olddirfd: number, oldpath: PathArg, newdirfd: number, newpath: PathArg, flags: number): void;
  unlinkat(dirfd: number, path: PathArg, flags: number): void;
  renameat2(olddirfd: number, oldpath: PathArg, newdirfd: number, newpath: PathArg, flags: number): void;
  readlinkat(dirfd: number, path: PathArg, asBuffer: false): string;
  readlinkat(dirfd: number, path: PathArg, asBuffer: true): Buffer;
  /** Every name in the open directory except '.' and '..'; rewinds the fd first. */
  getdents(fd: number): string[];
  /** Unlink `name` or delete the tree at it, never following symlinks; false if absent. */
  rmtreeat(dirfd: number, name: PathArg): boolean;
  fstatat(dirfd: number, path: PathArg, flags: number): RawStat;
  fstat(fd: number): RawStat;
  fchownat(dirfd: number, path: PathArg, uid: number, gid: number, flags: number): void;
  fchown(fd: number, uid: number, gid: number): void;
  /** With flags (AT_SYMLINK_NOFOLLOW/AT_EMPTY_PATH) this is fchmodat2, falling back to an
   * O_PATH handle re-opened through /proc; a symlink gives EOPNOTSUPP. */
  fchmodat(dirfd: number, path: PathArg, mode: number, flags: number): void;
  fchmod(fd: number, mode: number): void;
  utimensat(dirfd: number, path: PathArg, aSec: number, aNsec: number, mSec: number, mNsec: number, flags: number): void;
  futimens(fd: number, aSec: number, aNsec: number, mSec: number, mNsec: number): void;
  /** fchown (unless uid and gid are -1), fchmod (unless mode is -1), fsetxattr each pair,
   * futimens, close. Closes the fd even on failure. */
  finishFd(
    fd: number, uid: number, gid: number, mode: number,
    xattrNames: string[] | null, xattrValues: Buffer[] | null,
    aSec: number, aNsec: number, mSec: number, mNsec: number,
  ): void;
  /** A whole file: openat(dirfd, name, O_WRONLY|O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC,
   * createMode), data[dataOff, +dataLen) written, then finishFd's steps and close; with a
   * `digest` Buffer (only when sha256Ready()), the content's SHA-256 in its first 32 bytes. */
  writeFileAt(
    dirfd: number, name: PathArg, createMode: number, data: Buffer, dataOff: number, dataLen: number,
    uid: number, gid: number, mode: number, xattrNames: string[] | null, xattrValues: Buffer[] | null,
    aSec: number, aNsec: number, mSec: number, mNsec: number, digest: Buffer | null,
  ): void;
  /** The same for `name` in dirfd without following it (no chmod on a symlink); returns the
   * st_mode it had before. */
  setMetaAt(
    dirfd: number, name: PathArg, uid: number, gid: number, mode: number,
    xattrNames: string[] | null, xattrValues: Buffer[] | null,
    aSec: number, aNsec: number, mSec: number, mNsec: number,
  ): number;
  fsetxattr(fd: number, name: string, value: Buffer, flags: number): void;
  lsetxattr(path: PathArg, name: string, value: Buffer, flags: number): void;
  /** lsetxattr on /proc/self/fd/<dirfd>/<entry>; entry is one component. */
  lsetxattrat(dirfd: number, entry: PathArg, name: string, value: Buffer, flags: number): void;
  flistxattr(fd: number): string[];
  llistxattr(path: PathArg): string[];
  /** entry '' means the directory open at dirfd itself. */
  llistxattrat(dirfd: number, entry: PathArg): string[];
  fgetxattr(fd: number, name: string): Buffer;
  lgetxattr(path: PathArg, name: string): Buffer;
  lgetxattrat(dirfd: number, entry: PathArg, name: string): Buffer;
  /** ioctl(dstFd, FICLONE, srcFd): share src's extents (EOPNOTSUPP/EXDEV/EINVAL where unsupported). */
  ficlone(dstFd: number, srcFd: number): void;
  /** syncfs(2): flushes the whole file system `fd` is on. */
  syncfs(fd: number): void;
  /** copy_file_range from offset 0 of src to offset 0 of dst; returns the bytes copied. */
  copyFileRange(srcFd: number, dstFd: number, length: number): number;
  /** fsopen(fsname, FSOPEN_CLOEXEC): a file system context fd. */
  fsopen(fsname: string): number;
  /** fsconfig(fd, FSCONFIG_SET_STRING, key, value), or FSCONFIG_SET_FLAG when value is null. */
  fsconfigSet(fd: number, key: string, value: string | null): void;
  /** fsconfig(fd, FSCONFIG_CMD_CREATE). */
  fsconfigCreate(fd: number): void;
  /** fsmount(fd, FSMOUNT_CLOEXEC, 0): a detached mount's fd. */
  fsmount(fd: number): number;
  /** move_mount(mountFd, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH). */
  moveMount(mountFd: number, target: PathArg): void;
  /** The messages queued on a file system context fd ("e overlay: ..."). */
  fsMessages(fd: number): string[];
  umount2(target: PathArg, flags: number): void;
  /** A file writer thread with an arena of `arenaBytes` for queued content. */
  writerOpen(arenaBytes: number): NativeWriterHandle;
  /** Queue data[off, +len) for fd at pos (copied; waits while the arena is full). Throws a
   * failure kept from earlier queued work (its `file` property is the id it was queued with). */
  /** With `hash`, the content is also hashed in order (every write and the finish of a file say the same). */
  writerWrite(w: NativeWriterHandle, fd: number, file: number, data: Buffer, off: number, len: number, pos: number, hash: boolean): void;
  /** Queue fd's finish: ftruncate(truncate) when >= 0, owner (-1: unchanged), mode (-1:
   * unchanged), times, close. The fd belongs to the writer from here on. With `hash`, the
   * content's SHA-256 (holes as zeros, up to `truncate` when >= 0) comes with the next drain. */
  writerFinish(
    w: NativeWriterHandle, fd: number, file: number, uid: number, gid: number, mode: number,
    aSec: number, aNsec: number, mSec: number, mNsec: number, truncate: number, hash: boolean,
  ): void;
  /** Wait for all queued work; throws the kept failure, if any. Returns the digests of the
   * hashed files finished since the last drain: 36-byte records (int32 file id, little-endian,
   * then 32 bytes of SHA-256). */
  writerDrain(w: NativeWriterHandle): Buffer;
  /** Drain and stop the thread (idempotent; never throws the work's failure). */
  writerClose(w: NativeWriterHandle): void;
  /** Whether OpenSSL's SHA-256 was found in this process (and answers its known value). */
  sha256Ready(): boolean;
  /** Whether this CPU has SHA-NI: two SHA-256 streams can be hashed together. */
  sha256PairReady(): boolean;
  /** Two fresh SHA-256 streams (ENOSYS without SHA-NI). */
  sha256PairOpen(): NativeSha256Pair;
  /** a[aOff, +aLen) into stream 0, b[bOff, +bLen) into stream 1 (null: nothing), whole blocks of both interleaved. */
  sha256PairUpdate(pair: NativeSha256Pair, a: Buffer | null, aOff: number, aLen: number, b: Buffer | null, bOff: number, bLen: number): void;
  /** The 32-byte digest of stream `lane`; that stream takes no more bytes. */
  sha256PairDigest(pair: NativeSha256Pair, lane: 0 | 1): Buffer;
  /** Which streaming decoders loaded (ISA-L's igzip, libzstd; both dlopen()ed at first use). */
  decoders(): { gzip: boolean; zstd: boolean };
  /** A streaming decoder; ENOTSUP when its library is absent. */
  decoderOpen(kind: 'gzip' | 'zstd'): NativeDecoderHandle;
  /** Decodes input[inOff, +inLen) into out[outOff, +outLen); result gets [taken, made].
   * Call again while the output came out full or input is left; inLen 0 drains. Corrupt
   * data throws an Error with code EDECODE (the decoder is freed). */
  decoderRun(dec: NativeDecoderHandle, input: Buffer, inOff: number, inLen: number, out: Buffer, outOff: number, outLen: number, result: Uint32Array): void;
  /** End of input: EDECODE unless the stream ended after a whole member/frame; frees it. */
  decoderEnd(dec: NativeDecoderHandle): void;
  /** Frees the decoder now (idempotent). */
  decoderClose(dec: NativeDecoderHandle): void;
  constants: NativeConstants;
}

/** An opaque file writer owned by the addon. */
export type NativeWriterHandle = { readonly __nativeWriter: unique symbol };

/** Two SHA-256 streams owned by the addon. */
export type NativeSha256Pair = { readonly __nativeSha256Pair: unique symbol };

/** An opaque decoder state owned by the addon. */
export type NativeDecoderHandle = { readonly __nativeDecoder: unique symbol };

export interface NativeConstants {
  O_RDONLY: number; O_WRONLY: number; O_RDWR: number; O_CREAT: number; O_EXCL: number;
  O_TRUNC: number; O_APPEND: number; O_NOFOLLOW: number; O_DIRECTORY: number; O_CLOEXEC: number;
  O_PATH: number; O_NONBLOCK: number; O_NOCTTY: number; O_NOATIME: number; O_TMPFILE: number;
  AT_FDCWD: number; AT_SYMLINK_NOFOLLOW: number; AT_SYMLINK_FOLLOW: number; AT_REMOVEDIR: number;
  AT_EMPTY_PATH: number;
  RESOLVE_NO_XDEV: number; RESOLVE_NO_MAGICLINKS: number; RESOLVE_NO_SYMLINKS: number;
  RESOLVE_BENEATH: number; RESOLVE_IN_ROOT: number;
  S_IFMT: number; S_IFREG: number; S_IFDIR: number; S_IFLNK: number; S_IFCHR: number;
  S_IFBLK: number; S_IFIFO: number; S_IFSOCK: number;
  RENAME_NOREPLACE: number; RENAME_EXCHANGE: number; RENAME_WHITEOUT: number;
  UTIME_NOW: number; UTIME_OMIT: number;
  XATTR_CREATE: number; XATTR_REPLACE: number;
  PATH_MAX: number;
  MNT_DETACH: number;
}

/** Built by `npm install` (node-gyp) in the package root. */
const ADDON_PATH = 'native/build/Release/ocibundle_native.node';

let cached: NativeAddon | null = null;

/** The addon, loaded once. Throws OciBundleError('ENATIVE') when it is not built. */
export function native(): NativeAddon {
  cached ??= loadAddon(ADDON_PATH);
  return cached;
}

/** Loads the addon at `path` (from the package root); ENATIVE, with how to build it, if it cannot be. */
export function loadAddon(path: string): NativeAddon {
  const resolved = fileURLToPath(packageFile(path));
  try {
    return createRequire(import.meta.url)(resolved) as NativeAddon;
  } catch (e) {
    // A missing file says only "Cannot find module" plus a require stack: not worth printing.
    const missing = (e as { code?: unknown }).code === 'MODULE_NOT_FOUND';
    throw new OciBundleError('ENATIVE', `native addon ${missing ? 'not built' : 'not loadable'}: ${resolved}`, {
      ...(missing ? {} : { cause: e }),
      hint: 'build it with g++, make and python3 installed: `npm rebuild -g ocibundle` for a global install, `npm rebuild ocibundle` in a project that depends on it, `npm run build:native` in a checkout',
    });
  }
}
