// node:child_process, node:crypto, node:zlib and node:worker_threads are loaded at first use
// (src/host/lazy-builtins.ts): importing the modules that spawn (the zstd child, overlay mounts,
// fusermount), hash and name temp files (digests, temps, the ls command), inflate with zlib
// (the decoders' fallback) or start the layer worker loads none of them, and the helpers hand
// out node's own modules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as cp from 'node:child_process';
import * as crypto from 'node:crypto';
import * as workerThreadsModule from 'node:worker_threads';
import * as zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { childProcess, nodeCrypto, nodeZlib, workerThreads } from '../../src/host/lazy-builtins.js';

const dist = (rel: string) => fileURLToPath(new URL(`../../src/${rel}`, import.meta.url));

test('modules load their spawning and hashing builtins only when they spawn or hash', async (t) => {
  const cases: [string, string, string][] = [
    ['the zstd child of layer/decompress', 'layer/decompress.js', 'child_process'],
    ['mount and fuse-overlayfs of store/overlay', 'store/overlay.js', 'child_process'],
    ['fusermount3 of store/mount', 'store/mount.js', 'child_process'],
    ['the whole unpack: no child process', 'unpack.js', 'child_process'],
    ['digests of image/digest', 'image/digest.js', 'crypto'],
    ['temp names of host/temp', 'host/temp.js', 'crypto'],
    ['the ls, tag and stat commands', 'cli/layout.js', 'crypto'],
    ['the zlib fallback of layer/decompress', 'layer/decompress.js', 'zlib'],
    ['the whole unpack: no zlib (the addon inflates)', 'unpack.js', 'zlib'],
    ['the layer worker of pipeline/layer-stream', 'pipeline/layer-stream.js', 'worker_threads'],
    ['the whole unpack: no worker until a big layer', 'unpack.js', 'worker_threads'],
  ];
  for (const [name, rel, builtin] of cases) {
    await t.test(name, () => {
      // an ES module run (node -e without it preloads crypto)
      const code = `await import(${JSON.stringify(dist(rel))}); process.stdout.write(String(process.moduleLoadList.includes('NativeModule ${builtin}')));`;
      const r = cp.spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, 'false', `${rel} loaded node:${builtin}`);
    });
  }
});

test('the helpers are node\'s own modules, loaded once', async (t) => {
  const cases: [string, () => unknown, unknown, (m: unknown) => unknown][] = [
    ['childProcess()', childProcess, cp.spawnSync, (m) => (m as typeof cp).spawnSync],
    ['nodeCrypto()', nodeCrypto, crypto.createHash, (m) => (m as typeof crypto).createHash],
    ['nodeZlib()', nodeZlib, zlib.createGunzip, (m) => (m as typeof zlib).createGunzip],
    ['workerThreads()', workerThreads, workerThreadsModule.Worker, (m) => (m as typeof workerThreadsModule).Worker],
  ];
  for (const [name, get, fn, pick] of cases) {
    await t.test(name, () => {
      assert.equal(get(), get());
      assert.equal(pick(get()), fn);
    });
  }
});
