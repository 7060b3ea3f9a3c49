// Who owns a file this project made: the current process's token (pid, host, start time)
// and whether a pid is still the process that wrote a token. Liveness only; no files are
// created or removed here.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

/** Field 22 of /proc/PID/stat (start time in clock ticks), or undefined if unreadable. */
export function startTimeOf(pid: number): string | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // fields are counted after the ")" that ends the command name
    return s.slice(s.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

let ownToken: string | undefined;
/** `PID HOST START` of this process. */
export function ownerToken(): string {
  ownToken ??= `${process.pid} ${hostname()} ${startTimeOf(process.pid) ?? '-'}`;
  return ownToken;
}

/** True unless `pid` certainly is gone (ESRCH), or now runs with another start time than `start`. */
export function pidAlive(pid: number, start = '-'): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  if (start === '-') return true;
  const now = startTimeOf(pid);
  return now === undefined ? true : now === start;
}

/** Liveness from a token line `PID HOST START ...`: undefined when the text is not one. */
export function tokenAlive(text: string): boolean | undefined {
  const [pidS, host, start] = text.trim().split(' ');
  const pid = Number(pidS);
  if (!pidS || !host || !start || !Number.isSafeInteger(pid) || pid <= 0) return undefined;
  if (host !== hostname()) return true; // cannot tell for another host
  return pidAlive(pid, start);
}
