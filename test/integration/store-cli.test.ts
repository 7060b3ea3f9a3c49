// The layer store through the CLI: where it lives and its mode, the overlay format of a layer
// entry (whiteout devices, opaque xattrs), the completion marker (a killed extraction is never
// used and is cleared), one extraction for two concurrent unpacks, a dead extractor's lock,
// store ls/du/gc/verify, the mount/umount life cycle of overlay bundles, and a 120-layer image
// (through the new mount API and through mount(8) with short lower-dir links). Root only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, appendFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { writeRichImage } from '../../fixtures/images.js';
import { writeLayout } from '../../fixtures/layout.js';
import { gzip, makeTar, type FixtureEntry } from '../../fixtures/tar.js';
import { diffTrees, listTree, unpackTimeDirs } from '../helpers/tree.js';
import { RootFS } from '../../src/fs/rootfs.js';
import { BIN, isRoot, scratchDir } from '../helpers/cli.js';
import { cli, isMountPoint, ok, unmountAllUnder } from '../helpers/store-env.js';

const skip = isRoot() ? false : 'needs root (overlay mounts, trusted.* xattrs, devices)';

interface Summary {
  store?: { dir: string; layers: string[]; overlay: boolean };
  layers: { diffId: string }[];
}

function withArea(tag: string, fn: (dir: string, image: string) => void | Promise<void>) {
  return async () => {
    const dir = scratchDir(tag);
    try {
      const layout = join(dir, 'rich');
      writeRichImage(layout, 'latest');
      await fn(dir, `${layout}:latest`);
    } finally {
      unmountAllUnder(dir);
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

const hexOf = (diffId: string) => diffId.slice('sha256:'.length);
const entry = (store: string, diffId: string) => join(store, 'layers', 'sha256', hexOf(diffId));

test('the default store: $XDG_CACHE_HOME/ocibundle, mode 0700, layers in the overlay format', { skip }, withArea('store-format', (dir, image) => {
  const env = { ...process.env, XDG_CACHE_HOME: join(dir, 'cache') };
  const r = spawnSyncCli(['raw', 'unpack', '--store', '--json', '--image', image, join(dir, 'rootfs')], env);
  assert.equal(r.status, 0, r.stderr);
  const s = JSON.parse(r.stdout) as Summary;
  const store = join(dir, 'cache', 'ocibundle');
  assert.equal(s.store?.dir, store);
  assert.deepEqual(s.store?.layers, ['extracted', 'extracted', 'extracted']);
  assert.equal(statSync(store).mode & 0o777, 0o700);
  const [l1, l2] = s.layers.map((l) => entry(store, l.diffId));
  for (const e of [l1!, l2!]) for (const f of ['root', 'manifest.json', 'complete']) assert.ok(existsSync(join(e, f)), `${e}/${f}`);
  // layer 2: `.wh.pair-a1` is a 0:0 character device, var/cache is opaque
  const wh = lstatSync(join(l2!, 'root', 'etc', 'pair-a1'));
  assert.ok(wh.isCharacterDevice() && wh.rdev === 0, 'whiteout as a 0:0 char device');
  const fs = RootFS.open(join(l2!, 'root'));
  try {
    assert.equal(fs.listXattrs('var/cache').get('trusted.overlay.opaque')?.toString(), 'y');
    assert.equal(fs.listXattrs('etc').get('trusted.overlay.opaque'), undefined);
  } finally {
    fs.close();
  }
  // layer 1 has no whiteouts at all
  assert.ok(!existsSync(join(l1!, 'root', 'etc', '.wh.pair-a1')));
  // a second unpack finds every layer
  const again = JSON.parse(ok(['raw', 'unpack', `--store=${store}`, '--json', '--image', image, join(dir, 'rootfs2')])) as Summary;
  assert.deepEqual(again.store?.layers, ['hit', 'hit', 'hit']);
}));

function spawnSyncCli(args: string[], env: NodeJS.ProcessEnv) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env, timeout: 120_000 });
}

