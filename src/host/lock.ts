// Inter-process lock files: created with O_CREAT|O_EXCL|O_NOFOLLOW and held with flock(2) for
// as long as the owner holds the lock, so a lock whose owner is gone (killed, or one that
// could not even write its pid on a full disk) is told apart at once: its flock is free.
// The owner's token in the file is only for messages. Knows nothing of what is locked.
import { closeSync, constants as C, fstatSync, ftruncateSync, lstatSync, openSync, promises as fsp, unlinkSync, writeSync } from 'node:fs';
import { OciBundleError } from '../errors.js';
import { native } from '../fs/native.js';
import { ownerToken, tokenAlive } from './owner.js';
import { CREATE_EXCL } from './temp.js';

export type Release = () => Promise<void>;

const OPEN_PEEK = C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK;
const TEXT_CAP = 4096;
/** How long the flock of a just-created lock may be held by someone inspecting it. */
const INSPECT_GRACE_MS = 2000;

function code(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | null)?.code;
}

/** flock(LOCK_EX|LOCK_NB); undefined when the file system cannot lock at all. */
export function tryFlock(fd: number): boolean | undefined {
  try {
    return native().flock(fd, 1);
  } catch (e) {
    if (['ENOLCK', 'EOPNOTSUPP', 'ENOSYS', 'EINVAL'].includes(code(e) ?? '')) return undefined;
    throw e;
  }
}

export function notRegular(path: string, st: { isFIFO(): boolean; isSymbolicLink(): boolean; isDirectory(): boolean }): OciBundleError {
  const what = st.isFIFO() ? 'a fifo' : st.isSymbolicLink() ? 'a symlink' : st.isDirectory() ? 'a directory' : 'not a regular file';
  return new OciBundleError('ELOCK', `lock file ${path} is ${what}, not a lock this tool made; remove it`);
}

/** Does `path` still name the open file `fh`? */
async function stillNames(path: string, fh: fsp.FileHandle): Promise<boolean> {
  const [a, b] = await Promise.all([fsp.lstat(path).catch(() => undefined), fh.stat()]);
  return a !== undefined && a.ino === b.ino && a.dev === b.dev;
}

/**
 * Looks at an existing lock: 'gone' when it vanished or its owner is gone (then it is
 * removed here, under its own flock, so two inspectors cannot both remove a fresh lock);
 * else the owner's text. A lock path that is not a regular file is an error.
 */
async function inspect(path: string): Promise<{ gone: true } | { gone: false; owner: string }> {
  const st = await fsp.lstat(path).catch((e) => {
    if (code(e) === 'ENOENT') return undefined;
    throw e;
  });
  if (!st) return { gone: true };
  if (!st.isFile()) throw notRegular(path, st);
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(path, OPEN_PEEK);
  } catch (e) {
    if (code(e) === 'ENOENT') return { gone: true };
    if (code(e) === 'ELOOP') throw notRegular(path, { isFIFO: () => false, isSymbolicLink: () => true, isDirectory: () => false });
    throw new OciBundleError('ELOCK', `cannot read lock file ${path}`, { cause: e });
  }
  try {
    const fst = await fh.stat();
    if (!fst.isFile()) throw notRegular(path, fst);
    const buf = Buffer.alloc(TEXT_CAP);
    const { bytesRead } = await fh.read(buf, 0, TEXT_CAP, 0);
    const owner = buf.subarray(0, bytesRead).toString('utf8').trim();
    const free = tryFlock(fh.fd);
    // without flock support, fall back to the owner's pid (an empty lock then is unknown: wait)
    const dead = free ?? tokenAlive(owner) === false;
    if (!dead) return { gone: false, owner };
    // every removal of the lock path happens under that file's flock, so this is the file we saw
    if (await stillNames(path, fh)) await fsp.unlink(path).catch(() => undefined);
    return { gone: true };
  } finally {
    await fh.close();
  }
}

/** Creates the lock file; undefined when it exists. Holds its flock and writes the owner's token. */
async function create(path: string, me: string): Promise<Release | undefined> {
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(path, CREATE_EXCL, 0o600);
  } catch (e) {
    if (code(e) === 'EEXIST') return undefined;
    throw new OciBundleError('ELOCK', `cannot create lock file ${path}`, { cause: e });
  }
  try {
    // an inspector may hold the new file's flock for a moment (and then remove it)
    const until = Date.now() + INSPECT_GRACE_MS;
    let got = tryFlock(fh.fd);
    while (got === false && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 1));
      got = tryFlock(fh.fd);
    }
    if (got === false || !(await stillNames(path, fh))) {
      await fh.close();
      return undefined;
    }
    try {
      await fh.write(me, 0, 'utf8');
    } catch {
      // a full disk: the lock stays empty, its flock still says its owner lives
      await fh.truncate(0).catch(() => undefined);
    }
  } catch (e) {
    await fsp.unlink(path).catch(() => undefined);
    await fh.close().catch(() => undefined);
    throw new OciBundleError('ELOCK', `cannot set up lock file ${path}`, { cause: e });
  }
  return async () => {
    try {
      if (await stillNames(path, fh)) await fsp.unlink(path);
    } finally {
      await fh.close();
    }
  };
}

/**
 * The lock at `path` when it is free this instant, taken without a thread-pool round trip (the
 * same protocol as create(): exclusive create, flock, still named, owner token); null when the
 * file exists or an inspector holds it, and then acquireLock does the waiting.
 */
export function tryLockSync(path: string): Release | null {
  let fd: number;
  try {
    fd = openSync(path, CREATE_EXCL, 0o600);
  } catch (e) {
    if (code(e) === 'EEXIST') return null;
    throw new OciBundleError('ELOCK', `cannot create lock file ${path}`, { cause: e });
  }
  const names = () => {
    const a = lstatSync(path, { throwIfNoEntry: false });
    const b = fstatSync(fd);
    return a !== undefined && a.ino === b.ino && a.dev === b.dev;
  };
  try {
    if (tryFlock(fd) === false || !names()) {
      closeSync(fd); // an inspector's: it removes the empty file; acquireLock takes over
      return null;
    }
    try {
      writeSync(fd, `${ownerToken()} ${Math.random().toString(36).slice(2)}\n`, 0, 'utf8');
    } catch {
      ftruncateSync(fd, 0); // a full disk: the flock still says its owner lives
    }
  } catch (e) {
    try {
      unlinkSync(path);
    } finally {
      closeSync(fd);
    }
    throw new OciBundleError('ELOCK', `cannot set up lock file ${path}`, { cause: e });
  }
  return async () => {
    try {
      if (names()) unlinkSync(path);
    } finally {
      closeSync(fd);
    }
  };
}

/** Takes the lock at `path`, waiting up to `timeoutMs`; returns the release function. */
export async function acquireLock(path: string, timeoutMs = 60_000): Promise<Release> {
  const now = tryLockSync(path); // the usual case, a free lock, in a few syscalls
  if (now) return now;
  const me = `${ownerToken()} ${Math.random().toString(36).slice(2)}\n`;
  const deadline = Date.now() + timeoutMs;
  let delay = 2;
  for (;;) {
    const release = await create(path, me);
    if (release) return release;
    const seen = await inspect(path);
    if (seen.gone) continue;
    if (Date.now() > deadline) {
      throw new OciBundleError('ELOCK', `lock ${path} is held by ${seen.owner || 'a live process that wrote no pid'}; remove it if that process is gone`);
    }
    await new Promise((r) => setTimeout(r, delay + Math.random() * delay));
    delay = Math.min(delay * 2, 50);
  }
}
