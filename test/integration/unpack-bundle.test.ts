// The bundle life cycle of `unpack` / `raw unpack`: the bundle directory's mode, refusal of an
// existing rootfs or config.json (EEXIST, exit 5) unless --force, nothing left behind after a
// failure, SIGINT/SIGTERM (exit 130, one line, nothing left) and SIGKILL (a rerun succeeds and
// clears the leftover), and config.json written only once the rootfs is complete.
import assert from 'node:assert/strict';
import { bundleNames, BUNDLE_NAMES } from '../helpers/cli.js';
import { spawn } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { gzip, makeTar, type FixtureEntry } from '../../fixtures/tar.js';
import { sha256 } from '../../fixtures/layout.js';
import { unpack } from '../../src/unpack.js';
import {
  CLI, fingerprint, fingerprintDiff, imageOf, leftovers, listPaths, makeArea, oneErrorLine, removeAll, runCli, runCliWithSignal, type Area,
} from '../helpers/unpack-env.js';
import { UNCHECKED_DIFF_ID, zeroFileGzip } from '../helpers/unpack-layers.js';

const skip = process.getuid?.() !== 0 && 'needs root (tmpfs mount, chown)';
let area: Area;
let small = ''; // a small valid image
let big = ''; // 1.5 GiB of zeros in one file: several seconds of work to interrupt
before(() => {
  area = makeArea('unpack-bundle-', 4096);
  small = imageOf(area, [gzip(makeTar([{ name: 'etc/passwd', content: 'root:x:0:0:root:/root:/bin/sh\n' }, { name: 'bin/sh', content: '#!\n', mode: 0o755 }]))]).image;
  big = imageOf(area, [zeroFileGzip('big', 1536 * 1024 * 1024)], { diffIds: [UNCHECKED_DIFF_ID] }).image;
});
after(() => area?.cleanup());

const hasTmp = (bundle: string) => existsSync(bundle) && readdirSync(bundle).some((n) => n.startsWith('.ocibundle-'));

test('the bundle directory is created with mode 0700', { skip }, async () => {
  const bundle = area.fresh('bundle');
  const s = await unpack({ image: small, bundle });
  assert.equal(statSync(bundle).mode & 0o7777, 0o700);
  assert.deepEqual(bundleNames(bundle), BUNDLE_NAMES);
  assert.equal(s.config, join(bundle, 'config.json'));
  JSON.parse(readFileSync(s.config!, 'utf8'));
});

test('an existing rootfs or config.json is refused unless force', { skip }, async (t) => {
  // A lone rootfs (no config.json) is an incomplete bundle, replaced without --force (below).
  const withConfig = (b: string) => writeFileSync(join(b, 'config.json'), '{"old":true}');
  const cases: [string, (bundle: string) => void][] = [
    ['rootfs dir and config.json', (b) => (mkdirSync(join(b, 'rootfs')), withConfig(b))],
    ['config.json file', withConfig],
    ['rootfs symlink to the sentinel and config.json', (b) => (symlinkSync(join(area.sentinel, 'target'), join(b, 'rootfs')), withConfig(b))],
    ['config.json symlink to the sentinel file', (b) => symlinkSync(join(area.sentinel, 'file'), join(b, 'config.json'))],
  ];
  for (const [name, prep] of cases) {
    await t.test(name, async () => {
      const bundle = area.fresh('bundle');
      mkdirSync(bundle, { mode: 0o755 });
      prep(bundle);
      const before = fingerprint(area.sentinel);
      const was = readdirSync(bundle).sort();
      await assert.rejects(unpack({ image: small, bundle }), { code: 'EEXIST' });
      assert.deepEqual(readdirSync(bundle).sort(), was, 'refusal changes nothing');
      const cli = runCli(['unpack', '--image', small, bundle]);
      assert.equal(cli.status, 5);
      assert.deepEqual(oneErrorLine(cli.stderr), { lines: 1, code: 'EEXIST' });
      assert.equal(cli.stdout, '');
      await unpack({ image: small, bundle, force: true });
      assert.ok(lstatSync(join(bundle, 'rootfs')).isDirectory(), 'force replaces it by a real rootfs');
      assert.ok(lstatSync(join(bundle, 'config.json')).isFile());
      assert.deepEqual(listPaths(join(bundle, 'rootfs')), ['bin', 'bin/sh', 'etc', 'etc/passwd']);
      assert.match(readFileSync(join(bundle, 'config.json'), 'utf8'), /"ociVersion"/);
      assert.deepEqual(fingerprintDiff(before, fingerprint(area.sentinel)), [], 'force removes a symlink, never its target');
      assert.equal(readdirSync(bundle).filter((n) => n.startsWith('.ocibundle-')).length, 0);
      removeAll(bundle);
    });
  }
  await t.test('a bundle path that is a file', async () => {
    const bundle = area.fresh('bundlefile');
    writeFileSync(bundle, 'x');
    await assert.rejects(unpack({ image: small, bundle }), { code: 'EEXIST' });
    removeAll(bundle);
  });
});