test('an entry without its marker is never used and is cleared; a dead extractor leaves nothing that blocks', { skip }, withArea('store-marker', (dir, image) => {
  const store = join(dir, 'store');
  const first = JSON.parse(ok(['raw', 'unpack', `--store=${store}`, '--json', '--image', image, join(dir, 'r1')])) as Summary;
  const diffId = first.layers[0]!.diffId;
  const e = entry(store, diffId);
  // a killed extraction: the marker never written, a planted file in the tree
  rmSync(join(e, 'complete'));
  writeFileSync(join(e, 'root', 'planted-by-a-killed-run'), 'x');
  // and a temporary tree of a dead process, and a lock held by a dead process
  const tmp = join(store, 'layers', 'sha256', '.ocibundle-layer-999999-abc.tmp');
  mkdirSync(join(tmp, 'root'), { recursive: true });
  writeFileSync(join(store, 'layers', 'sha256', `${hexOf(diffId)}.lock`), `999999 ${hostname()} 12345 dead\n`);
  const second = JSON.parse(ok(['raw', 'unpack', `--store=${store}`, '--json', '--image', image, join(dir, 'r2')], 60_000)) as Summary;
  assert.deepEqual(second.store?.layers, ['extracted', 'hit', 'hit']);
  assert.ok(!existsSync(join(dir, 'r2', 'planted-by-a-killed-run')), 'nothing of the incomplete entry reached the rootfs');
  assert.ok(!existsSync(join(e, 'root', 'planted-by-a-killed-run')), 'the incomplete entry was replaced');
  assert.ok(!existsSync(tmp), 'the dead run\'s temporary tree was removed');
  assert.ok(existsSync(join(e, 'complete')));
}));

test('two processes needing the same layers: one extracts, the other waits and reuses', { skip }, withArea('store-race', async (dir, image) => {
  const store = join(dir, 'store');
  const run = (out: string) =>
    new Promise<Summary>((resolve, reject) => {
      const p = spawn(process.execPath, [BIN, 'raw', 'unpack', `--store=${store}`, '--json', '--image', image, join(dir, out)], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (d: Buffer) => (stdout += d));
      p.stderr.on('data', (d: Buffer) => (stderr += d));
      p.on('close', (code) => (code === 0 ? resolve(JSON.parse(stdout) as Summary) : reject(new Error(`exit ${code}: ${stderr}`))));
    });
  const [a, b] = await Promise.all([run('ra'), run('rb')]);
  for (let i = 0; i < 3; i++) {
    const got = [a.store!.layers[i], b.store!.layers[i]].sort();
    assert.deepEqual(got, ['extracted', 'hit'], `layer ${i} extracted exactly once (got ${got.join(', ')})`);
  }
  const temps = readdirSync(join(store, 'layers', 'sha256')).filter((n) => n.endsWith('.tmp') || n.endsWith('.lock'));
  assert.deepEqual(temps, [], 'no temporary trees or locks left');
}));

test('store ls, du, verify (a changed file is caught) and gc (keeps what live bundles use)', { skip }, withArea('store-admin', (dir, image) => {
  const store = join(dir, 'store');
  const bundle = join(dir, 'bundle');
  const s = JSON.parse(ok(['unpack', `--store=${store}`, '--overlay', '--json', '--image', image, bundle])) as Summary;
  const ls = JSON.parse(ok(['store', 'ls', '--store', store, '--json'])) as { id: string; bytes: number; bundles: number; complete: boolean; lastUse: string }[];
  // the image's 3 layers and the stack entry of their overlay (the directory overrides)
  assert.deepEqual(ls.map((l) => l.id.split('/')[0]).sort(), ['sha256', 'sha256', 'sha256', 'stack']);
  for (const l of ls) {
    assert.ok(l.complete && l.bytes > 0 && l.bundles === 1 && !Number.isNaN(Date.parse(l.lastUse)), JSON.stringify(l));
  }
  const du = JSON.parse(ok(['store', 'du', '--store', store, '--json'])) as { bytes: number; layers: number };
  assert.equal(du.layers, 4);
  assert.ok(du.bytes >= ls.reduce((n, l) => n + l.bytes, 0));
  assert.match(ok(['store', 'verify', '--store', store]), /ok/);
  // a changed file, a changed mode, an added file: each caught
  const l1 = entry(store, s.layers[0]!.diffId);
  const v = readdirSync(join(l1, 'root', 'etc')).find((n) => lstatSync(join(l1, 'root', 'etc', n)).isFile() && lstatSync(join(l1, 'root', 'etc', n)).nlink === 1)!;
  appendFileSync(join(l1, 'root', 'etc', v), 'tampered');
  const bad = cli(['store', 'verify', '--store', store, hexOf(s.layers[0]!.diffId)]);
  assert.equal(bad.status, 4, bad.stderr);
  assert.match(bad.stdout, new RegExp(`etc/${v}: (size|content sha256)`));
  assert.match(bad.stderr, /EINVALID/);
  // the stack entry (the overlay's directory overrides) is verified like a layer
  const stackId = ls.find((l) => l.id.startsWith('stack/'))!.id;
  chmodSync(join(store, 'layers', stackId, 'root'), 0o700);
  const badStack = cli(['store', 'verify', '--store', store, stackId]);
  assert.equal(badStack.status, 4, badStack.stderr);
  assert.match(badStack.stdout, /mode/);
  chmodSync(join(store, 'layers', stackId, 'root'), 0o755);
  // gc keeps the layers of the live bundle, even unmounted (it can be mounted again)
  ok(['umount', bundle]);
  let gc = JSON.parse(ok(['store', 'gc', '--store', store, '--json'])) as { removed: string[] };
  assert.deepEqual(gc.removed, []);
  // once the bundle is gone, its layers go
  rmSync(bundle, { recursive: true, force: true });
  gc = JSON.parse(ok(['store', 'gc', '--store', store, '--json'])) as { removed: string[] };
  assert.equal(gc.removed.length, 4);
  assert.deepEqual(readdirSync(join(store, 'layers', 'sha256')), []);
  assert.deepEqual(readdirSync(join(store, 'layers', 'stack')), []);
  assert.deepEqual(readdirSync(join(store, 'bundles')), []);
}));

