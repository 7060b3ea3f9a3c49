// Leftovers of killed runs (`.ocibundle-*.tmp`, named with the run's pid) are cleared by the
// next unpack into the same bundle, but the work of a run that is still alive is left alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { unpack } from '../../src/unpack.js';
import { gzip, makeTar } from '../../fixtures/tar.js';
import { writeLayout } from '../../fixtures/layout.js';
import { scratchDir } from '../helpers/cli.js';

test('stale temporary rootfs dirs: dead runs cleared, live runs kept', async () => {
  const dir = scratchDir('stale');
  const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
  try {
    writeLayout(join(dir, 'layout'), { images: [{ tag: 'latest', layers: [gzip(makeTar([{ name: 'f', content: 'x' }]))] }] });
    const dead = spawnSync('true').pid!; // exited: its pid names a dead run
    const bundle = join(dir, 'bundle');
    const deadTmp = join(bundle, `.ocibundle-rootfs-${dead}-abc.tmp`);
    const liveTmp = join(bundle, `.ocibundle-rootfs-${sleeper.pid}-def.tmp`);
    for (const d of [deadTmp, liveTmp]) {
      mkdirSync(join(d, 'etc'), { recursive: true });
      writeFileSync(join(d, 'etc', 'x'), 'half made');
    }
    await unpack({ image: `${join(dir, 'layout')}:latest`, bundle });
    assert.ok(existsSync(join(bundle, 'rootfs', 'f')));
    assert.ok(!existsSync(deadTmp), 'a dead run leftover is removed');
    assert.ok(existsSync(liveTmp), "a live run's temporary rootfs is kept");
  } finally {
    sleeper.kill();
    rmSync(dir, { recursive: true, force: true });
  }
});
