// repack: round trips (unpack -> change files of every kind -> repack -> unpack equals the
// changed tree, entry by entry) as root, rootless and with id maps; the layer's shape
// (one whiteout for a deleted tree, links recorded not followed); umoci 0.4.7 unpacks what we
// made to the same tree and repacks our bundles, we repack umoci's; flags; hostile bundles.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { appendFileSync, chmodSync, chownSync, linkSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, utimesSync, writeFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { writeRichImage } from '../../fixtures/images.js';
import { diffTrees, listTree, unpackTimeDirs } from '../helpers/tree.js';
import { collect } from '../helpers/tar-collect.js';
import { hasCommand, isRoot, runCli, scratchDir } from '../helpers/cli.js';

const skip = !isRoot() ? 'needs root (owners, devices)' : false;
const skipUmoci = skip || (!hasCommand('umoci') ? 'umoci not installed' : false);

function ok(args: string[], env?: NodeJS.ProcessEnv): string {
  const r = runCli(args, env ? { env: { ...process.env, ...env } } : {});
  assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

function sh(cmd: string, args: string[]): void {
  execFileSync(cmd, args, { stdio: 'pipe' });
}

/** The changes of the round trip: one of every kind. */
function change(root: string): void {
  appendFileSync(join(root, 'etc/passwd'), 'new:x:5:5::/:/bin/sh\n'); // modify (size changes)
  // same size, mtime put back: only the digest (and ctime) tells
  const t = statSync(join(root, 'opt/owned'));
  writeFileSync(join(root, 'opt/owned'), 'ODD OWNER');
  utimesSync(join(root, 'opt/owned'), t.atime, t.mtime);
  writeFileSync(join(root, 'opt/new-file'), Buffer.alloc(70_000, 3)); // add
  rmSync(join(root, 'usr/bin/suid')); // delete
  rmSync(join(root, 'var/cache'), { recursive: true }); // delete a whole tree
  chmodSync(join(root, 'opt/empty'), 0o4711); // chmod
  chownSync(join(root, 'opt/ns-time'), 1234, 5678); // chown
  sh('setfattr', ['-n', 'user.added', '-v', '0x00ff', join(root, 'opt/xattr')]); // xattr
  linkSync(join(root, 'opt/new-file'), join(root, 'opt/new-hardlink')); // hardlink (new)
  linkSync(join(root, 'usr/bin/cap'), join(root, 'usr/bin/cap-link')); // hardlink to an unchanged file
  symlinkSync('/etc/shadow', join(root, 'escape')); // symlinks out of the rootfs: recorded only
  symlinkSync('../../../../..', join(root, 'opt/up'));
  sh('mknod', [join(root, 'dev/zero'), 'c', '1', '5']); // device
  sh('mkfifo', [join(root, 'opt/fifo')]);
  rmSync(join(root, 'srv/data'));
  mkdirSync(join(root, 'srv/data/sub'), { recursive: true }); // type change file -> dir
  writeFileSync(join(root, 'srv/data/sub/x'), 'x');
  rmSync(join(root, 'usr/bin/tool'), { recursive: true });
  writeFileSync(join(root, 'usr/bin/tool'), 'dir -> file'); // type change dir -> file
  renameSync(join(root, 'opt/ünïcødé-名前'), join(root, 'opt/renamed *?[#] \\ name'));
}

function layerEntries(layout: string, tag: string): string[] {
  const idx = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8'));
  const m = idx.manifests.find((d: { annotations?: Record<string, string> }) => d.annotations?.['org.opencontainers.image.ref.name'] === tag);
  const manifest = JSON.parse(readFileSync(join(layout, 'blobs/sha256', m.digest.slice(7)), 'utf8'));
  const last = manifest.layers[manifest.layers.length - 1];
  const blob = readFileSync(join(layout, 'blobs/sha256', last.digest.slice(7)));
  return collect(last.mediaType.endsWith('gzip') ? gunzipSync(blob) : blob).entries.map((e) => `${e.type} ${e.name}${e.linkname ? ` -> ${e.linkname}` : ''}`);
}

function layerCount(layout: string, tag: string): number {
  const r = JSON.parse(ok(['stat', '--json', '--image', `${layout}:${tag}`]));
  return r.manifest.blob.layers.length as number;
}

test('round trip as root: every kind of change survives repack and unpack', { skip }, () => {
  const dir = scratchDir('repack-rt');
  try {
    const layout = join(dir, 'layout');
    writeRichImage(layout);
    const b1 = join(dir, 'b1');
    ok(['unpack', '--image', `${layout}:latest`, b1]);
    change(join(b1, 'rootfs'));
    const r = JSON.parse(ok(['repack', '--json', '--image', `${layout}:changed`, b1]));
    assert.ok(r.layer);
    assert.ok(r.hashed >= 1, 'the same-size change was found by hashing');
    const b2 = join(dir, 'b2');
    ok(['unpack', '--image', `${layout}:changed`, b2]);
    const changed = listTree(join(b1, 'rootfs'));
    // directories no entry declares carry the time of the unpack, and a directory whose
    // mtime moved within the same second is unchanged for go-mtree (tar_time is whole seconds)
    const diffs = diffTrees(changed, listTree(join(b2, 'rootfs')), unpackTimeDirs(changed));
    assert.deepEqual(diffs, [], diffs.join('\n'));
    const entries = layerEntries(layout, 'changed');
    assert.ok(entries.includes('file var/.wh.cache'), 'a deleted tree is one whiteout');
    assert.ok(!entries.some((e) => e.startsWith('file var/cache/')), 'nothing under it');
    assert.ok(entries.includes('symlink escape -> /etc/shadow'));
    assert.ok(entries.includes('symlink opt/up -> ../../../../..'));
    assert.ok(!entries.some((e) => e.includes('srv/data/.wh') || e.includes('usr/bin/tool/.wh')), 'no whiteouts under replaced paths');
    assert.ok(entries.some((e) => /^hardlink opt\/new-hardlink -> opt\/new-file$/.test(e) || /^hardlink opt\/new-file -> opt\/new-hardlink$/.test(e)));
    assert.equal(layerCount(layout, 'changed'), layerCount(layout, 'latest') + 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an unchanged rootfs adds no layer; --no-history adds nothing at all', { skip }, () => {
  const dir = scratchDir('repack-same');
  try {
    const layout = join(dir, 'layout');
    writeRichImage(layout);
    const b = join(dir, 'b');
    ok(['unpack', '--image', `${layout}:latest`, b]);
    const r = JSON.parse(ok(['repack', '--json', '--image', `${layout}:same`, b]));
    assert.equal(r.layer, null);
    assert.equal(layerCount(layout, 'same'), layerCount(layout, 'latest'));
    const s = JSON.parse(ok(['stat', '--json', '--image', `${layout}:same`]));
    assert.equal(s.history[s.history.length - 1].empty_layer, true);
    ok(['repack', '--no-history', '--image', `${layout}:nohist`, b]);
    const base = JSON.parse(ok(['stat', '--json', '--image', `${layout}:latest`]));
    assert.equal(JSON.parse(ok(['stat', '--json', '--image', `${layout}:nohist`])).manifest.descriptor.digest, base.manifest.descriptor.digest);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('rootless and id-mapped bundles: owners go back to container ids', { skip }, async (t) => {
  const dir = scratchDir('repack-owners');
  try {
    const layout = join(dir, 'layout');
    writeRichImage(layout);
    const base = join(dir, 'base');
    ok(['unpack', '--image', `${layout}:latest`, base]);
    for (const [name, flags] of [['rootless', ['--rootless']], ['id maps', ['--uid-map', '0:100000:65536', '--gid-map', '0:200000:65536']]] as [string, string[]][]) {
      await t.test(name, () => {
        const tag = name.replace(' ', '-');
        const b = join(dir, `b-${tag}`);
        ok(['unpack', ...flags, '--image', `${layout}:latest`, b]);
        appendFileSync(join(b, 'rootfs/opt/owned'), '!'); // owned 4242:31337 in the image
        appendFileSync(join(base, 'rootfs/opt/owned'), '!');
        writeFileSync(join(b, 'rootfs/opt/added'), 'new');
        // a new file must be owned by a host id the maps cover (the mapped root here)
        if (name === 'id maps') chownSync(join(b, 'rootfs/opt/added'), 100000, 200000);
        ok(['repack', '--image', `${layout}:${tag}`, b]);
        const out = join(dir, `out-${tag}`);
        ok(['unpack', '--image', `${layout}:${tag}`, out]);
        const got = listTree(join(out, 'rootfs')).find((e) => e.path === 'opt/owned')!;
        assert.deepEqual([got.uid, got.gid], [4242, 31337]);
        const added = listTree(join(out, 'rootfs')).find((e) => e.path === 'opt/added')!;
        assert.deepEqual([added.uid, added.gid], [0, 0], 'a new file belongs to container root');
        rmSync(join(base, 'rootfs/opt/owned'));
        writeFileSync(join(base, 'rootfs/opt/owned'), readFileSync(join(out, 'rootfs/opt/owned')));
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('flags: --mask-path, SOURCE_DATE_EPOCH, --compress zstd|none, --refresh-bundle, --history.*', { skip }, () => {
  const dir = scratchDir('repack-flags');
  try {
    const layout = join(dir, 'layout');
    writeRichImage(layout);
    const b = join(dir, 'b');
    ok(['unpack', '--image', `${layout}:latest`, b]);
    writeFileSync(join(b, 'rootfs/opt/kept'), 'k');
    mkdirSync(join(b, 'rootfs/tmp/masked'));
    writeFileSync(join(b, 'rootfs/tmp/masked/x'), 'x');
    ok(['repack', '--mask-path', '/tmp/masked', '--compress', 'none', '--history.author', 'me', '--history.comment', 'c', '--history.created_by', 'by', '--history.created', '2020-01-02T03:04:05Z', '--image', `${layout}:masked`, b], { SOURCE_DATE_EPOCH: '1000' });
    const entries = layerEntries(layout, 'masked');
    assert.ok(entries.includes('file opt/kept'));
    assert.ok(!entries.some((e) => e.includes('tmp/masked')));
    const idx = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8'));
    const s = JSON.parse(ok(['stat', '--json', '--image', `${layout}:masked`]));
    assert.deepEqual({ ...s.history[s.history.length - 1] }, { ...s.history[s.history.length - 1], author: 'me', comment: 'c', created_by: 'by', created: '2020-01-02T03:04:05Z' });
    assert.ok(idx.manifests.length > 1);
    // zstd, and refresh: the next repack diffs against the new image
    if (hasCommand('zstd')) {
      ok(['repack', '--compress', 'zstd', '--refresh-bundle', '--image', `${layout}:z`, b]);
      assert.equal(JSON.parse(ok(['stat', '--json', '--image', `${layout}:z`])).manifest.blob.layers.at(-1).mediaType, 'application/vnd.oci.image.layer.v1.tar+zstd');
      const again = JSON.parse(ok(['repack', '--json', '--image', `${layout}:z2`, b]));
      assert.equal(again.layer, null, 'after --refresh-bundle nothing is new');
      const out = join(dir, 'out');
      ok(['unpack', '--image', `${layout}:z`, out]);
      assert.equal(readFileSync(join(out, 'rootfs/opt/kept'), 'utf8'), 'k');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('SOURCE_DATE_EPOCH clamps later mtimes in the layer', { skip }, () => {
  const dir = scratchDir('repack-sde');
  try {
    const layout = join(dir, 'layout');
    writeRichImage(layout);
    const b = join(dir, 'b');
    ok(['unpack', '--image', `${layout}:latest`, b]);
    writeFileSync(join(b, 'rootfs/opt/new'), 'n');
    ok(['repack', '--image', `${layout}:sde`, b], { SOURCE_DATE_EPOCH: '1000' });
    const out = join(dir, 'out');
    ok(['unpack', '--image', `${layout}:sde`, out]);
    assert.equal(listTree(join(out, 'rootfs')).find((e) => e.path === 'opt/new')!.mtime, '1000.000000000');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const hostile: [string, (b: string) => void, string][] = [
  ['garbage mtree', (b) => writeFileSync(join(b, mtreeOf(b)), 'this is not\n/frob\n'), 'EBUNDLE'],
  ['mtree naming a path outside the rootfs', (b) => appendFileSync(join(b, mtreeOf(b)), '../../etc/passwd type=file\n'), 'EBUNDLE'],
  ['mtree replaced by a symlink', (b) => { const m = mtreeOf(b); rmSync(join(b, m)); symlinkSync('/etc/passwd', join(b, m)); }, 'EBUNDLE'],
  ['umoci.json missing', (b) => rmSync(join(b, 'umoci.json')), 'EBUNDLE'],
  ['umoci.json with a bad descriptor', (b) => writeFileSync(join(b, 'umoci.json'), '{"umoci_version":"2","from_descriptor_path":{"descriptor_walk":[{"digest":"x"}]}}'), 'EBUNDLE'],
];

function mtreeOf(b: string): string {
  return execFileSync('ls', [b], { encoding: 'utf8' }).split('\n').find((n) => n.endsWith('.mtree'))!;
}

test('hostile bundle metadata: one coded error, the old tag untouched', { skip }, async (t) => {
  const dir = scratchDir('repack-hostile');
  try {
    const layout = join(dir, 'layout');
    writeRichImage(layout);
    for (const [name, spoil, code] of hostile) {
      await t.test(name, () => {
        const b = join(dir, `b-${name.replace(/\W+/g, '-')}`);
        ok(['unpack', '--image', `${layout}:latest`, b]);
        const mt = mtreeOf(b);
        spoil(b);
        const before = readFileSync(join(layout, 'index.json'), 'utf8');
        const r = runCli(['repack', '--image', `${layout}:latest`, b]);
        assert.equal(r.status, 4, r.stderr);
        assert.match(r.stderr, new RegExp(`^ocibundle: ${code}: `));
        assert.equal(r.stderr.trim().split('\n').length, 1);
        assert.equal(readFileSync(join(layout, 'index.json'), 'utf8'), before);
        void mt;
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a file that grows while it is repacked fails the repack; the tag stays', { skip }, () => {
  const dir = scratchDir('repack-grow');
  try {
    const layout = join(dir, 'layout');
    writeRichImage(layout);
    const b = join(dir, 'b');
    ok(['unpack', '--image', `${layout}:latest`, b]);
    const big = join(b, 'rootfs/opt/growing');
    writeFileSync(big, Buffer.alloc(64 << 20));
    const before = readFileSync(join(layout, 'index.json'), 'utf8');
    const writer = spawnSync('sh', ['-c', `(for i in $(seq 1 2000); do head -c 65536 /dev/zero >> ${big}; done) & ${process.execPath} ${join(process.cwd(), 'bin/ocibundle')} repack --image ${layout}:latest ${b}; echo "status $?"; wait`], { encoding: 'utf8' });
    const m = /status (\d+)/.exec(writer.stdout);
    if (m && m[1] === '0') return; // the writer lost the race: the file was read whole, a valid layer
    assert.equal(m?.[1], '1', writer.stdout + writer.stderr);
    assert.match(writer.stderr, /EIO: .*opt\/growing/);
    assert.equal(readFileSync(join(layout, 'index.json'), 'utf8'), before);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('differential with umoci 0.4.7: it unpacks our repacked image to our tree, repacks our bundles; we repack its bundles', { skip: skipUmoci }, () => {
  const dir = scratchDir('repack-umoci');
  try {
    const layout = join(dir, 'layout');
    writeRichImage(layout);
    // ours -> ours repack -> umoci unpack == ours unpack
    const b = join(dir, 'b');
    ok(['unpack', '--image', `${layout}:latest`, b]);
    change(join(b, 'rootfs'));
    ok(['repack', '--image', `${layout}:ours`, b]);
    const u = join(dir, 'u');
    sh('umoci', ['raw', 'unpack', '--image', `${layout}:ours`, u]);
    const o = join(dir, 'o');
    ok(['raw', 'unpack', '--image', `${layout}:ours`, o]);
    const dirsOnly = new Set(listTree(o).filter((e) => e.type === 'dir').map((e) => e.path));
    // umoci gives some directories the time of its unpack (see unpack-umoci.test.ts)
    const d1 = diffTrees(listTree(u), listTree(o), (p, f) => f === 'mtime' && dirsOnly.has(p));
    assert.deepEqual(d1, [], d1.join('\n'));
    // umoci repack of our (changed) bundle works
    const b3 = join(dir, 'b3');
    ok(['unpack', '--image', `${layout}:latest`, b3]);
    change(join(b3, 'rootfs'));
    sh('umoci', ['repack', '--image', `${layout}:theirs`, b3]);
    const t1 = join(dir, 't1');
    ok(['raw', 'unpack', '--image', `${layout}:theirs`, t1]);
    // umoci 0.4.7 writes whole-second mtimes into its layers (a documented difference)
    const d2 = diffTrees(listTree(join(b3, 'rootfs')), listTree(t1), (_p, f) => f === 'mtime');
    assert.deepEqual(d2, [], d2.join('\n'));
    // ocibundle repack of a umoci bundle
    const ub = join(dir, 'ub');
    sh('umoci', ['unpack', '--image', `${layout}:latest`, ub]);
    change(join(ub, 'rootfs'));
    ok(['repack', '--image', `${layout}:from-umoci`, ub]);
    const t2 = join(dir, 't2');
    ok(['raw', 'unpack', '--image', `${layout}:from-umoci`, t2]);
    const d3 = diffTrees(listTree(join(ub, 'rootfs')), listTree(t2), (p, f) => f === 'mtime' && dirsOnly.has(p));
    assert.deepEqual(d3, [], d3.join('\n'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('gc running next to repack and insert never removes their new blobs', { skip, timeout: 180_000 }, async () => {
  const dir = scratchDir('repack-gc');
  try {
    const layout = join(dir, 'layout');
    writeRichImage(layout);
    const b = join(dir, 'b');
    ok(['unpack', '--image', `${layout}:latest`, b]);
    writeFileSync(join(b, 'rootfs/opt/big'), Buffer.alloc(48 << 20, 7));
    const { spawn } = await import('node:child_process');
    const bin = join(process.cwd(), 'bin/ocibundle');
    let stop = false;
    let gcs = 0;
    const gcLoop = (async () => {
      while (!stop) {
        await new Promise<void>((res) => spawn(process.execPath, [bin, 'gc', '--layout', layout], { stdio: 'ignore' }).on('close', () => res()));
        gcs++;
      }
    })();
    try {
      for (let i = 0; i < 3; i++) {
        ok(['repack', '--image', `${layout}:r${i}`, b]);
        ok(['insert', '--image', `${layout}:r${i}`, join(b, 'rootfs/opt/big'), `/opt/copy${i}`]);
      }
    } finally {
      stop = true;
      await gcLoop;
    }
    assert.ok(gcs > 0, 'gc ran meanwhile');
    const v = runCli(['validate', '--layout', layout]);
    assert.equal(v.status, 0, v.stdout + v.stderr);
    ok(['raw', 'unpack', '--image', `${layout}:r2`, join(dir, 'out')]);
    assert.equal(statSync(join(dir, 'out/opt/copy2')).size, 48 << 20);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a bundle unpacked through an image index: repack writes a new index, other platforms kept', { skip }, async () => {
  const dir = scratchDir('repack-index');
  try {
    const { writeLayout, gzip } = await import('../../fixtures/layout.js');
    const { makeTar } = await import('../../fixtures/tar.js');
    const layout = join(dir, 'layout');
    const layer = gzip(makeTar([{ name: 'etc/', type: 'dir' }, { name: 'etc/os', content: 'base' }]));
    writeLayout(layout, { indexes: [{ tag: 'multi', images: [{ layers: [layer], platform: 'linux/amd64' }, { layers: [layer], platform: 'linux/arm64/v8' }] }] });
    const b = join(dir, 'b');
    ok(['unpack', '--platform', 'linux/amd64', '--image', `${layout}:multi`, b]);
    const meta = JSON.parse(readFileSync(join(b, 'umoci.json'), 'utf8'));
    assert.equal(meta.from_descriptor_path.descriptor_walk.length, 2, 'index entry, then the manifest');
    writeFileSync(join(b, 'rootfs/etc/os'), 'changed');
    ok(['repack', '--refresh-bundle', '--image', `${layout}:multi`, b]);
    const idx = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8'));
    const top = idx.manifests.find((m: { annotations?: Record<string, string> }) => m.annotations?.['org.opencontainers.image.ref.name'] === 'multi');
    assert.equal(top.mediaType, 'application/vnd.oci.image.index.v1+json');
    const inner = JSON.parse(readFileSync(join(layout, 'blobs/sha256', top.digest.slice(7)), 'utf8'));
    assert.deepEqual(inner.manifests.map((m: { platform: { architecture: string } }) => m.platform.architecture).sort(), ['amd64', 'arm64']);
    for (const [arch, want] of [['linux/amd64', 'changed'], ['linux/arm64/v8', 'base']] as const) {
      const out = join(dir, `out-${arch.replace(/\//g, '-')}`);
      ok(['raw', 'unpack', '--platform', arch, '--image', `${layout}:multi`, out]);
      assert.equal(readFileSync(join(out, 'etc/os'), 'utf8'), want);
    }
    const refreshed = JSON.parse(readFileSync(join(b, 'umoci.json'), 'utf8'));
    assert.equal(refreshed.from_descriptor_path.descriptor_walk[0].digest, top.digest, '--refresh-bundle points at the new index');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