test('overlay bundles: writes stay in the bundle, umount removes them, mount restores the image view', { skip }, withArea('store-mount', (dir, image) => {
  const store = join(dir, 'store');
  const bundle = join(dir, 'bundle');
  ok(['unpack', `--store=${store}`, '--overlay', '--image', image, bundle]);
  const rootfs = join(bundle, 'rootfs');
  assert.ok(isMountPoint(rootfs));
  assert.ok(existsSync(join(bundle, 'config.json')));
  assert.equal(statSync(bundle).mode & 0o777, 0o700);
  const before = readdirSync(rootfs).sort();
  writeFileSync(join(rootfs, 'written-by-container'), 'x');
  rmSync(join(rootfs, 'etc', 'group'));
  assert.ok(existsSync(join(bundle, '.ocibundle', 'upper', 'written-by-container')), 'the write went to the bundle\'s upper dir');
  const storeFiles = cli(['store', 'verify', '--store', store]);
  assert.equal(storeFiles.status, 0, 'the store is untouched by writes in the bundle');
  // a second unpack into the same bundle needs --force; with it, the bundle is re-made fresh
  assert.equal(cli(['unpack', `--store=${store}`, '--overlay', '--image', image, bundle]).status, 5);
  ok(['umount', bundle]);
  assert.ok(!isMountPoint(rootfs));
  assert.ok(!existsSync(join(bundle, '.ocibundle', 'upper')), 'upper data removed');
  assert.deepEqual(readdirSync(rootfs), [], 'nothing left in the mount point');
  ok(['mount', bundle]);
  assert.deepEqual(readdirSync(rootfs).sort(), before);
  assert.ok(existsSync(join(rootfs, 'etc', 'group')) && !existsSync(join(rootfs, 'written-by-container')));
  assert.equal(cli(['mount', bundle]).status, 5, 'mounting twice is refused');
  ok(['unpack', `--store=${store}`, '--overlay', '--force', '--image', image, bundle]);
  assert.ok(isMountPoint(rootfs));
  // a flattened --force unpack over the mounted bundle refuses: it would delete through the mount
  const canary = join(rootfs, 'canary');
  writeFileSync(canary, 'must survive');
  for (const args of [['unpack', '--force', '--image', image, bundle], ['raw', 'unpack', '--force', '--image', image, rootfs]]) {
    const r = cli(args);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /EUSAGE: refusing to replace .* mount point/);
    assert.equal(readFileSync(canary, 'utf8'), 'must survive');
  }
  ok(['umount', bundle]);
  const cfg = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8')) as { root: { path: string } };
  assert.equal(cfg.root.path, 'rootfs');
}));

