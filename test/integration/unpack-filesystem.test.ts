// Issue 9, "the file system": the disk check uses the real free space (a reserve only on large
// file systems) and says `needs N bytes, M free`; sparse tar entries (GNU and PAX) become holes;
// --rootless as a non-root user restores every file's declared mode, as umoci --rootless does.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, closeSync, existsSync, mkdirSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { gzip, makeTar, type FixtureEntry } from '../../fixtures/tar.js';
import { hasCommand } from '../helpers/cli.js';
import { diffTrees, listTree } from '../helpers/tree.js';
import { imageOf, makeArea, oneErrorLine, removeAll, runCli, type Area } from '../helpers/unpack-env.js';

const root = process.getuid?.() === 0;
const skip = !root && 'needs root (tmpfs mounts, an unprivileged user)';
const MIB = 1024 * 1024;
let area: Area;
before(() => {
  area = makeArea('unpack-fs-', 1024);
});
after(() => area?.cleanup());

/** A tmpfs of `mb` MiB at a fresh path of the area; returns it and its unmount. */
function smallTmpfs(mb: number): { dir: string; done: () => void } {
  const dir = area.fresh('small');
  mkdirSync(dir);
  assert.equal(spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${mb}m`, 'tmpfs', dir]).status, 0);
  return { dir, done: () => spawnSync('umount', ['-l', dir]) };
}

const filesOf = (count: number, each: number): FixtureEntry[] => {
  const out: FixtureEntry[] = [{ name: 'etc/passwd', content: 'root:x:0:0::/:/bin/sh\n' }];
  for (let i = 0; i < count; i++) out.push({ name: `data/f${i}`, content: randomBytes(each) });
  return out;
};

test('DISK_RESERVE_BYTES: an image that fits a small tmpfs unpacks; one that does not says needs N bytes, M free', { skip }, async (t) => {
  await t.test('6 MiB of files onto a 10 MiB tmpfs', () => {
    const { image } = imageOf(area, [gzip(makeTar(filesOf(6, MIB)))]);
    const fs = smallTmpfs(10);
    try {
      const r = runCli(['unpack', '--image', image, join(fs.dir, 'bundle')]);
      assert.equal(r.status, 0, r.stderr);
      assert.ok(existsSync(join(fs.dir, 'bundle', 'rootfs', 'data', 'f5')));
    } finally {
      fs.done();
    }
  });
  await t.test('busybox onto a 10 MiB tmpfs', { skip: !existsSync('/tmp/ocibundle-images/busybox/index.json') && 'no /tmp/ocibundle-images/busybox' }, () => {
    const fs = smallTmpfs(10);
    try {
      const r = runCli(['unpack', '--image', '/tmp/ocibundle-images/busybox:latest', join(fs.dir, 'bundle')]);
      assert.equal(r.status, 0, r.stderr);
    } finally {
      fs.done();
    }
  });
  await t.test('12 MiB of files onto a 10 MiB tmpfs: ELIMIT naming the need and the free space', () => {
    const { image } = imageOf(area, [gzip(makeTar(filesOf(12, MIB)))]);
    const fs = smallTmpfs(10);
    try {
      const bundle = join(fs.dir, 'bundle');
      const r = runCli(['unpack', '--image', image, bundle]);
      assert.equal(r.status, 6, r.stderr);
      assert.deepEqual(oneErrorLine(r.stderr), { lines: 1, code: 'ELIMIT' });
      const m = /needs (\d+) bytes, (\d+) free/.exec(r.stderr);
      assert.ok(m, r.stderr);
      assert.ok(Number(m[1]) > Number(m[2]), `the need exceeds the free space: ${r.stderr}`);
      assert.ok(!existsSync(bundle), 'the failed run removed the bundle it created');
    } finally {
      fs.done();
    }
  });
});

const GIB2 = 2 * 1024 * MIB;

test('sparse tar entries (GNU and PAX sparse) are written as holes: a 2 GiB sparse file allocates little', { skip, timeout: 120_000 }, async (t) => {
  const head = Buffer.from('head of the file\n');
  const tail = Buffer.from('tail\n');
  const formats = ['gnu-old', 'pax-0.0', 'pax-0.1', 'pax-1.0'] as const;
  const shapes: { name: string; map: [number, number][]; stored: Buffer }[] = [
    { name: 'data, hole, data at the end', map: [[0, head.length], [GIB2 - tail.length, tail.length]], stored: Buffer.concat([head, tail]) },
    { name: 'a hole first, data in the middle, a trailing hole', map: [[MIB * 700, head.length]], stored: head },
  ];
  for (const format of formats) {
    for (const shape of shapes) {
      await t.test(`${format}: ${shape.name}`, () => {
        const layer = gzip(makeTar([{ name: 'sparse', content: shape.stored, sparse: { format, map: shape.map, realSize: GIB2 } }]));
        const { image } = imageOf(area, [layer]);
        const rootfs = area.fresh('sparse');
        const r = runCli(['raw', 'unpack', '--image', image, rootfs]);
        assert.equal(r.status, 0, r.stderr);
        const st = statSync(join(rootfs, 'sparse'));
        assert.equal(st.size, GIB2);
        t.diagnostic(`${format}, ${shape.name}: layer ${layer.length} bytes, file ${st.size} bytes, ${st.blocks * 512} allocated`);
        assert.ok(st.blocks * 512 <= 64 * 1024, `allocated ${st.blocks * 512} bytes`);
        const fd = openSync(join(rootfs, 'sparse'), 'r');
        try {
          let at = 0;
          for (const [off, len] of shape.map) {
            const got = Buffer.alloc(len);
            readSync(fd, got, 0, len, off);
            assert.deepEqual(got, shape.stored.subarray(at, at + len), `data at ${off}`);
            at += len;
          }
          const gap = Buffer.alloc(4096, 1);
          readSync(fd, gap, 0, gap.length, MIB);
          assert.ok(gap.every((b) => b === 0), 'a hole reads as zeros');
        } finally {
          closeSync(fd);
        }
        removeAll(rootfs);
      });
    }
  }
});

// --rootless as an unprivileged user (nobody), against `umoci raw unpack --rootless` run as the
// same user. Root (CI) runs both through spawn's uid/gid; the child needs the CLI readable.
const NOBODY = 65534;
const asNobody = { uid: NOBODY, gid: NOBODY };
const nobodyRuns = root && spawnSync(process.execPath, [join(import.meta.dirname, '../../../bin/ocibundle'), '--version'], { ...asNobody, cwd: '/' }).status === 0;
const rootlessSkip = skip || (!hasCommand('umoci') ? 'needs umoci' : !nobodyRuns ? 'the CLI is not readable by uid 65534' : false);

function rootlessPair(image: string, tag: string): { ours: string; theirs: string; ok: (r: ReturnType<typeof spawnSync>) => void } {
  const dir = area.fresh(tag);
  mkdirSync(dir, { mode: 0o755 });
  chownSync(dir, NOBODY, NOBODY);
  const ours = join(dir, 'ours');
  const theirs = join(dir, 'theirs');
  const ok = (r: ReturnType<typeof spawnSync>) => assert.equal(r.status, 0, String(r.stderr));
  ok(spawnSync(process.execPath, [join(import.meta.dirname, '../../../bin/ocibundle'), 'raw', 'unpack', '--rootless', '--image', image, ours], { ...asNobody, cwd: dir, encoding: 'utf8', timeout: 300_000 }));
  ok(spawnSync('umoci', ['raw', 'unpack', '--rootless', '--image', image, theirs], { ...asNobody, cwd: dir, encoding: 'utf8', timeout: 300_000, env: { ...process.env, HOME: dir } }));
  return { ours, theirs, ok };
}

const modeEntries: FixtureEntry[] = [
  { name: 'etc/passwd', content: 'root:x:0:0::/:/bin/sh\n' },
  { name: 'f0400', content: 'read only\n', mode: 0o400 },
  { name: 'f0000', content: 'no access\n', mode: 0o000 },
  { name: 'f0444', content: 'all read\n', mode: 0o444 },
  { name: 'f0640', content: 'group read\n', mode: 0o640, uid: 1000, gid: 1000 },
  { name: 'f4755', content: 'setuid\n', mode: 0o4755 },
  { name: 'f0111', content: 'exec only\n', mode: 0o111 },
  { name: 'ro/', type: 'dir', mode: 0o555 },
  { name: 'ro/inner0400', content: 'inside a read-only dir\n', mode: 0o400 },
  { name: 'link0000', type: 'hardlink', linkname: 'f0000' },
  { name: 'sym', type: 'symlink', linkname: 'f0400' },
];

test('--rootless restores every file’s declared mode (0400, 0000) like umoci unpack --rootless', { skip: rootlessSkip, timeout: 600_000 }, async (t) => {
  await t.test('fixture with modes 0400, 0000, 0444, 0640, 4755, 0111 and a 0555 dir', () => {
    const { image } = imageOf(area, [gzip(makeTar(modeEntries))]);
    const { ours, theirs } = rootlessPair(image, 'rootless');
    const a = listTree(ours);
    const b = listTree(theirs);
    assert.deepEqual(diffTrees(a, b, (_p, field) => field === 'mtime'), []);
    const modes = Object.fromEntries(a.filter((e) => e.path.startsWith('f') || e.path.startsWith('ro')).map((e) => [e.path, e.mode]));
    assert.deepEqual(modes, { f0000: '0000', f0111: '0111', f0400: '0400', f0444: '0444', f0640: '0640', f4755: '4755', ro: '0555', 'ro/inner0400': '0400' });
    removeAll(join(ours, '..'));
  });
  await t.test('debian: the same modes as umoci --rootless', { skip: !existsSync('/tmp/ocibundle-images/debian/index.json') && 'no /tmp/ocibundle-images/debian' }, (t) => {
    const layout = area.fresh('debian'); // a copy the unprivileged user can read
    assert.equal(spawnSync('cp', ['-r', '/tmp/ocibundle-images/debian', layout]).status, 0);
    assert.equal(spawnSync('chmod', ['-R', 'a+rX', layout]).status, 0);
    const { ours, theirs } = rootlessPair(`${layout}:latest`, 'rootless-debian');
    const modesOf = (dir: string) => listTree(dir, { xattrs: false }).map((e) => `${e.path} ${e.type} ${e.mode}`);
    const a = modesOf(ours);
    const b = new Set(modesOf(theirs));
    assert.deepEqual(a.filter((l) => !b.has(l)).slice(0, 20), []);
    assert.equal(a.length, b.size);
    t.diagnostic(`debian: ${a.length} entries, modes equal to umoci --rootless`);
    removeAll(join(ours, '..'));
    removeAll(layout);
  });
});
