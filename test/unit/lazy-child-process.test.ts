// node:child_process is loaded at the first spawn (src/host/child-process.ts): importing the
// modules that spawn (the zstd child, overlay mounts, fusermount) loads none of it, and the
// helper hands out node's own module.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as cp from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { childProcess } from '../../src/host/child-process.js';

const dist = (rel: string) => fileURLToPath(new URL(`../../src/${rel}`, import.meta.url));

test('modules that spawn do not load node:child_process when imported', async (t) => {
  const cases: [string, string][] = [
    ['the zstd child of layer/decompress', 'layer/decompress.js'],
    ['mount and fuse-overlayfs of store/overlay', 'store/overlay.js'],
    ['fusermount3 of store/mount', 'store/mount.js'],
    ['the whole unpack', 'unpack.js'],
  ];
  for (const [name, rel] of cases) {
    await t.test(name, () => {
      const code = `await import(${JSON.stringify(dist(rel))}); process.stdout.write(String(process.moduleLoadList.includes('NativeModule child_process')));`;
      const r = cp.spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, 'false');
    });
  }
});

test('childProcess() is node:child_process, loaded once', () => {
  assert.equal(childProcess(), childProcess());
  assert.equal(childProcess().spawnSync, cp.spawnSync);
});
