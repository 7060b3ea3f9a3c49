// The layer applier: turns tar entries (from src/layer/tar.ts) into rootfs changes through
// RootFS, the only thing that touches the disk. Owns the semantics: whiteouts and opaque dirs,
// clobbering, implicit parents, hardlinks, devices, metadata order, deferred directory times,
// xattr policy, rootless ownership and id maps, size limits. Never builds host paths.
import { closeSync, ftruncateSync, statfsSync, writeSync } from 'node:fs';
import { OciBundleError, type WarnFn } from '../errors.js';
import type { Meta, RootFS, Time } from '../fs/rootfs.js';
import type { TarEntry, TarHandler } from './tar.js';
import { cleanEntryPath, isWithin, parentOf } from './paths.js';
import { grown, PathTable, ROOT } from './path-table.js';
import { classifyWhiteout, LayerAdds } from './whiteout.js';
import { decideXattr } from './xattrs.js';
import { mapId, rootlessXattr, type IdMap } from './ids.js';
import type { Applied, ApplyObserver } from './observer.js';
import { cloneContent } from '../fs/clone.js';
import { FileWriter } from '../fs/file-writer.js';

export interface ApplyOptions {
  /** No chown; owners recorded in user.rootlesscontainers; devices become empty files. */
  rootless?: boolean;
  uidMap?: IdMap[];
  gidMap?: IdMap[];
  /** Keep a lower layer's symlink to a directory when an upper layer has a directory there. */
  keepDirlinks?: boolean;
  /** Cap on the file bytes written over the whole unpack (ELIMIT beyond). */
  maxBytes?: number;
  /** The directory whose file system holds the rootfs, for free-space checks. */
  diskPath?: string;
  warn?: WarnFn;
  /** Told about every object written and removed (src/build records the bundle's mtree). */
  observer?: ApplyObserver;
  /**
   * 'overlay': write one layer as an overlayfs lower directory (the layer store): whiteouts
   * become 0:0 character devices and opaque directories get `opaqueXattr`, instead of
   * deleting lower content. Default 'flat': apply onto the rootfs built so far.
   */
  format?: 'flat' | 'overlay';
  /** The opaque-directory xattr of the overlay format (trusted.overlay.opaque as root). */
  opaqueXattr?: string;
  /**
   * Entries come from the layer store, already mapped and filtered: owners and xattrs are
   * applied as given (no id maps, no xattr policy, no rootless re-encoding).
   */
  verbatim?: boolean;
  /**
   * Hand file content and each file's finishing steps to a writer thread (src/fs/file-writer.ts;
   * files with xattrs and rootless mode stay on this thread). Every layer must then end with
   * the handler's flush(), and the applier with finish() or abort().
   */
  threadedWrites?: boolean;
}

/** A TarHandler that can also take a file's content from an open fd (reflink or copy). */
export interface LayerHandler extends TarHandler {
  /** `sha256`: the content's digest when the caller knows it (the store's manifest). */
  onContent(srcFd: number, size: number, sha256?: string): void;
  /** After the layer's last entry: wait for its queued writes; throws their first failure. */
  flush(): void;
}

export interface ApplyStats {
  entries: number;
  files: number;
  bytes: number;
  whiteouts: number;
}

interface DirTimes {
  atime: Time;
  mtime: Time;
  mode: number;
  uid: number;
  gid: number;
}

const DISK_RECHECK_BYTES = 256 * 1024 * 1024;
/** Kept free on large file systems only: 1% of their size, at most 64 MiB; none below 1 GiB. */
const RESERVE_FROM_BYTES = 1024 * 1024 * 1024;
const RESERVE_FRACTION = 0.01;
const RESERVE_MAX_BYTES = 64 * 1024 * 1024;
const MAX_DEV = 0xffffffff;
/** Zeros fed to the observer for sparse holes (they are file bytes too). */
const ZEROS = Buffer.alloc(64 * 1024);
/** Longest rootfs-relative path accepted: '/' + path + NUL must fit Linux's PATH_MAX (4096). */
const MAX_PATH_BYTES = 4094;
/** `fd` of a regular file entry not created yet: its content may still come in one piece. */
const DEFERRED = -2;
/** Files from this size on go to the writer thread (smaller ones cost more to hand over than to write). */
const THREADED_MIN_BYTES = 1024 * 1024;

