// Regression: getdents64 returns a short buffer whenever a signal is pending (SIGPROF from a
// profiler, SIGCHLD from the zstd child), and tree removal once took such a buffer for the
// end of the directory, failing later with ENOTEMPTY. Removal must survive a signal storm.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const child = fileURLToPath(new URL('../helpers/fs-remove-under-signals.js', import.meta.url));

test('RootFS.remove empties trees completely under a storm of SIGPROF', () => {
  const dir = mkdtempSync(join('/dev/shm', 'ocibundle-rmsig-'));
  const prof = mkdtempSync(join('/dev/shm', 'ocibundle-rmsig-prof-'));
  try {
    const r = spawnSync(process.execPath, ['--cpu-prof', '--cpu-prof-interval', '20', '--cpu-prof-dir', prof, child, dir, '12'], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, r.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(prof, { recursive: true, force: true });
  }
});
