// A directory held open by file descriptor, for writing into places an attacker may have
// prepared (a copy destination, a blob cache). Every operation names ONE component below the
// open directory as /proc/self/fd/<fd>/<name>: the kernel resolves the magic link to the very
// directory we opened, and each name is created or opened with O_NOFOLLOW/O_EXCL, so a symlink
// planted at any level, before or during the run, is refused rather than followed. Node has no
// *at() calls and image/ may not use the native addon (src/fs/), hence /proc; without /proc
// it refuses to write. Knows nothing of OCI.
import { constants as C, promises as fsp, type Stats } from 'node:fs';
import { OciBundleError, type ErrorCode } from '../errors.js';
import { CREATE_EXCL, clearDeadTemps, tempName, type ClearOptions } from '../host/temp.js';

const OPEN_DIR = C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW;

function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | null)?.code;
}

let procChecked: Promise<void> | undefined;
function needProc(): Promise<void> {
  procChecked ??= fsp.stat('/proc/self/fd').then(
    () => undefined,
    (e: unknown) => {
      procChecked = undefined;
      throw new OciBundleError('EIO', 'cannot write safely: /proc/self/fd is not available (mount /proc)', { cause: e });
    },
  );
  return procChecked;
}

function checkName(name: string): void {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
    throw new OciBundleError('EIO', `internal error: ${JSON.stringify(name)} is not a single path component`);
  }
}

export class DirHandle {
  private constructor(
    private readonly fh: fsp.FileHandle,
    /** The path shown in messages. */
    readonly shown: string,
    /** The error code for a symlink or non-directory found where a directory must be. */
    private readonly hostile: ErrorCode,
  ) {}

  /**
   * Opens a directory the user named (a symlink there is followed: the user chose it). Below
   * it, nothing is followed. `hostile` is the code for what sub() refuses (default EBADLAYOUT).
   */
  static async open(path: string, hostile: ErrorCode = 'EBADLAYOUT'): Promise<DirHandle> {
    await needProc();
    let fh: fsp.FileHandle;
    try {
      fh = await fsp.open(path, C.O_RDONLY | C.O_DIRECTORY);
    } catch (e) {
      throw new OciBundleError(errno(e) === 'ENOENT' ? 'ENOLAYOUT' : 'EIO', `cannot open directory ${path}`, { cause: e });
    }
    return new DirHandle(fh, path, hostile);
  }

  /** /proc/self/fd/<fd>/<name>: a path that resolves `name` inside this very directory. */
  at(name: string): string {
    checkName(name);
    return `/proc/self/fd/${this.fh.fd}/${name}`;
  }

  shownAt(name: string): string {
    return `${this.shown}/${name}`;
  }

  /** The subdirectory `name`, created (mode 0755) when `create`; a symlink or non-directory there is refused. */
  async sub(name: string, create: boolean): Promise<DirHandle> {
    const p = this.at(name);
    if (create) {
      try {
        await fsp.mkdir(p, { mode: 0o755 });
      } catch (e) {
        if (errno(e) !== 'EEXIST') throw new OciBundleError('EIO', `cannot create directory ${this.shownAt(name)}`, { cause: e });
      }
    }
    let fh: fsp.FileHandle;
    try {
      fh = await fsp.open(p, OPEN_DIR);
    } catch (e) {
      const code = errno(e);
      if (code === 'ELOOP' || code === 'ENOTDIR') {
        const link = (await fsp.lstat(p).catch(() => undefined))?.isSymbolicLink() ?? code === 'ELOOP';
        throw new OciBundleError(this.hostile, `${this.shownAt(name)} is ${link ? 'a symlink' : 'not a directory'}; refused (ocibundle never writes through a symlink it did not make)`, { cause: e });
      }
      if (code === 'ENOENT') throw new OciBundleError(create ? 'EIO' : 'ENOBLOB', `${this.shownAt(name)} does not exist`, { cause: e });
      throw new OciBundleError('EIO', `cannot open directory ${this.shownAt(name)}`, { cause: e });
    }
    return new DirHandle(fh, this.shownAt(name), this.hostile);
  }

