// Temp files around copy and pulls: the next run of the same kind clears the temps of killed
// runs (beside an oci-archive, dir: or docker-archive: destination, a --dest-compress work
// layout, in a --cache-dir), symlinked dir:/docker-archive: destinations are not followed into
// a victim, `gc --cache-dir` cleans a cache
// and `gc --layout CACHE` says to use it, and planted symlinks at temp names are never followed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { copyImage } from '../../src/source/copy.js';
import { openOciArchive } from '../../src/source/oci-archive.js';
import { listTags } from '../../src/image/tags.js';
import { parseTempName } from '../../src/host/temp.js';
import { gzip, makeTar, writeLayout } from '../../fixtures/layout.js';
import { runCli, runCliAsync, tmpDir } from '../helpers/layout-env.js';
import { startFakeRegistry } from '../helpers/registry-fake.js';

const t = tmpDir('copy-temps-');
test.after(t.cleanup);
// above any pid_max, so kill(pid, 0) says ESRCH
const DEAD_PID = 99999999;
let n = 0;
const fresh = () => {
  const d = join(t.dir, `d${++n}`);
  mkdirSync(d);
  return d;
};

async function source(dir: string): Promise<string> {
  const src = join(dir, 'src');
  const layers = [gzip(await makeTar([{ name: 'a', data: 'a\n' }])), gzip(await makeTar([{ name: 'b', data: Buffer.alloc(70_000, 1) }]))];
  writeLayout(src, { images: [{ tag: 'latest', layers }] });
  return src;
}

test('copy SRC oci-archive:FILE planted-symlink temp case: the victim is not overwritten', async () => {
  const d = fresh();
  const src = await source(d);
  const file = join(d, 'out.tar');
  const victim = join(d, 'victim');
  writeFileSync(victim, 'canary');
  // the names the archive writer used to open (predictable from the pid), planted as symlinks
  symlinkSync(victim, join(d, `.${basename(file)}.ocibundle-tmp-${process.pid}`));
  symlinkSync(victim, join(d, `${basename(file)}.ocibundle-tmp-${process.pid}-x`));
  await copyImage(`${src}:latest`, `oci-archive:${file}:v1`);
  assert.equal(readFileSync(victim, 'utf8'), 'canary');
  assert.deepEqual(listTags((await openOciArchive(file)).index), ['v1']);
});

test('FILE.ocibundle-tmp-PID-* temps of killed copies beside an oci-archive destination are cleared by the next copy', async () => {
  const d = fresh();
  const src = await source(d);
  const file = join(d, 'out.tar');
  const deadDir = join(d, `${basename(file)}.ocibundle-tmp-${DEAD_PID}-lq2x`);
  mkdirSync(join(deadDir, 'blobs', 'sha256'), { recursive: true });
  writeFileSync(join(deadDir, 'blobs', 'sha256', 'big'), Buffer.alloc(100_000));
  const deadFile = join(d, `.${basename(file)}.ocibundle-tmp-${DEAD_PID}`);
  writeFileSync(deadFile, 'half an archive');
  const deadNew = join(d, `.ocibundle-archive-${DEAD_PID}-0a1b2c.tmp`);
  mkdirSync(deadNew);
  const liveNew = join(d, `.ocibundle-archive-${process.pid}-0a1b2c.tmp`);
  mkdirSync(liveNew);
  const other = join(d, `other.tar.ocibundle-tmp-${DEAD_PID}-lq2x`);
  writeFileSync(other, 'another archive name: not this copy to judge');
  const r = runCli(['copy', `${src}:latest`, `oci-archive:${file}`]);
  assert.equal(r.status, 0, r.stderr);
  for (const p of [deadDir, deadFile, deadNew]) assert.equal(existsSync(p), false, `${basename(p)} cleared`);
  for (const p of [liveNew, other]) assert.ok(existsSync(p), `${basename(p)} kept`);
  assert.deepEqual(readdirSync(d).filter((x) => parseTempName(x)?.pid !== process.pid && x.includes('ocibundle')).sort(), [basename(other)]);
});