test('usage errors: --overlay without --store or with raw unpack, mount of a plain directory', { skip }, withArea('store-usage', (dir, image) => {
  const cases: [string, string[], number, RegExp][] = [
    ['--overlay without --store', ['unpack', '--overlay', '--image', image, join(dir, 'b1')], 2, /EUSAGE: --overlay needs --store/],
    ['raw unpack --overlay', ['raw', 'unpack', `--store=${join(dir, 's')}`, '--overlay', '--image', image, join(dir, 'r1')], 2, /EUSAGE/],
    ['--keep-dirlinks with --overlay', ['unpack', `--store=${join(dir, 's')}`, '--overlay', '--keep-dirlinks', '--image', image, join(dir, 'b2')], 2, /keep-dirlinks/],
    ['mount of a non-bundle', ['mount', dir], 3, /not an overlay bundle/],
    ['umount of a non-bundle', ['umount', dir], 3, /not an overlay bundle/],
  ];
  for (const [name, args, status, msg] of cases) {
    const r = cli(args);
    assert.equal(r.status, status, `${name}: ${r.stderr}`);
    assert.match(r.stderr, msg, name);
    assert.equal(r.stderr.trim().split('\n').length, 1, `${name}: one line`);
  }
}));

for (const mode of [{ name: 'the new mount API', env: {}, option: 'lowerdir+=' }, { name: 'mount(8), short lower-dir links', env: { OCIBUNDLE_TEST_MOUNT8: '1' }, option: 'lowerdir=' }]) {
  test(`an image of 120 layers mounts (${mode.name}) and reads like the flattened unpack`, { skip }, withArea('store-many', (dir) => {
    const layout = join(dir, 'many');
    const layers = Array.from({ length: 120 }, (_, i) => {
      const entries: FixtureEntry[] = [{ name: 'd/', type: 'dir', mode: 0o755 }, { name: `d/f${i}`, content: `layer ${i}` }];
      if (i === 60) entries.push({ name: 'd/.wh.f3' });
      if (i === 90) entries.push({ name: 'd/f10', content: 'replaced in layer 90' });
      return gzip(makeTar(entries));
    });
    writeLayout(layout, { images: [{ tag: 'latest', layers }] });
    const store = join(dir, 'store');
    const bundle = join(dir, 'bundle');
    const flat = join(dir, 'flat');
    const r = spawnSyncCli(['unpack', `--store=${store}`, '--overlay', '--image', `${layout}:latest`, bundle], { ...process.env, ...mode.env });
    assert.equal(r.status, 0, r.stderr);
    ok(['raw', 'unpack', '--image', `${layout}:latest`, flat]);
    const mounted = join(bundle, 'rootfs');
    assert.ok(isMountPoint(mounted));
    const line = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => l.split(' ')[4] === mounted)!;
    assert.ok(line.includes(mode.option), `mounted with ${mode.option}: ${line.slice(0, 200)}`);
    assert.equal(readdirSync(join(mounted, 'd')).length, 119);
    assert.equal(readFileSync(join(mounted, 'd', 'f10'), 'utf8'), 'replaced in layer 90');
    const reference = listTree(flat);
    const diffs = diffTrees(reference, listTree(mounted), (p, f) => unpackTimeDirs(reference)(p, f) || (p === '.' && f === 'mtime'));
    assert.deepEqual(diffs, []);
    ok(['umount', bundle]);
    assert.ok(!isMountPoint(mounted));
  }));
}

