// The one way this project names and creates temp files and directories: random names that
// carry the owner's pid (`.ocibundle-KIND-PID-RANDOM.tmp`), created exclusively
// (O_CREAT|O_EXCL|O_NOFOLLOW, or mkdir) so a name planted in advance is never opened, and
// the clearing of temps whose owner process is gone. Never deletes a name it did not parse.
import { closeSync, constants as C, mkdirSync, openSync, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { assertReplaceable } from './guard.js';
import { nodeCrypto } from './lazy-builtins.js';
import { pidAlive } from './owner.js';

/** Open flags of every temp file: exclusive creation that never follows a planted symlink. */
export const CREATE_EXCL = C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW | C.O_WRONLY;
const KIND_RE = /^[a-z][a-z-]{0,23}$/;
/** `.ocibundle-KIND-PID-HEX.tmp`, and the older `.ocibundle-tmp-PID-HEX` names. */
const TEMP_RE = /^\.ocibundle-([a-z][a-z-]{0,23})-(\d{1,10})-([0-9a-z]{1,32})(\.tmp)?$/;
const ATTEMPTS = 16;

/** A fresh temp name (no directory) of `kind`, owned by this process. */
export function tempName(kind: string): string {
  if (!KIND_RE.test(kind)) throw new Error(`bad temp kind ${JSON.stringify(kind)}`);
  return `.ocibundle-${kind}-${process.pid}-${nodeCrypto().randomBytes(8).toString('hex')}.tmp`;
}

/** The kind and owner pid of a temp name this module made, else undefined. */
export function parseTempName(name: string): { kind: string; pid: number } | undefined {
  const m = TEMP_RE.exec(name);
  return m ? { kind: m[1]!, pid: Number(m[2]) } : undefined;
}

function isExists(e: unknown): boolean {
  return (e as NodeJS.ErrnoException).code === 'EEXIST';
}

/** Creates a new temp file in `dir`; the caller writes it, then renames or unlinks `path`. */
export async function createTempFile(dir: string, kind: string, mode = 0o644): Promise<{ path: string; fh: fsp.FileHandle }> {
  for (let i = 0; ; i++) {
    const path = join(dir, tempName(kind));
    try {
      return { path, fh: await fsp.open(path, CREATE_EXCL, mode) };
    } catch (e) {
      if (!isExists(e) || i >= ATTEMPTS) throw e;
    }
  }
}

/** createTempFile for synchronous callers: returns an fd. */
export function createTempFileSync(dir: string, kind: string, mode = 0o644): { path: string; fd: number } {
  for (let i = 0; ; i++) {
    const path = join(dir, tempName(kind));
    try {
      return { path, fd: openSync(path, CREATE_EXCL, mode) };
    } catch (e) {
      if (!isExists(e) || i >= ATTEMPTS) throw e;
    }
  }
}

/** Creates a new temp directory in `dir` (mkdir never follows a planted name). */
export function createTempDirSync(dir: string, kind: string, mode = 0o700): string {
  for (let i = 0; ; i++) {
    const path = join(dir, tempName(kind));
    try {
      mkdirSync(path, { mode });
      return path;
    } catch (e) {
      if (!isExists(e) || i >= ATTEMPTS) throw e;
    }
  }
}

/** Writes `bytes` to a new temp file in `dir` (fsynced, closed); returns its path. */
export async function writeTempFile(dir: string, kind: string, bytes: Uint8Array, mode = 0o644): Promise<string> {
  const { path, fh } = await createTempFile(dir, kind, mode);
  try {
    try {
      await fh.writeFile(bytes);
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch (e) {
    await fsp.unlink(path).catch(() => undefined);
    throw e;
  }
  return path;
}

/** Closes an fd from createTempFileSync, ignoring errors (cleanup paths). */
export function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // nothing to do: the fd is gone either way
  }
}

export interface ClearOptions {
  /** Only temps of these kinds (default: every kind but `pin`, which has its own rule). */
  kinds?: readonly string[];
  /** Older names this project used, each giving the owner pid as its first group. */
  legacy?: readonly RegExp[];
}

/**
 * Removes the temps in `dir` whose owner process is gone: files, and directories with
 * everything in them (never following a symlink). Returns the names removed. A name this
 * module cannot attribute to an owner is left alone.
 */
export async function clearDeadTemps(dir: string, opts: ClearOptions = {}): Promise<string[]> {
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    let pid: number | undefined;
    const t = parseTempName(name);
    if (t && (opts.kinds ? opts.kinds.includes(t.kind) : t.kind !== 'pin')) pid = t.pid;
    for (const re of opts.legacy ?? []) pid ??= Number(re.exec(name)?.[1]) || undefined;
    if (pid === undefined || pidAlive(pid)) continue;
    const p = join(dir, name);
    const st = await fsp.lstat(p).catch(() => undefined);
    if (!st) continue;
    try {
      if (st.isDirectory()) {
        assertReplaceable(p, { what: 'stale temp' }); // never a mount point, the cwd, $HOME ...
        await fsp.rm(p, { recursive: true, force: true });
      } else await fsp.unlink(p);
      removed.push(name);
    } catch {
      // another run cleared it first, or it cannot be removed: leave it
    }
  }
  return removed;
}