export class Applier {
  readonly stats: ApplyStats = { entries: 0, files: 0, bytes: 0, whiteouts: 0 };
  /** Every path written, interned once (shared with the observer when it has a table). */
  private readonly paths: PathTable;
  private readonly adds: LayerAdds;
  /** Per node: 1 for directories known to exist as real directories (not symlinks), for cheap parent checks. */
  private known = new Uint8Array(1024);
  /** Declared metadata of every directory by node, applied after all layers (children change mtimes). */
  private readonly dirTimes = new Map<number, DirTimes>();
  private readonly rootless: boolean;
  private readonly uidMap: IdMap[];
  private readonly gidMap: IdMap[];
  private readonly warn: WarnFn;
  private readonly unprivileged = process.getuid?.() !== 0;
  private fd = -1;
  private fdPath = '';
  private fdMeta: Meta | null = null;
  /** The open file's write offset, its size once done (sparse: with holes), its mode to restore. */
  private fdPos = 0;
  private fdSparse = false;
  private fdDeclaredMode = -1;
  /** The permission bits the open (or deferred) file is created with. */
  private fdCreateMode = 0;
  /** The metadata a file written in one call ended up with (its xattrs may have been refused). */
  private fdWhole: Meta | null = null;
  /** The writer thread (threadedWrites; started at the first large file), and whether the open file's writes go there (its id). */
  private writer: FileWriter | null = null;
  private writerStopped = false;
  private fdThreaded = false;
  private fdId = -1;
  /** The open threaded file's digest token (-1: not hashed by the writer). */
  private fdToken = -1;
  private freeBytes = Number.POSITIVE_INFINITY;
  private reserve = 0;
  private blockSize = 1;
  private bytesSinceDiskCheck = 0;
  private readonly xattrWarned = new Set<string>();
  /** Devices made empty files in rootless mode: one WDEVICE at the end, with the first path. */
  private rootlessDevices = 0;
  private firstRootlessDevice: string | undefined;
  /** With id maps: the host ids of container root, owner of the rootfs and implicit parents. */
  private readonly rootOwner: { uid: number; gid: number } | null;
  private readonly obs: ApplyObserver | undefined;
  /** File contents are hashed natively where they are written (observer given, OpenSSL found). */
  private readonly nativeHash: boolean;
  /** Where writeFile() puts a small file's digest. */
  private readonly digestOut = Buffer.alloc(32);
  /** Tokens of files hashed by the writer thread (observer's digestOf). */
  private pendingNo = 0;
  private fdObserved = false;
  /** The observer gets the open file's bytes through data() (nobody else hashes them). */
  private fdData = false;
  private fdSize = 0;
  private readonly overlay: boolean;
  /** Overlay format: paths of this layer that hold a whiteout device. */
  private readonly whiteouts = new Set<string>();
  /** Directories of the current layer that no entry declared (created as missing parents). */
  readonly implicitDirs = new Set<string>();

  constructor(
    private readonly fs: RootFS,
    private readonly opts: ApplyOptions = {},
  ) {
    this.rootless = opts.rootless ?? false;
    this.uidMap = opts.uidMap ?? [];
    this.gidMap = opts.gidMap ?? [];
    this.warn = opts.warn ?? (() => {});
    this.rootOwner = this.rootless || (this.uidMap.length === 0 && this.gidMap.length === 0) ? null : mappedRoot(this.uidMap, this.gidMap);
    // The runtime's mapped root must own the rootfs (it mounts /proc there), as umoci does.
    if (this.rootOwner) fs.chown('.', this.rootOwner.uid, this.rootOwner.gid);
    this.obs = opts.observer;
    this.nativeHash = this.obs !== undefined && fs.hashesNatively();
    this.paths = opts.observer?.paths ?? new PathTable();
    this.adds = new LayerAdds(this.paths);
    this.known[ROOT] = 1;
    this.overlay = opts.format === 'overlay';
    this.refreshFreeSpace();
  }

  /** True when the current layer had an entry for the root directory itself. */
  get rootDeclared(): boolean {
    return this.dirTimes.has(ROOT);
  }

  /** A TarHandler for the next layer; entries of one layer never remove each other. */
  layer(): LayerHandler {
    this.adds.clear();
    this.whiteouts.clear();
    this.implicitDirs.clear();
    return {
      onEntry: (e) => this.onEntry(e),
      onData: (chunk) => this.onData(chunk),
      onHole: (bytes) => this.onHole(bytes),
      onContent: (fd, size, sha256) => this.onContent(fd, size, sha256),
      onEntryEnd: () => this.onEntryEnd(),
      flush: () => this.drainWriter(),
    };
  }

