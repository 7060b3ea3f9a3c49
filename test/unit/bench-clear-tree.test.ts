// bench/clear-tree.ts, the one remover of the layer-store bench rows: paths outside the bench
// directory are refused, a mount it cannot take away stops it before anything is deleted
// (canary files inside and beside the mount survive), and mountinfo is read as the kernel
// writes it.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { clearTree, mountsUnder, unmountUnder } from '../../bench/clear-tree.js';

let base = '';
let within = '';
const CANARY = 'canary: must survive\n';
before(() => {
  base = mkdtempSync(join(tmpdir(), 'bench-clear-'));
  within = join(base, 'ocibundle-bench');
  for (const d of [within, join(base, 'sibling'), join(base, 'ocibundle-bench-other')]) {
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, 'canary'), CANARY);
  }
});
after(async () => {
  await unmountUnder(base); // a failed case may have left its tmpfs mounted
  if (mountsUnder(base, readFileSync('/proc/self/mountinfo', 'utf8')).length === 0) rmSync(base, { recursive: true, force: true });
});

test('mountsUnder: at or below the path, deepest first, \\040 decoded', () => {
  const info = [
    '36 35 98:0 / /mnt/b rw - ext4 /dev/x rw',
    '37 36 0:1 / /mnt/b/store/x rw - overlay overlay rw',
    '38 36 0:2 / /mnt/b\\040c rw - tmpfs t rw',
    '39 36 0:3 / /mnt/bc rw - tmpfs t rw',
    '40 36 0:4 / /mnt/b/two\\040words rw - tmpfs t rw',
  ].join('\n');
  assert.deepEqual(mountsUnder('/mnt/b', info), ['/mnt/b/two words', '/mnt/b/store/x', '/mnt/b']);
  assert.deepEqual(mountsUnder('/mnt/b c', info), ['/mnt/b c']);
  assert.deepEqual(mountsUnder('/mnt/none', info), []);
});

test('paths outside the bench directory are refused and nothing is removed', async (t) => {
  const cases: [string, string][] = [
    ['empty path (the cwd)', ''],
    ['the root', '/'],
    ['the bench directory itself', within],
    ['a sibling', join(base, 'sibling')],
    ['a sibling sharing the name as a prefix', join(base, 'ocibundle-bench-other')],
    ['climbing out with ..', join(within, '..', 'sibling')],
  ];
  for (const [name, path] of cases) {
    await t.test(name, async () => {
      await assert.rejects(clearTree(within, path), /refusing to remove/);
      for (const d of [within, join(base, 'sibling'), join(base, 'ocibundle-bench-other')]) assert.equal(readFileSync(join(d, 'canary'), 'utf8'), CANARY);
    });
  }
});

test('a tree inside is removed', async () => {
  const victim = join(within, 'out', 'deep');
  mkdirSync(victim, { recursive: true });
  writeFileSync(join(victim, 'f'), 'x');
  await clearTree(within, join(within, 'out'));
  assert.equal(existsSync(join(within, 'out')), false);
  assert.equal(readFileSync(join(within, 'canary'), 'utf8'), CANARY);
});

test('a busy mount below the path stops the removal before anything is deleted', { skip: process.getuid?.() !== 0 && 'needs root (tmpfs mount)' }, async () => {
  const tree = join(within, 'store-bench');
  const mnt = join(tree, 'b', 'rootfs');
  mkdirSync(mnt, { recursive: true });
  writeFileSync(join(tree, 'beside'), CANARY);
  assert.equal(spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'clear-tree-test', mnt]).status, 0);
  writeFileSync(join(mnt, 'inside'), CANARY);
  const busy = spawn('sleep', ['60'], { cwd: mnt, stdio: 'ignore' }); // umount gets EBUSY
  try {
    await assert.rejects(clearTree(within, tree), /still mounted/);
    assert.equal(readFileSync(join(mnt, 'inside'), 'utf8'), CANARY);
    assert.equal(readFileSync(join(tree, 'beside'), 'utf8'), CANARY);
  } finally {
    busy.kill('SIGKILL');
    await new Promise((r) => busy.once('exit', r));
  }
  await clearTree(within, tree); // nothing holds it now: unmounted, then removed
  assert.equal(existsSync(tree), false);
  assert.deepEqual(mountsUnder(tree, readFileSync('/proc/self/mountinfo', 'utf8')), []);
});