test('raw unpack to an existing directory is refused without --force', { skip }, () => {
  const rootfs = area.fresh('raw');
  mkdirSync(rootfs);
  writeFileSync(join(rootfs, 'old'), 'old');
  const r = runCli(['raw', 'unpack', '--image', small, rootfs]);
  assert.equal(r.status, 5);
  assert.deepEqual(oneErrorLine(r.stderr), { lines: 1, code: 'EEXIST' });
  assert.equal(r.stdout, '');
  assert.deepEqual(readdirSync(rootfs), ['old']);
  const f = runCli(['raw', 'unpack', '--force', '--image', small, rootfs]);
  assert.equal(f.status, 0, f.stderr);
  assert.deepEqual(listPaths(rootfs), ['bin', 'bin/sh', 'etc', 'etc/passwd']);
  assert.ok(!existsSync(join(rootfs, 'config.json')));
  removeAll(rootfs);
});

test('after any failure the bundle holds no rootfs, config.json or temp names', { skip }, async (t) => {
  const good: FixtureEntry[] = [{ name: 'etc/passwd', content: 'root:x:0:0::/:/bin/sh\n' }, { name: 'etc/group', content: 'root:x:0:\n' }];
  const cases: [string, Buffer[], Parameters<typeof imageOf>[2], string][] = [
    ['a bad second layer', [gzip(makeTar(good)), gzip(makeTar([{ name: 'x', content: 'y'.repeat(4000) }], { truncateAt: 1600 }))], {}, 'ETAR'],
    ['an unknown user, found after all layers', [gzip(makeTar(good))], { config: { config: { User: 'nobody' } } }, 'ENOUSER'],
    ['a wrong diff_id of the last layer', [gzip(makeTar(good)), gzip(makeTar([{ name: 'z', content: 'z' }]))], { diffIds: [sha256(makeTar(good)), sha256('nope')] }, 'EDIFFID'],
  ];
  for (const [name, layers, spec, code] of cases) {
    await t.test(name, async () => {
      const { image } = imageOf(area, layers, spec);
      for (const force of [false, true]) {
        const bundle = area.fresh('bundle');
        await assert.rejects(unpack({ image, bundle, force }), { code });
        assert.deepEqual(leftovers(bundle), []);
        removeAll(bundle);
      }
      const raw = area.fresh('raw');
      if (code === 'ENOUSER') await unpack({ image, bundle: raw, rootfsOnly: true }); // raw unpack needs no user
      else await assert.rejects(unpack({ image, bundle: raw, rootfsOnly: true }), { code });
      assert.equal(existsSync(raw), code === 'ENOUSER', 'a failed raw unpack leaves nothing');
      assert.deepEqual(readdirSync(area.root).filter((n) => n.startsWith('.ocibundle-')), []);
      removeAll(raw);
    });
  }
});