  /** After the last layer: restore directory modes (rootless) and times, deepest first. */
  finish(): void {
    this.drainWriter();
    this.stopWriter();
    this.closeOpenFile();
    if (this.rootlessDevices > 0) {
      const n = this.rootlessDevices;
      this.warn({ code: 'WDEVICE', message: `${n} device node${n === 1 ? '' : 's'} written as empty files in rootless mode, first ${this.firstRootlessDevice}` });
    }
    const depths = new Map<number, number>();
    for (const id of this.dirTimes.keys()) depths.set(id, this.depth(id));
    const ids = [...this.dirTimes.keys()].sort((a, b) => depths.get(b)! - depths.get(a)!);
    for (const id of ids) {
      const t = this.dirTimes.get(id)!;
      const dir = this.paths.path(id);
      try {
        if (this.rootless && this.unprivileged) {
          this.fs.setMeta(dir, { uid: t.uid, gid: t.gid, mode: t.mode, atime: t.atime, mtime: t.mtime, chown: false });
        } else {
          this.fs.setTimes(dir, t.atime, t.mtime);
        }
      } catch (e) {
        if ((e as { code?: string }).code !== 'ENOENT') throw e;
      }
    }
  }

  /** Close a file left open by a failed stream, without applying its metadata. */
  abort(): void {
    // the writer may still write to the open file: let it finish before that fd is closed
    try {
      this.drainWriter();
    } catch {
      /* already failing */
    }
    this.stopWriter();
    this.closeOpenFile();
  }

  /** Wait for the writer's queue (throws its first failure); the digests it made go to the observer. */
  private drainWriter(): void {
    this.writer?.drain();
  }

  private stopWriter(): void {
    this.writer?.close();
    this.writer = null;
    this.writerStopped = true;
  }

  /** The writer thread for a file of `size` bytes, started on first use; null: write here. */
  private writerFor(size: number): FileWriter | null {
    if (size < THREADED_MIN_BYTES || !this.opts.threadedWrites || this.writerStopped) return null;
    this.writer ??= FileWriter.create((token, sha256) => this.obs?.digestOf(token, sha256));
    if (this.writer === null) this.writerStopped = true; // switched off by the environment
    return this.writer;
  }

  private closeOpenFile(): void {
    if (this.fd === DEFERRED) this.fd = -1;
    if (this.fd >= 0) {
      const fd = this.fd;
      this.fd = -1;
      try {
        closeSync(fd);
      } catch {
        /* already failing */
      }
    }
  }

  private onEntry(e: TarEntry): void {
    try {
      this.applyEntry(e);
    } catch (err) {
      // raw errno errors (a lookup through a hostile symlink, say) get a code and the name
      throw err instanceof OciBundleError ? err : this.wrap(err, e.name);
    }
  }

  private applyEntry(e: TarEntry): void {
    this.stats.entries++;
    const path = cleanEntryPath(e.name);
    if (path.length > MAX_PATH_BYTES / 4 && Buffer.byteLength(path) > MAX_PATH_BYTES) {
      throw new OciBundleError('EPATH', `entry path is longer than PATH_MAX (${Buffer.byteLength(path)} bytes): ${path.slice(0, 64)}...`);
    }
    const wh = classifyWhiteout(path);
    if (wh.kind === 'remove') {
      this.stats.whiteouts++;
      if (this.adds.touches(wh.target)) return;
      if (this.overlay) this.writeWhiteout(wh.target);
      else this.removePath(wh.target);
      return;
    }
    if (wh.kind === 'opaque') {
      this.stats.whiteouts++;
      if (this.overlay) this.markOpaque(wh.dir);
      else this.makeOpaque(wh.dir);
      return;
    }
    if (path === '.') {
      this.applyRootEntry(e);
      return;
    }
    const id = this.adds.add(path);
    this.ensureParents(path, id);
    switch (e.type) {
      case 'file':
        this.createFile(path, e);
        return;
      case 'dir':
        this.createDir(path, id, e);
        return;
      case 'symlink':
        this.createSymlink(path, e);
        return;
      case 'hardlink':
        this.createHardlink(path, e);
        return;
      case 'char':
      case 'block':
      case 'fifo':
        this.createNode(path, e);
        return;
    }
  }

  private onData(chunk: Buffer): void {
    if (this.fd === DEFERRED) {
      // the whole content in one piece (most files): create, write and finish in one call
      if (chunk.length === this.fdSize && !this.fdThreaded) return this.writeWhole(chunk);
      this.createDeferred();
    }
    if (this.fd < 0) return;
    if (this.fdData) this.obs!.data(chunk);
    if (this.fdThreaded) {
      this.writer!.write(this.fd, this.fdId, chunk, this.fdPos);
      this.fdPos += chunk.length;
      return;
    }
    let off = 0;
    while (off < chunk.length) {
      const n = writeSync(this.fd, chunk, off, chunk.length - off, this.fdPos);
      off += n;
      this.fdPos += n;
    }
  }