test('temp files in --cache-dir left by killed pulls are cleared by the next pull, and by gc --cache-dir', async () => {
  const d = fresh();
  const src = await source(d);
  const cache = join(d, 'cache');
  const blobs = join(cache, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  const hex = 'ab'.repeat(32);
  const plant = () => {
    const names = [`.tmp-${hex}-${DEAD_PID}-0123abcd`, `.ocibundle-blob-${DEAD_PID}-0123abcd.tmp`];
    for (const x of names) writeFileSync(join(blobs, x), 'partial');
    return names;
  };
  const live = join(blobs, `.ocibundle-blob-${process.pid}-0123abcd.tmp`);
  writeFileSync(live, 'a live pull');
  plant();
  const reg = await startFakeRegistry({ layoutDir: src });
  try {
    const r = await runCliAsync(['copy', `docker://${reg.host}/x/img:latest`, join(d, 'dest'), '--tls-verify=false', '--cache-dir', cache]);
    assert.equal(r.status, 0, r.stderr);
  } finally {
    await reg.close();
  }
  const left = readdirSync(blobs).filter((x) => x.startsWith('.'));
  assert.deepEqual(left, [basename(live)], 'the next pull cleared the dead temps');

  const planted = plant();
  const gc = runCli(['gc', '--cache-dir', cache, '--json']);
  assert.equal(gc.status, 0, gc.stderr);
  const out = JSON.parse(gc.stdout) as { removedTemps: string[] };
  assert.deepEqual(new Set(out.removedTemps), new Set(planted.map((x) => join('blobs', 'sha256', x))));
  assert.ok(existsSync(live));
  assert.equal(readdirSync(blobs).filter((x) => !x.startsWith('.')).length, 3, 'cached blobs (config and two layers) stay');
});

test('gc --layout CACHE refuses with a pointer to gc --cache-dir; gc needs exactly one of them', () => {
  const cache = join(fresh(), 'cache');
  mkdirSync(join(cache, 'blobs', 'sha256'), { recursive: true });
  const r = runCli(['gc', '--layout', cache]);
  assert.equal(r.status, 3);
  assert.match(r.stderr, /^ocibundle: ENOLAYOUT: .* is a blob cache, not an oci image layout: use gc --cache-dir /);
  assert.equal(runCli(['gc']).status, 2);
  assert.equal(runCli(['gc', '--cache-dir', join(t.dir, 'nowhere')]).status, 3);
});

test('temps of a killed copy into a layout (root and blobs/sha256) are cleared by the next copy into it', async () => {
  const d = fresh();
  const src = await source(d);
  const dest = join(d, 'dest');
  assert.equal(runCli(['copy', `${src}:latest`, `${dest}:a`]).status, 0);
  const dead = [join(dest, `.ocibundle-index-${DEAD_PID}-0a1b.tmp`), join(dest, 'blobs', 'sha256', `.ocibundle-blob-${DEAD_PID}-0a1b.tmp`), join(dest, `.ocibundle-tmp-${DEAD_PID}-0a1b`)];
  const live = join(dest, 'blobs', 'sha256', `.ocibundle-blob-${process.pid}-0a1b.tmp`);
  for (const p of [...dead, live]) writeFileSync(p, 'partial');
  const r = runCli(['copy', `${src}:latest`, `${dest}:b`]);
  assert.equal(r.status, 0, r.stderr);
  for (const p of dead) assert.equal(existsSync(p), false, `${basename(p)} cleared`);
  assert.ok(existsSync(live), 'a live owner’s temp stays');
});

test('dir:, docker-archive: and --dest-compress: temps of killed copies are cleared by the next copy; live ones stay', async (t2) => {
  const cases: { name: string; kind: string; dest: (d: string) => string; flags?: { compression: 'zstd' } }[] = [
    { name: 'dir:', kind: 'dir', dest: (d) => `dir:${join(d, 'out')}` },
    { name: 'docker-archive:', kind: 'archive', dest: (d) => `docker-archive:${join(d, 'out.tar')}:app:v1` },
    { name: '--dest-compress work layout', kind: 'recompress', dest: (d) => `oci:${join(d, 'out')}:x`, flags: { compression: 'zstd' } },
  ];
  for (const c of cases) {
    await t2.test(c.name, async () => {
      const d = fresh();
      const src = await source(d);
      const dead = join(d, `.ocibundle-${c.kind}-${DEAD_PID}-0a1b2c.tmp`);
      mkdirSync(dead);
      writeFileSync(join(dead, 'half'), Buffer.alloc(10_000));
      const live = join(d, `.ocibundle-${c.kind}-${process.pid}-0a1b2c.tmp`);
      mkdirSync(live);
      await copyImage(`${src}:latest`, c.dest(d), c.flags ?? {});
      assert.equal(existsSync(dead), false, 'the dead copy\'s temp is gone');
      assert.equal(existsSync(live), true, 'a live owner\'s temp stays');
      const left = readdirSync(d).filter((x) => parseTempName(x) !== undefined && x !== basename(live));
      assert.deepEqual(left, [], 'this copy left no temp');
    });
  }
});

test('dir: and docker-archive: destinations that are symlinks: the link is not followed into a victim', async () => {
  const d = fresh();
  const src = await source(d);
  const victimDir = join(d, 'victim-dir');
  mkdirSync(victimDir);
  writeFileSync(join(victimDir, 'keep'), 'canary');
  symlinkSync(victimDir, join(d, 'linked-dir'));
  await assert.rejects(copyImage(`${src}:latest`, `dir:${join(d, 'linked-dir')}`), (e: unknown) => (e as { code?: string }).code === 'EEXIST' && /symlink/.test((e as Error).message));
  assert.deepEqual(readdirSync(victimDir), ['keep']);
  const victim = join(d, 'victim.tar');
  writeFileSync(victim, 'canary');
  symlinkSync(victim, join(d, 'linked.tar'));
  await copyImage(`${src}:latest`, `docker-archive:${join(d, 'linked.tar')}`);
  assert.equal(readFileSync(victim, 'utf8'), 'canary', 'the archive replaced the link, not what it named');
});

test('an oci-archive or docker-archive FILE that is a directory: EEXIST naming FILE, no temp left', async (t2) => {
  for (const kind of ['oci-archive', 'docker-archive']) {
    await t2.test(kind, async () => {
      const d = fresh();
      const src = await source(d);
      const file = join(d, 'a-dir');
      mkdirSync(file);
      writeFileSync(join(file, 'keep'), 'canary');
      await assert.rejects(copyImage(`${src}:latest`, `${kind}:${file}`), (e: unknown) => (e as { code?: string }).code === 'EEXIST' && (e as Error).message === `${file} is a directory; refused`);
      assert.deepEqual(readdirSync(file), ['keep']);
      assert.deepEqual(readdirSync(d).filter((x) => parseTempName(x) !== undefined), [], 'no temp left');
    });
  }
});