test('SIGINT and SIGTERM during a long CLI unpack: exit 130, one line, nothing left', { skip, timeout: 60_000 }, async (t) => {
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    await t.test(sig, async () => {
      const bundle = area.fresh('bundle');
      const r = await runCliWithSignal(['unpack', '--image', big, bundle], sig, 300, () => hasTmp(bundle));
      assert.equal(r.status, 130, `status ${r.status} signal ${r.signal}: ${r.stderr}`);
      assert.deepEqual(oneErrorLine(r.stderr), { lines: 1, code: 'EINTERRUPTED' });
      assert.equal(r.stdout, '');
      assert.deepEqual(leftovers(bundle), []);
      t.diagnostic(`${sig}: sent after ${Math.round(r.signalledAfterMs)} ms, exited ${Math.round(r.ms - r.signalledAfterMs)} ms later`);
      removeAll(bundle);
    });
  }
});

test('SIGKILL mid-unpack leaves no finished-looking bundle; a rerun succeeds and clears it', { skip, timeout: 60_000 }, async () => {
  const bundle = area.fresh('bundle');
  const r = await runCliWithSignal(['unpack', '--image', big, bundle], 'SIGKILL', 300, () => hasTmp(bundle));
  assert.equal(r.signal, 'SIGKILL');
  const names = readdirSync(bundle);
  assert.ok(!names.includes('rootfs') && !names.includes('config.json'), `looks finished: ${names.join(',')}`);
  assert.ok(names.some((n) => n.startsWith('.ocibundle-')), 'the killed run left its temp dir (cleared below)');
  const again = runCli(['unpack', '--image', small, bundle]);
  assert.equal(again.status, 0, again.stderr);
  assert.deepEqual(bundleNames(bundle), BUNDLE_NAMES);
  removeAll(bundle);
});

test('config.json appears last, when the rootfs is complete', { skip, timeout: 30_000 }, async () => {
  const entries: FixtureEntry[] = [{ name: 'etc/passwd', content: 'root:x:0:0::/:/bin/sh\n' }];
  for (let i = 0; i < 3000; i++) entries.push({ name: `d${i % 30}/f${i}`, content: `file ${i}\n` });
  const { image } = imageOf(area, [gzip(makeTar(entries)), gzip(makeTar([{ name: 'last', content: 'the last layer' }]))]);
  const bundle = area.fresh('bundle');
  const expected = 3000 + 30 + 2 + 1; // files, their dirs, etc/ + passwd, last
  const child = spawn(process.execPath, [CLI, 'unpack', '--image', image, bundle], { stdio: 'ignore' });
  const done = new Promise<number | null>((res) => child.on('close', (c) => res(c)));
  let exited = false;
  void done.then(() => (exited = true));
  const seen: string[] = [];
  let configSeenWith = -1;
  let rootfsSeenWith = -1;
  while (!exited) {
    if (rootfsSeenWith < 0 && existsSync(join(bundle, 'rootfs'))) rootfsSeenWith = listPaths(join(bundle, 'rootfs')).length;
    if (existsSync(join(bundle, 'config.json'))) {
      configSeenWith = existsSync(join(bundle, 'rootfs')) ? listPaths(join(bundle, 'rootfs')).length : -2;
      seen.push('config');
      break;
    }
    await new Promise((r) => setImmediate(r));
  }
  assert.equal(await done, 0);
  if (rootfsSeenWith >= 0) assert.equal(rootfsSeenWith, expected, 'rootfs appears complete (it is renamed into place)');
  if (configSeenWith !== -1) assert.equal(configSeenWith, expected, 'when config.json appears the rootfs is complete');
  assert.equal(listPaths(join(bundle, 'rootfs')).length, expected);
  // the applier's order, observed by mtime: config.json is not older than anything in rootfs
  const cfg = statSync(join(bundle, 'config.json')).ctimeMs;
  assert.ok(statSync(join(bundle, 'rootfs', 'last')).ctimeMs <= cfg);
  removeAll(bundle);
});