  /** A sparse file's hole: skipped, so the file system allocates nothing for it. */
  private onHole(bytes: number): void {
    if (this.fd === DEFERRED) this.createDeferred();
    if (this.fd < 0) return;
    this.fdPos += bytes;
    this.fdSparse = true;
    if (this.fdData) for (let left = bytes; left > 0; left -= ZEROS.length) this.obs!.data(left >= ZEROS.length ? ZEROS : ZEROS.subarray(0, left));
  }

  private onContent(srcFd: number, size: number, sha256?: string): void {
    if (this.fd === DEFERRED) this.createDeferred();
    if (this.fd < 0) return;
    if (this.fdThreaded) this.drainWriter(); // nothing queued for this fd may land after the copy
    cloneContent(srcFd, this.fd, size);
    this.fdPos = size;
    // content copied in the kernel never streams through data(): its known digest, else the observer walks
    if (!this.fdObserved) return;
    if (sha256 !== undefined) this.obs!.digest(sha256);
    else this.obs!.untracked('file content copied from the layer store');
  }

  private onEntryEnd(): void {
    if (this.fd === DEFERRED) {
      if (this.fdSize === 0) this.writeWhole(EMPTY); // an empty file: one call
      else this.createDeferred();
    }
    if (this.fdWhole !== null) {
      const set = this.fdWhole;
      this.fdWhole = null;
      this.restoreMode(this.fdPath, this.fdDeclaredMode, this.fdMeta!.mode);
      if (this.fdObserved) this.observe(this.fdPath, 'file', { ...set, mode: this.fdDeclaredMode }, undefined, this.fdSize);
      return;
    }
    if (this.fd < 0) return;
    const fd = this.fd;
    this.fd = -1;
    if (this.fdThreaded) {
      // no xattrs, no mode to restore: what is set is what was asked for
      this.writer!.finish(fd, this.fdId, this.fdMeta!, this.fdSparse ? this.fdPos : -1);
      const token = this.fdData ? undefined : this.fdToken; // hashed by the writer: its digest comes at the drain
      if (this.fdObserved) this.observe(this.fdPath, 'file', { ...this.fdMeta!, mode: this.fdDeclaredMode }, undefined, this.fdSize, token);
      return;
    }
    if (this.fdSparse) ftruncateSync(fd, this.fdPos); // a trailing hole: the size without blocks
    const set = this.finishWithXattrFallback(this.fdPath, this.fdMeta!, (m) => this.fs.finishFile(fd, m));
    this.restoreMode(this.fdPath, this.fdDeclaredMode, this.fdMeta!.mode);
    if (this.fdObserved) this.observe(this.fdPath, 'file', { ...set, mode: this.fdDeclaredMode }, undefined, this.fdSize);
  }

  // --- entry kinds ---------------------------------------------------------------------

  private createFile(path: string, e: TarEntry): void {
    this.reserveBytes(path, e.stored ?? e.size);
    // Created with its permission bits (the bundle is 0700, so nothing is exposed meanwhile):
    // finishFile can then skip the chmod when the umask left them as they are. Created when
    // its content starts (createDeferred), or in one call with all of it (writeWhole).
    this.fdCreateMode = e.mode & 0o777;
    this.stats.files++;
    this.fd = DEFERRED;
    this.fdWhole = null;
    this.fdPath = path;
    this.fdPos = 0;
    this.fdSparse = false;
    const meta = this.meta(path, e);
    this.fdDeclaredMode = meta.mode;
    this.fdMeta = { ...meta, mode: this.writableMode(meta.mode) };
    this.fdThreaded = this.fdMeta.mode === meta.mode && (meta.xattrs?.size ?? 0) === 0 && this.writerFor(e.size) !== null;
    this.fdSize = e.size;
    this.fdObserved = this.obs !== undefined;
    // a file for the writer thread is hashed there; one written whole, in writeWhole
    this.fdData = this.fdObserved && !(this.fdThreaded && this.nativeHash);
  }

  /** The deferred file's content comes in pieces (or holes, or an fd): create it now. */
  private createDeferred(): void {
    const path = this.fdPath;
    this.fd = -1;
    this.fd = this.replacing(path, () => this.fs.createFile(path, this.fdCreateMode));
    if (this.fdThreaded) {
      this.fs.handOff(this.fd);
      this.fdToken = this.fdData || !this.fdObserved ? -1 : this.pendingNo++;
      this.fdId = this.writer!.adopt(path, this.fdToken);
    }
  }

