// The inter-process lock of a layout's index: an O_EXCL lock file holding the owner's pid,
// host and process start time. A lock whose owner is gone (same host, pid dead or reused)
// is broken under a second short-lived O_EXCL "break" file so two breakers cannot race.
// Knows nothing of OCI; only the file protocol.
import { constants as C, promises as fsp, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { OciBundleError } from '../errors.js';

const BREAK_STALE_MS = 10_000;

function startTimeOf(pid: number): string | undefined {
  try {
    // field 22 of /proc/PID/stat, counted after the ")" that ends the command name
    const s = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return rest[19];
  } catch {
    return undefined;
  }
}

let ownToken: string | undefined;
function token(): string {
  ownToken ??= `${process.pid} ${hostname()} ${startTimeOf(process.pid) ?? '-'}`;
  return ownToken;
}

function alive(pid: number, start: string): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  if (start === '-') return true;
  const now = startTimeOf(pid);
  return now === undefined ? true : now === start;
}

async function readOwner(path: string): Promise<{ text: string; mtimeMs: number } | undefined> {
  try {
    const [text, st] = await Promise.all([fsp.readFile(path, 'utf8'), fsp.stat(path)]);
    return { text, mtimeMs: st.mtimeMs };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

function isStale(owner: { text: string; mtimeMs: number }): boolean {
  const [pidS, host, start] = owner.text.trim().split(' ');
  const pid = Number(pidS);
  if (!pidS || !host || !start || !Number.isInteger(pid) || pid <= 0) {
    // owner died between create and write, or garbage: stale once it is old enough
    return Date.now() - owner.mtimeMs > BREAK_STALE_MS;
  }
  if (host !== hostname()) return false; // cannot tell for another host: wait
  return !alive(pid, start);
}

async function tryBreak(path: string, seen: string): Promise<void> {
  const brk = `${path}.break`;
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(brk, C.O_CREAT | C.O_EXCL | C.O_WRONLY, 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    const st = await fsp.stat(brk).catch(() => undefined);
    if (st && Date.now() - st.mtimeMs > BREAK_STALE_MS) await fsp.unlink(brk).catch(() => undefined);
    return;
  }
  try {
    const again = await readOwner(path);
    if (again && again.text === seen) await fsp.unlink(path).catch(() => undefined);
  } finally {
    await fh.close();
    await fsp.unlink(brk).catch(() => undefined);
  }
}

export type Release = () => Promise<void>;

/** Takes the lock at `path`, waiting up to `timeoutMs`; returns the release function. */
export async function acquireLock(path: string, timeoutMs = 60_000): Promise<Release> {
  const me = `${token()} ${Math.random().toString(36).slice(2)}\n`;
  const deadline = Date.now() + timeoutMs;
  let delay = 2;
  for (;;) {
    try {
      const fh = await fsp.open(path, C.O_CREAT | C.O_EXCL | C.O_WRONLY, 0o600);
      try {
        await fh.writeFile(me);
      } finally {
        await fh.close();
      }
      return async () => {
        const cur = await readOwner(path);
        if (cur?.text === me) await fsp.unlink(path);
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new OciBundleError('ELOCK', `cannot create lock file ${path}`, { cause: e });
      }
    }
    const owner = await readOwner(path);
    if (owner && isStale(owner)) {
      await tryBreak(path, owner.text);
      continue;
    }
    if (Date.now() > deadline) {
      throw new OciBundleError('ELOCK', `lock ${path} is held by ${owner?.text.trim() || 'an unknown process'}; remove it if that process is gone`);
    }
    await new Promise((r) => setTimeout(r, delay + Math.random() * delay));
    delay = Math.min(delay * 2, 50);
  }
}