  /** A new temp file of `kind` (host/temp.ts names), created exclusively, never through a link; retried on a clash. */
  async createTemp(kind: string, mode = 0o644): Promise<{ name: string; fh: fsp.FileHandle }> {
    for (let i = 0; ; i++) {
      const name = tempName(kind);
      try {
        return { name, fh: await fsp.open(this.at(name), CREATE_EXCL, mode) };
      } catch (e) {
        if (errno(e) !== 'EEXIST' || i >= 8) throw new OciBundleError('EIO', `cannot create a temp file in ${this.shown}`, { cause: e });
      }
    }
  }

  /** Opens the regular file `name` for reading, never following a symlink or blocking on a fifo; undefined if absent. */
  async openRead(name: string): Promise<{ fh: fsp.FileHandle; st: Stats } | undefined> {
    let fh: fsp.FileHandle;
    try {
      fh = await fsp.open(this.at(name), C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK | C.O_NOCTTY);
    } catch (e) {
      const code = errno(e);
      if (code === 'ENOENT') return undefined;
      if (code === 'ELOOP' || code === 'ENXIO' || code === 'ENODEV' || code === 'EOPNOTSUPP') {
        throw new OciBundleError(this.hostile, `${this.shownAt(name)} is not a regular file; refused`, { cause: e });
      }
      throw new OciBundleError('EIO', `cannot open ${this.shownAt(name)}`, { cause: e });
    }
    const st = await fh.stat();
    if (!st.isFile()) {
      await fh.close();
      throw new OciBundleError(this.hostile, `${this.shownAt(name)} is not a regular file; refused`);
    }
    return { fh, st };
  }

  /** lstat of `name`; undefined if absent. */
  async lstat(name: string): Promise<Stats | undefined> {
    try {
      return await fsp.lstat(this.at(name));
    } catch (e) {
      if (errno(e) === 'ENOENT') return undefined;
      throw new OciBundleError('EIO', `cannot stat ${this.shownAt(name)}`, { cause: e });
    }
  }

  /** Renames `from` to `to`, both in this directory (rename never follows either name). */
  async rename(from: string, to: string): Promise<void> {
    try {
      await fsp.rename(this.at(from), this.at(to));
    } catch (e) {
      throw new OciBundleError('EIO', `cannot rename ${this.shownAt(from)} to ${to}`, { cause: e });
    }
  }

  /** Unlinks `name` (a symlink itself, never what it points at); false if it was absent. */
  async unlink(name: string): Promise<boolean> {
    try {
      await fsp.unlink(this.at(name));
      return true;
    } catch (e) {
      if (errno(e) === 'ENOENT') return false;
      throw new OciBundleError('EIO', `cannot remove ${this.shownAt(name)}`, { cause: e });
    }
  }

  /** Removes the temps of dead owners in this directory (host/temp.ts rules), by fd. */
  clearDeadTemps(opts?: ClearOptions): Promise<string[]> {
    return clearDeadTemps(`/proc/self/fd/${this.fh.fd}`, opts);
  }

  async list(): Promise<string[]> {
    return fsp.readdir(`/proc/self/fd/${this.fh.fd}`);
  }

  async sync(): Promise<void> {
    await this.fh.sync();
  }

  async close(): Promise<void> {
    await this.fh.close().catch(() => undefined);
  }
}

/** Opens root/names[0]/names[1]/... (created when `create`); close() closes every handle. */
export async function openDirChain(root: string, names: readonly string[], create: boolean, hostile?: ErrorCode): Promise<{ dir: DirHandle; close(): Promise<void> }> {
  const chain: DirHandle[] = [await DirHandle.open(root, hostile)];
  const close = async () => {
    for (const d of chain.reverse()) await d.close();
  };
  try {
    for (const n of names) chain.push(await chain[chain.length - 1]!.sub(n, create));
  } catch (e) {
    await close();
    throw e;
  }
  return { dir: chain[chain.length - 1]!, close };
}

/** Runs `fn` on the directory chain root/names[0]/names[1]/..., closing every handle afterwards. */
export async function withDirChain<T>(root: string, names: readonly string[], create: boolean, fn: (dir: DirHandle) => Promise<T>, hostile?: ErrorCode): Promise<T> {
  const c = await openDirChain(root, names, create, hostile);
  try {
    return await fn(c.dir);
  } finally {
    await c.close();
  }
}