  /** The deferred file with all of its content: created, written, owned, timed and closed at once. */
  private writeWhole(data: Buffer): void {
    const path = this.fdPath;
    this.fd = -1;
    // the content's digest comes out of the same native call, while its bytes are at hand
    const digest = this.fdObserved && this.nativeHash && data.length > 0 ? this.digestOut : null;
    if (this.fdObserved && digest === null) this.obs!.data(data);
    const write = (m: Meta) => {
      try {
        this.fs.writeFile(path, this.fdCreateMode, data, 0, data.length, m, digest);
      } catch (err) {
        if (code(err) !== 'EEXIST') throw err;
        this.removePath(path); // something stands there: a new file always gets a new inode
        this.fs.writeFile(path, this.fdCreateMode, data, 0, data.length, m, digest);
      }
    };
    this.fdPos = data.length;
    this.fdWhole = this.finishWithXattrFallback(path, this.fdMeta!, write);
    if (digest !== null) this.obs!.digest(digest.toString('hex'));
  }

  private createDir(path: string, id: number, e: TarEntry): void {
    const meta = this.meta(path, e);
    try {
      this.fs.mkdir(path, 0o700);
    } catch (err) {
      if (code(err) !== 'EEXIST') throw this.wrap(err, path);
      const st = this.fs.lstat(path);
      if (st?.kind === 'symlink' && this.opts.keepDirlinks && this.leadsToDir(path)) {
        return; // umoci's --keep-dirlinks: the lower symlink stays and is followed
      }
      if (st?.kind !== 'dir') {
        this.removePath(path);
        this.fs.mkdir(path, 0o700);
        // a directory where this layer whited out lower content: hide that content
        if (this.whiteouts.delete(path)) meta.xattrs = new Map([...(meta.xattrs ?? []), [this.opaqueName(), OPAQUE_VALUE]]);
      }
    }
    this.setKnown(id, 1);
    this.implicitDirs.delete(path);
    const applied = this.rootless && this.unprivileged ? { ...meta, mode: meta.mode | 0o700 } : meta;
    const set = this.finishWithXattrFallback(path, applied, (m) => this.fs.setMeta(path, m));
    this.observe(path, 'dir', { ...set, mode: meta.mode });
    this.dirTimes.set(id, { atime: meta.atime, mtime: meta.mtime, mode: meta.mode, uid: meta.uid, gid: meta.gid });
  }

  private createSymlink(path: string, e: TarEntry): void {
    if (e.linkname === '') throw new OciBundleError('EPATH', `symlink with an empty target: ${path}`);
    this.replacing(path, () => this.fs.symlink(e.linkname, path));
    const set = this.finishWithXattrFallback(path, this.meta(path, e), (m) => this.fs.setMeta(path, m));
    this.observe(path, 'symlink', { ...set, mode: 0o777 }, e.linkname);
  }

  private createHardlink(path: string, e: TarEntry): void {
    const target = cleanEntryPath(e.linkname);
    if (target === '.') throw new OciBundleError('EPATH', `hardlink to the rootfs root: ${path}`);
    if (target === path) return; // a link to itself: the entry already is what it names
    const st = this.fs.lstat(target);
    if (st === null) {
      const where = this.overlay ? 'this layer (store mode cannot link across layers)' : 'the rootfs';
      throw new OciBundleError('EPATH', `hardlink ${path} names ${e.linkname}, which does not exist in ${where}`);
    }
    if (st.kind === 'dir') throw new OciBundleError('EPATH', `hardlink ${path} names a directory: ${e.linkname}`);
    this.replacing(path, () => this.fs.link(target, path));
    this.obs?.link(path, target);
  }

  private createNode(path: string, e: TarEntry): void {
    if (e.type !== 'fifo' && this.rootless) {
      this.rootlessDevices++;
      this.firstRootlessDevice ??= path;
      const fd = this.replacing(path, () => this.fs.createFile(path, 0o600));
      const meta = this.meta(path, e);
      const applied = this.writableMode(meta.mode);
      const set = this.finishWithXattrFallback(path, { ...meta, mode: applied }, (m) => this.fs.finishFile(fd, m));
      this.restoreMode(path, meta.mode, applied);
      this.observe(path, 'file', { ...set, mode: meta.mode }, undefined, 0);
      return;
    }
    const kind = e.type as 'char' | 'block' | 'fifo';
    if (kind !== 'fifo' && (!(e.devmajor >= 0 && e.devmajor <= MAX_DEV) || !(e.devminor >= 0 && e.devminor <= MAX_DEV))) {
      throw new OciBundleError('EPATH', `device ${path} has out-of-range numbers ${e.devmajor}:${e.devminor}`);
    }
    this.replacing(path, () => this.fs.mknod(path, kind, 0o600, e.devmajor, e.devminor));
    const set = this.finishWithXattrFallback(path, this.meta(path, e), (m) => this.fs.setMeta(path, m));
    this.observe(path, kind, set);
  }