test('an image of 600 layers: the lowest are flattened into one entry and the view equals the flattened unpack', { skip }, withArea('store-flat', (dir) => {
  const layout = join(dir, 'flat-image');
  const layers = Array.from({ length: 600 }, (_, i) => {
    const entries: FixtureEntry[] = [{ name: 'd/', type: 'dir', mode: 0o755 }, { name: `d/f${i}`, content: `layer ${i}` }];
    if (i % 50 === 7) entries.push({ name: `d/.wh.f${i - 5}` });
    if (i === 10) entries.push({ name: 'g/', type: 'dir', mode: 0o711 }, { name: 'g/x', content: 'x' });
    if (i === 100) entries.push({ name: 'e/deep/x', content: 'made its parents' });
    if (i === 200) entries.push({ name: 'e/', type: 'dir', mode: 0o750 });
    if (i === 300) entries.push({ name: '.wh.g' }); // removes a directory of the flattened part
    if (i === 450) entries.push({ name: 'e/deep/y', content: 'above the flattened part' });
    if (i === 500) entries.push({ name: 'd/.wh..wh..opq' });
    return gzip(makeTar(entries));
  });
  writeLayout(layout, { images: [{ tag: 'latest', layers }] });
  const store = join(dir, 'store');
  const bundle = join(dir, 'bundle');
  const flat = join(dir, 'flat');
  ok(['unpack', `--store=${store}`, '--overlay', '--image', `${layout}:latest`, bundle], 600_000);
  ok(['raw', 'unpack', '--image', `${layout}:latest`, flat], 600_000);
  const mounted = join(bundle, 'rootfs');
  const line = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => l.split(' ')[4] === mounted)!;
  const lowers = line.split(',').filter((o) => o.startsWith('lowerdir+=') || o.startsWith('lowerdir='));
  assert.ok(lowers.length > 0, line.slice(0, 300));
  const count = lowers[0]!.startsWith('lowerdir+=') ? lowers.length : lowers[0]!.split(':').length;
  assert.equal(count, 250, 'the flat entry, the 248 upper layers and the stack entry');
  assert.equal(readdirSync(join(store, 'layers', 'flat')).filter((n) => !n.startsWith('.') && !n.endsWith('.lock')).length, 1);
  assert.equal(cli(['store', 'verify', '--store', store]).status, 0, 'the flat entry verifies like a layer');
  const reference = listTree(flat);
  const diffs = diffTrees(reference, listTree(mounted), (p, f) => unpackTimeDirs(reference)(p, f) || (p === '.' && f === 'mtime'));
  assert.deepEqual(diffs, []);
  // collected with the bundle
  ok(['umount', bundle]);
  rmSync(bundle, { recursive: true, force: true });
  ok(['store', 'gc', '--store', store]);
  assert.deepEqual(readdirSync(join(store, 'layers', 'flat')), []);
}));

test('umoci.json and the mtree: from the store as from a flattened unpack; overlay bundles only with --mtree, and they repack', { skip }, withArea('store-mtree', (dir, image) => {
  const store = join(dir, 'store');
  const layout = image.slice(0, image.lastIndexOf(':'));
  const meta = (b: string) => readdirSync(join(dir, b)).filter((n) => n === 'umoci.json' || n.endsWith('.mtree')).sort();
  // the header (tree path, date), umoci.json's write time and the times of directories no
  // entry declares (made during this test) aside
  const started = Math.floor(Date.now() / 1000) - 5;
  const text = (b: string) =>
    meta(b).map((n) =>
      readFileSync(join(dir, b, n), 'utf8')
        .replace(/"ocibundle_mtree_ctime_ns":"\d+"/, '')
        .replace(/^#.*\n/gm, '')
        .replace(/tar_time=(\d+)\.\d+/g, (all, sec: string) => (Number(sec) >= started ? 'tar_time=(made now)' : all)),
    );
  // a bundle from the store (no overlay) records the same mtree as the flattened unpack, from the manifests' digests
  ok(['unpack', '--image', image, join(dir, 'flat')]);
  ok(['unpack', `--store=${store}`, '--image', image, join(dir, 'copied')]);
  ok(['unpack', `--store=${store}`, '--image', image, join(dir, 'copied-warm')]);
  assert.equal(meta('flat').length, 2);
  assert.deepEqual(text('copied'), text('flat'));
  assert.deepEqual(text('copied-warm'), text('flat'));
  // overlay bundles: none by default; with --mtree, walked from the mounted view
  ok(['unpack', `--store=${store}`, '--overlay', '--image', image, join(dir, 'plain')]);
  assert.deepEqual(meta('plain'), []);
  ok(['unpack', `--store=${store}`, '--overlay', '--mtree', '--image', image, join(dir, 'with')]);
  assert.deepEqual(meta('with'), meta('flat'));
  // an unchanged overlay bundle repacks to no new layer; a write in it becomes one
  ok(['repack', '--image', `${layout}:same`, join(dir, 'with')]);
  const count = (tag: string) => (JSON.parse(ok(['stat', '--image', `${layout}:${tag}`, '--json'])) as { manifest: { blob: { layers: unknown[] } } }).manifest.blob.layers.length;
  assert.equal(count('same'), count('latest'));
  writeFileSync(join(dir, 'with', 'rootfs', 'added-in-the-bundle'), 'new');
  ok(['repack', '--image', `${layout}:changed`, join(dir, 'with')]);
  assert.equal(count('changed'), count('latest') + 1);
  ok(['unpack', '--image', `${layout}:changed`, join(dir, 'check')]);
  assert.equal(readFileSync(join(dir, 'check', 'rootfs', 'added-in-the-bundle'), 'utf8'), 'new');
}));
