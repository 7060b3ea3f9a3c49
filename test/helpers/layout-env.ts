// Test helpers for the layout tests: temp dirs on tmpfs, running the real CLI
// (bin/ocibundle via process.execPath, or $OCIBUNDLE_BIN), umoci availability, and an
// assertion that a promise rejects with a given OciBundleError code.
import assert from 'node:assert/strict';
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
/** bin/ocibundle of this checkout (dist/test/helpers -> ../../../bin). */
export const BIN = process.env['OCIBUNDLE_BIN'] ?? resolve(here, '..', '..', '..', 'bin', 'ocibundle');

/** A fresh directory on tmpfs when there is one; remove it with `cleanup`. */
export function tmpDir(prefix = 'layout-test-'): { dir: string; cleanup: () => void } {
  const base = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
  const dir = mkdtempSync(join(base, prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], cwd?: string): Run {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function runCliAsync(args: string[], cwd?: string): Promise<Run> {
  return new Promise((res, rej) => {
    const c = spawn(process.execPath, [BIN, ...args], { cwd });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    c.on('error', rej);
    c.on('close', (status) => res({ status, stdout, stderr }));
  });
}

let umoci: boolean | undefined;
export function hasUmoci(): boolean {
  if (umoci === undefined) {
    try {
      execFileSync('umoci', ['--version'], { stdio: 'ignore' });
      umoci = true;
    } catch {
      umoci = false;
    }
  }
  return umoci;
}

export function runUmoci(args: string[], cwd?: string): Run {
  const r = spawnSync('umoci', args, { cwd, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Asserts that `p` rejects with an error whose `code` is `code` (and, optionally, a message match). */
export async function rejectsWith(p: Promise<unknown> | (() => Promise<unknown>), code: string, msg?: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    const got = (e as { code?: unknown }).code;
    assert.equal(got, code, `want ${code}, got ${String(got)}: ${(e as Error).message}`);
    if (msg) assert.match((e as Error).message, msg);
    return true;
  });
}