  private applyRootEntry(e: TarEntry): void {
    if (e.type !== 'dir') {
      this.warn({ code: 'WROOTENTRY', message: `ignored a ${e.type} entry for the rootfs root: it cannot change type` });
      return;
    }
    const meta = this.meta('.', e);
    const set = this.finishWithXattrFallback('.', meta, (m) => this.fs.setMeta('.', m));
    this.observe('.', 'dir', set);
    this.dirTimes.set(ROOT, { atime: meta.atime, mtime: meta.mtime, mode: meta.mode, uid: meta.uid, gid: meta.gid });
  }

  // --- helpers -------------------------------------------------------------------------

  /**
   * Rootless as a non-root user, setting xattrs (user.rootlesscontainers) needs the owner's
   * write bit: a file gets u+rw until its content and xattrs are written, then its declared
   * mode (0400, 0000 ...) back, as umoci does. Root needs no such detour.
   */
  private writableMode(mode: number): number {
    return this.rootless && this.unprivileged ? mode | 0o600 : mode;
  }

  private restoreMode(path: string, declared: number, applied: number): void {
    if (declared === applied) return;
    try {
      this.fs.chmod(path, declared);
    } catch (err) {
      throw this.wrap(err, path);
    }
  }

  /**
   * Run `create`; when something already stands at `path`, remove it (a directory goes with
   * its whole tree) and try once more. A new file thus always gets a new inode.
   */
  private replacing<T>(path: string, create: () => T): T {
    try {
      return create();
    } catch (err) {
      if (code(err) !== 'EEXIST') throw this.wrap(err, path);
    }
    this.removePath(path);
    try {
      return create();
    } catch (err) {
      throw this.wrap(err, path);
    }
  }

  /** Make sure every ancestor of `path` exists; missing ones become 0755 (container) root directories. */
  private ensureParents(path: string, id = this.paths.intern(path)): void {
    const pid = this.paths.parentOf(id);
    if (this.isKnown(pid)) return;
    const parent = parentOf(path);
    this.ensureParents(parent, pid);
    const st = this.fs.lstat(parent);
    if (st?.kind === 'char' && this.whiteouts.delete(parent)) {
      // overlay format: `.wh.D` then `D/x` in one layer is an emptied D holding x
      this.fs.remove(parent);
      this.fs.mkdir(parent, 0o755);
      this.fs.setXattr(parent, this.opaqueName(), OPAQUE_VALUE);
      this.setKnown(pid, 1);
    } else if (st === null) {
      try {
        this.fs.mkdir(parent, 0o755);
        if (this.rootOwner) this.fs.chown(parent, this.rootOwner.uid, this.rootOwner.gid);
      } catch (err) {
        throw this.wrap(err, parent);
      }
      this.setKnown(pid, 1);
      this.obs?.implicitDir(parent);
      this.implicitDirs.add(parent);
    } else if (st.kind === 'dir') {
      this.setKnown(pid, 1);
    } else if (st.kind !== 'symlink') {
      throw new OciBundleError('EPATH', `cannot create ${path}: ${parent} is a ${st.kind}, not a directory`);
    } else {
      // A symlinked parent is resolved inside the rootfs by RootFS on every use (not cached);
      // it must lead to a directory there, or the entry has nowhere to go.
      let target;
      try {
        target = this.fs.stat(parent);
      } catch (err) {
        throw this.wrap(err, parent);
      }
      if (target?.kind !== 'dir') {
        throw new OciBundleError('EPATH', `cannot create ${path}: ${parent} is a symlink that does not lead to a directory inside the rootfs`);
      }
      this.obs?.untracked(`${path} is written through the symlink ${parent}`);
    }
  }

  /** Whether a symlink leads to a directory in the rootfs; a loop leads nowhere (as a dangling link). */
  private leadsToDir(path: string): boolean {
    try {
      return this.fs.stat(path)?.kind === 'dir';
    } catch (err) {
      if (code(err) === 'ELOOP') return false;
      throw this.wrap(err, path);
    }
  }

  private removePath(path: string): void {
    const st = this.fs.lstat(path);
    if (st === null) return;
    this.fs.remove(path);
    this.obs?.remove(path);
    if (st.kind === 'dir') this.forgetDirsUnder(path);
  }

  /** Opaque `dir`: delete every lower-layer entry below it, keeping what this layer wrote. */
  private makeOpaque(dir: string): void {
    const st = this.fs.lstat(dir);
    if (st === null || st.kind !== 'dir') return;
    const walk = (d: string): void => {
      for (const name of this.fs.readdir(d)) {
        const child = d === '.' ? name : `${d}/${name}`;
        if (!this.adds.touches(child)) {
          this.removePath(child);
        } else if (!this.adds.wrote(child) || this.fs.lstat(child)?.kind === 'dir') {
          walk(child);
        }
      }
    };
    walk(dir);
  }

