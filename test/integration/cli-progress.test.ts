// Progress reporting: a bar on stderr when it is a terminal (run under `script` for a pty),
// nothing at all on a pipe, one line per layer with --verbose.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { gzip, makeTar } from '../../fixtures/tar.js';
import { writeLayout } from '../../fixtures/layout.js';
import { BIN, hasCommand, runCli, scratchDir } from '../helpers/cli.js';

test('progress output', async (t) => {
  const dir = scratchDir('progress');
  try {
    const layers = [0, 1].map((i) => gzip(makeTar([{ name: `f${i}`, content: 'x'.repeat(1000) }])));
    const layout = join(dir, 'layout');
    writeLayout(layout, { images: [{ tag: 'latest', layers }] });
    await t.test('silent on a pipe', () => {
      const r = runCli(['raw', 'unpack', '--image', layout, join(dir, 'a')]);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stderr, '');
      assert.equal(r.stdout, '');
    });
    await t.test('--verbose: a line per layer and a summary', () => {
      const r = runCli(['raw', 'unpack', '--verbose', '--image', layout, join(dir, 'b')]);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stderr, /layer 1\/2\n[^]*layer 2\/2\n[^]*unpacked 2 entries/);
      assert.equal(r.stdout, '');
    });
    await t.test('a bar on a terminal', { skip: hasCommand('script') ? false : 'needs script(1) for a pty' }, () => {
      const cmd = [process.execPath, BIN, 'raw', 'unpack', '--image', layout, join(dir, 'c')].map((a) => `'${a}'`).join(' ');
      const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(r.status, 0, r.stdout);
      assert.match(r.stdout, /layer 2\/2 \[#+\]/);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
