// Spawning helpers for the harness's own set-up commands (cp, mount, sync, git, versions):
// run a program, collect its output, never through a shell unless asked. Timed runs are
// runner.ts's, not this module's.
import { spawn } from 'node:child_process';

export interface ProcResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: readonly string[], opts: { cwd?: string } = {}): Promise<ProcResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, [...args], { stdio: ['ignore', 'pipe', 'pipe'], cwd: opts.cwd });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('error', (e) => resolve({ code: 127, stdout, stderr: stderr + String(e.message) }));
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr }));
  });
}

/** Like run, but a non-zero exit becomes an error naming the command. */
export async function runOk(cmd: string, args: readonly string[], opts: { cwd?: string } = {}): Promise<string> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) {
    const tail = r.stderr.trim().split('\n').slice(-3).join(' | ');
    throw new Error(`'${[cmd, ...args].join(' ')}' exited ${r.code}: ${tail}`);
  }
  return r.stdout;
}

/** Run with stdio inherited (long set-up steps whose progress the user should see). */
export function runVisible(cmd: string, args: readonly string[]): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(cmd, [...args], { stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', () => resolve(127));
    child.on('close', (code) => resolve(code ?? 128));
  });
}
