// Shared helpers for integration tests: where the CLI is, running it, scratch directories on
// tmpfs (the root fs is slow after mass deletes), and probes for optional tools and root.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** bin/ocibundle of this checkout (tests run from dist/test/...). */
export const BIN = fileURLToPath(new URL('../../../bin/ocibundle', import.meta.url));

export function runCli(args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv; timeout?: number } = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: opts.timeout ?? 60_000, ...(opts.env ? { env: opts.env } : {}), ...(opts.input !== undefined ? { input: opts.input } : {}) });
}

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

export function hasCommand(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

/** A fresh directory on tmpfs when there is one, else the system temp dir. */
export function scratchDir(tag: string): string {
  const base = existsSync('/dev/shm') ? '/dev/shm' : (process.env['TMPDIR'] ?? '/tmp');
  return mkdtempSync(join(base, `ocibundle-test-${tag}-`));
}

/** A bundle's names, sorted, with the mtree's manifest-specific name as `sha256_*.mtree`. */
export function bundleNames(dir: string): string[] {
  return readdirSync(dir).map((n) => (/^sha256_[0-9a-f]{64}\.mtree$/.test(n) ? 'sha256_*.mtree' : n)).sort();
}

/** What a finished `unpack` leaves in its bundle. */
export const BUNDLE_NAMES = ['config.json', 'rootfs', 'sha256_*.mtree', 'umoci.json'];
