// The hostile-layer suite (unpack-hostile) once more in each store mode: every table case
// unpacked through the layer store, as a rootfs copied from the store and as an overlay
// bundle, with the sentinel fingerprinted and the store checked for incomplete entries after
// each case. Runs the suite as a child `node --test` with OCIBUNDLE_HOSTILE_STORE set.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { isRoot } from '../helpers/cli.js';

const SUITE = fileURLToPath(new URL('./unpack-hostile.test.js', import.meta.url));
const skip = isRoot() ? false : 'needs root (the hostile suite mounts tmpfs, chowns, makes devices; overlay mounts)';

for (const mode of ['copy', 'overlay'] as const) {
  test(`hostile layers through the store (${mode})`, { skip, timeout: 900_000 }, (t) => {
    // without NODE_TEST_CONTEXT the child is a top-level runner that prints TAP, not a subtest
    const { NODE_TEST_CONTEXT: _, ...env } = process.env;
    const r = spawnSync(process.execPath, ['--test', '--test-reporter=tap', SUITE], { encoding: 'utf8', timeout: 880_000, env: { ...env, OCIBUNDLE_HOSTILE_STORE: mode } });
    const failed = r.stdout.split('\n').filter((l) => /^\s*not ok /.test(l));
    const summary = r.stdout.split('\n').filter((l) => /^# (tests|pass|fail|skipped)/.test(l));
    t.diagnostic(summary.join('; '));
    assert.equal(r.status, 0, `failures in ${mode} mode:\n${failed.join('\n')}\n${r.stdout.slice(-6000)}\n${r.stderr.slice(-2000)}`);
    assert.ok(summary.some((l) => /^# pass [1-9]/.test(l)), 'cases ran');
  });
}
