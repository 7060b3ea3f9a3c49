// Times one run of one case: the output is removed and synced first (not timed), then the
// bash script runs under GNU time (`/usr/bin/time -f`) while the harness measures wall time
// around the whole command. Records failures; never throws for a failing command.
import { spawn } from 'node:child_process';
import { access, readFile, rm, constants } from 'node:fs/promises';
import { join } from 'node:path';
import { parseTimeOutput, TIME_FORMAT } from './gnu-time.js';
import { failureLine } from './failure-text.js';
import { run } from './proc.js';
import type { RunSample } from './types.js';

export const GNU_TIME = '/usr/bin/time';

/** The GNU time binary, or null when it is missing (then only wall time is measured). */
export async function findGnuTime(): Promise<string | null> {
  try {
    await access(GNU_TIME, constants.X_OK);
  } catch {
    return null;
  }
  const r = await run(GNU_TIME, ['--version']);
  return /GNU/.test(r.stdout + r.stderr) ? GNU_TIME : null;
}

export interface Timer {
  /** GNU time, or null */
  timeBin: string | null;
  /** a directory for time's -o file */
  scratch: string;
}

const TAIL = 8192;

/** Run `script` once under the timer; stdout is discarded, the telling line of stderr kept for failures. */
export function timeScript(script: string, runNo: number, timer: Timer): Promise<RunSample> {
  const timeFile = join(timer.scratch, 'time.txt');
  const [cmd, args] =
    timer.timeBin === null
      ? ['bash', ['-c', script]]
      : [timer.timeBin, ['-f', TIME_FORMAT, '-o', timeFile, 'bash', '-c', script]];
  return new Promise((resolve) => {
    let tail = '';
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, args as string[], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      tail = (tail + s).slice(-TAIL);
    });
    const finish = async (rc: number): Promise<void> => {
      const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
      let figures = null;
      if (timer.timeBin !== null) {
        figures = parseTimeOutput(await readFile(timeFile, 'utf8').catch(() => ''));
        await rm(timeFile, { force: true });
      }
      const sample: RunSample = {
        run: runNo,
        wallS,
        maxRssKb: figures?.maxRssKb ?? null,
        userS: figures?.userS ?? null,
        sysS: figures?.sysS ?? null,
        rc,
      };
      if (rc !== 0) sample.errorTail = failureLine(tail);
      resolve(sample);
    };
    child.on('error', (e) => {
      tail += String(e.message);
      void finish(127);
    });
    child.on('close', (code, signal) => void finish(code ?? (signal ? 128 : 1)));
  });
}

/** Remove a run's output and flush dirty data, so no run pays for the previous one's writes. */
export async function resetOutput(out: string): Promise<void> {
  await rm(out, { recursive: true, force: true });
  await run('sync', []);
}
