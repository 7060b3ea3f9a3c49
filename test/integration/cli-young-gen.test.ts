// The launcher keeps the main isolate's young generation at V8's first size, also after a
// layer worker started (a new isolate resets the growth flag). A probe preloaded into the
// process churns short-lived objects at exit, which grows an unchecked young generation to
// 32 MiB, and reports the new space's size; plain node is the control that shows the growth.
// The flag is set late enough that V8 still takes the bundle's code cache.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { gzip, makeTar } from '../../fixtures/tar.js';
import { writeLayout } from '../../fixtures/layout.js';
import { BIN, isRoot, scratchDir } from '../helpers/cli.js';

const PROBE = `
const { isMainThread } = require('node:worker_threads');
if (isMainThread) process.on('exit', () => {
  let keep = [];
  for (let i = 0; i < 3e6; i++) { keep.push({ a: i, b: 'x' + i }); if (keep.length > 20000) keep = []; }
  const ns = require('node:v8').getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
  require('node:fs').writeFileSync(process.env.PROBE_OUT, String(ns.space_size));
});
`;

test('young generation of the CLI process', async (t) => {
  const dir = scratchDir('young-gen');
  try {
    const probe = join(dir, 'probe.cjs');
    writeFileSync(probe, PROBE);
    // random bytes do not compress: a blob over the 4 MiB at which the layer worker starts
    writeLayout(join(dir, 'img'), { images: [{ tag: 'latest', layers: [gzip(makeTar([{ name: 'blob', content: randomBytes(5 * 1024 * 1024) }]))] }] });
    const rootless = isRoot() ? [] : ['--rootless'];
    const MiB = 1024 * 1024;
    const table: [string, string[], (bytes: number) => boolean, string, RegExp][] = [
      ['unpack through the layer worker', [BIN, 'unpack', ...rootless, '--image', join(dir, 'img'), join(dir, 'bundle')], (b) => b <= 4 * MiB, 'at most 4 MiB', /^code cache main\.unpack: used$/m],
      ['plain node (control: the probe grows an unchecked young generation)', ['-e', '0'], (b) => b > 8 * MiB, 'over 8 MiB', /^$/],
    ];
    for (const [name, args, ok, want, stderr] of table) {
      await t.test(name, () => {
        const out = join(dir, `${name.length}.out`);
        const r = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 120_000, env: { ...process.env, NODE_OPTIONS: `--require ${probe}`, PROBE_OUT: out, OCIBUNDLE_TEST_CODE_CACHE: '1' } });
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stderr, stderr);
        const bytes = Number(readFileSync(out, 'utf8'));
        t.diagnostic(`${name}: new space ${(bytes / MiB).toFixed(1)} MiB`);
        assert.ok(ok(bytes), `${name}: new space ${bytes} bytes, want ${want}`);
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