  /** Overlay format: a 0:0 character device at `target` hides it in lower layers. */
  private writeWhiteout(target: string): void {
    this.ensureParents(target);
    this.replacing(target, () => this.fs.mknod(target, 'char', 0, 0, 0));
    this.whiteouts.add(target);
  }

  /** Overlay format: `dir` hides every lower-layer entry below it. */
  private markOpaque(dir: string): void {
    if (dir !== '.') {
      this.ensureParents(dir);
      const st = this.fs.lstat(dir);
      if (st?.kind !== 'dir') {
        if (st !== null) this.removePath(dir);
        this.fs.mkdir(dir, 0o755);
        this.implicitDirs.add(dir);
      }
      this.setKnown(this.paths.intern(dir), 1);
    }
    try {
      this.fs.setXattr(dir, this.opaqueName(), OPAQUE_VALUE);
    } catch (err) {
      throw this.wrap(err, dir);
    }
  }

  private opaqueName(): string {
    return this.opts.opaqueXattr ?? 'trusted.overlay.opaque';
  }

  /** A removed directory: it and every directory below it are no longer known, nor their times. */
  private forgetDirsUnder(path: string): void {
    const id = this.paths.find(path);
    if (id >= 0) {
      const forget = (n: number) => {
        if (n < this.known.length) this.known[n] = 0;
        this.dirTimes.delete(n);
      };
      if (id !== ROOT) forget(id);
      this.paths.forEachBelow(id, forget);
    }
    for (const d of this.implicitDirs) if (isWithin(d, path)) this.implicitDirs.delete(d);
  }

  private isKnown(id: number): boolean {
    return id < this.known.length && this.known[id] === 1;
  }

  private setKnown(id: number, v: 0 | 1): void {
    this.known = grown(this.known, id + 1);
    this.known[id] = v;
  }

  private depth(id: number): number {
    let n = 0;
    for (let p = id; p !== ROOT; p = this.paths.parentOf(p)) n++;
    return n;
  }

  private meta(path: string, e: TarEntry): Meta {
    if (this.opts.verbatim) return { uid: e.uid, gid: e.gid, mode: e.mode & 0o7777, atime: e.atime ?? e.mtime, mtime: e.mtime, xattrs: new Map(e.xattrs), chown: !this.rootless };
    const xattrs = new Map<string, Buffer>();
    for (const [name, value] of e.xattrs) {
      const d = this.overlay && isOverlayXattr(name) ? OVERLAY_XATTR_REFUSED : decideXattr(name, value, this.rootless);
      if (d.keep) xattrs.set(name, value);
      else if (d.warn) this.warn({ code: 'WXATTR', message: `${path}: ${d.warn}` });
    }
    let uid = e.uid;
    let gid = e.gid;
    if (this.rootless) {
      xattrs.delete('user.rootlesscontainers');
      const rl = rootlessXattr(uid, gid);
      if (rl) xattrs.set('user.rootlesscontainers', rl);
    } else {
      uid = mapId(this.uidMap, uid, 'uid', path);
      gid = mapId(this.gidMap, gid, 'gid', path);
    }
    return { uid, gid, mode: e.mode & 0o7777, atime: e.atime ?? e.mtime, mtime: e.mtime, xattrs, chown: !this.rootless };
  }

  /**
   * Apply metadata. When the kernel refuses an xattr (no xattr support on the file system,
   * user.* on a symlink or device, EPERM in rootless mode or a user namespace, a value too
   * big), the entry keeps the rest of its metadata and each kind of refusal warns once.
   * Any other failure is an error.
   */
  private finishWithXattrFallback(path: string, meta: Meta, apply: (m: Meta) => void): Meta {
    try {
      apply(meta);
      return meta;
    } catch (err) {
      const syscall = (err as { syscall?: unknown }).syscall;
      const xattrFailed = typeof syscall === 'string' && syscall.includes('xattr');
      if (!xattrFailed || !meta.xattrs || meta.xattrs.size === 0) throw this.wrap(err, path);
      const c = code(err) ?? 'EIO';
      // Capabilities are what a file does (ping, newuidmap): each loss is named.
      if (meta.xattrs.has('security.capability')) {
        this.warn({ code: 'WCAPABILITY', message: `${path} lost security.capability (${c}): it runs without its file capabilities` });
      }
      if (!this.xattrWarned.has(c)) {
        this.xattrWarned.add(c);
        this.warn({ code: 'WXATTR', message: `extended attributes not applied (${c}), first at ${path}` });
      }
      const bare = { ...meta, xattrs: new Map() };
      this.fs.setMeta(path, bare);
      return bare;
    }
  }

  /** Tell the observer what now stands at `path`, owned as written to disk. */
  private observe(path: string, kind: Applied['kind'], m: Meta, link?: string, size?: number, pending?: number): void {
    if (!this.obs) return;
    const own = m.chown !== false;
    const a: Applied = {
      kind, mode: m.mode & 0o7777, mtime: m.mtime, xattrs: m.xattrs ?? new Map(),
      uid: own ? m.uid : (process.geteuid?.() ?? 0), gid: own ? m.gid : (process.getegid?.() ?? 0),
    };
    if (link !== undefined) a.link = link;
    if (size !== undefined) a.size = size;
    if (pending !== undefined) a.pending = pending;
    this.obs.put(path, a);
  }

  private reserveBytes(path: string, size: number): void {
    const total = this.stats.bytes + size;
    if (this.opts.maxBytes !== undefined && total > this.opts.maxBytes) {
      throw new OciBundleError('ELIMIT', `unpacked size would exceed --max-size ${this.opts.maxBytes} bytes at ${path}`);
    }
    this.bytesSinceDiskCheck += size;
    if (this.bytesSinceDiskCheck > DISK_RECHECK_BYTES) this.refreshFreeSpace();
    // What the file takes on disk: its data rounded up to whole blocks.
    const need = Math.ceil(size / this.blockSize) * this.blockSize;
    if (need > this.freeBytes - this.reserve) {
      this.refreshFreeSpace(); // the estimate only counts down: whiteouts and replaced files free space
      if (need > this.freeBytes - this.reserve) {
        const kept = this.reserve > 0 ? `, ${this.reserve} of them kept in reserve` : '';
        throw new OciBundleError('ELIMIT', `${path} needs ${size} bytes, ${Math.max(0, this.freeBytes)} free on the target file system${kept}`);
      }
    }
    this.freeBytes -= need;
    this.stats.bytes = total;
  }

  private refreshFreeSpace(): void {
    this.bytesSinceDiskCheck = 0;
    if (!this.opts.diskPath) return;
    this.drainWriter(); // queued content is not on the file system yet: statfs would see too much free
    const s = statfsSync(this.opts.diskPath);
    // ramfs and some FUSE file systems report no size at all (0 blocks): nothing to check.
    if (Number(s.blocks) === 0) {
      this.freeBytes = Number.POSITIVE_INFINITY;
      return;
    }
    const size = Number(s.blocks) * Number(s.bsize);
    this.blockSize = Math.max(1, Number(s.bsize));
    this.freeBytes = Number(s.bavail) * Number(s.bsize);
    this.reserve = size < RESERVE_FROM_BYTES ? 0 : Math.min(RESERVE_MAX_BYTES, Math.floor(size * RESERVE_FRACTION));
  }

  private wrap(err: unknown, path: string): Error {
    if (err instanceof OciBundleError) return err;
    const c = code(err) ?? 'EIO';
    // ELOOP (a symlink loop) and ENAMETOOLONG (a name over NAME_MAX) come from the image
    // (a permission or disk-full cause gives the error its own class; see OciBundleError).
    const kind = c === 'ELOOP' || c === 'ENAMETOOLONG' ? 'EPATH' : 'EIO';
    const e = new OciBundleError(kind, `cannot write ${path === '.' ? 'the rootfs directory' : path}`, { cause: err });
    const syscall = (err as { syscall?: unknown }).syscall;
    if (c === 'EPERM' && !this.rootless && typeof syscall === 'string' && /chown|mknod/.test(syscall) && process.getuid?.() !== 0) {
      e.hint = 'only root may set owners and make devices: use --rootless';
    }
    return e;
  }
}

/** Host uid:gid of container 0:0 under the maps; -1 (unchanged) for a side whose 0 is unmapped. */
function mappedRoot(uidMap: IdMap[], gidMap: IdMap[]): { uid: number; gid: number } {
  const host = (maps: IdMap[]) => (maps.length === 0 ? 0 : (maps.find((m) => m.containerID === 0)?.hostID ?? -1));
  return { uid: host(uidMap), gid: host(gidMap) };
}

const OPAQUE_VALUE = Buffer.from('y');
const EMPTY = Buffer.alloc(0);
const OVERLAY_XATTR_REFUSED = { keep: false, warn: 'overlay xattrs of an image are not applied in store mode' } as const;

/** Names an overlay file system reads as its own (trusted.* never reaches a rootfs anyway). */
function isOverlayXattr(name: string): boolean {
  return name.startsWith('user.overlay.') || name.startsWith('user.fuseoverlayfs.');
}

function code(err: unknown): string | undefined {
  return (err as { code?: string } | null)?.code;
}
