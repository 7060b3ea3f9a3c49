// index.json writes: tag/untag semantics (umoci's: re-tag moves, rm removes all), atomic
// writes that leave no temp file, the layout owner kept, in-process and stale-lock
// serialisation, and a lock held by a live process making others wait.
import assert from 'node:assert/strict';
import { chownSync, existsSync, readdirSync, statSync, writeFileSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { listTags, openLayout, tagImage, untagImage, updateIndex, REF_NAME_ANNOTATION } from '../../src/image/index.js';
import { acquireLock } from '../../src/host/lock.js';
import { LOCK_NAME } from '../../src/image/store.js';
import { readIndexJson, writeLayout } from '../../fixtures/layout.js';
import { rejectsWith, tmpDir } from '../helpers/layout-env.js';

const t = tmpDir('image-index-');
after(t.cleanup);
let n = 0;
const fresh = () => {
  const d = join(t.dir, `l${n++}`);
  const out = writeLayout(d, { images: [{ tag: 'a' }, { tag: 'b', config: { author: 'b' } }] });
  return { d, out };
};

test('tag adds, re-tag moves the name to the end, untag removes every entry', async () => {
  const { d, out } = fresh();
  await tagImage(await openLayout(d), 'a', 'c');
  assert.deepEqual(listTags(readIndexJson(d) as never), ['a', 'b', 'c']);
  await tagImage(await openLayout(d), 'b', 'a');
  assert.deepEqual(listTags(readIndexJson(d) as never), ['b', 'c', 'a']);
  const entries = readIndexJson(d).manifests;
  assert.equal(entries[2]!.digest, out.images[1]!.manifest.digest);
  assert.equal(entries[1]!.digest, out.images[0]!.manifest.digest);
  assert.equal(await untagImage(await openLayout(d), 'c'), 1);
  assert.equal(await untagImage(await openLayout(d), 'zzz'), 0);
  assert.deepEqual(listTags(readIndexJson(d) as never), ['b', 'a']);
});

test('tag errors: missing source, invalid new name', async () => {
  const { d } = fresh();
  await rejectsWith(tagImage(await openLayout(d), 'nope', 'x'), 'ENOTAG');
  await rejectsWith(tagImage(await openLayout(d), 'a', 'bad name'), 'EBADREF');
  await rejectsWith(tagImage(await openLayout(d), 'a', ''), 'EBADREF');
});

test('writes are atomic and leave no temp file; unchanged index is not rewritten', async () => {
  const { d } = fresh();
  const before = statSync(join(d, 'index.json')).ino;
  await untagImage(await openLayout(d), 'nothing-here');
  assert.equal(statSync(join(d, 'index.json')).ino, before, 'no-op rm must not rewrite');
  await tagImage(await openLayout(d), 'a', 'z');
  assert.notEqual(statSync(join(d, 'index.json')).ino, before, 'replaced by rename');
  assert.deepEqual(readdirSync(d).sort(), ['blobs', 'index.json', 'oci-layout']);
});

test('a stale snapshot is not trusted: changes made after open are kept', async () => {
  const { d } = fresh();
  const l1 = await openLayout(d);
  const l2 = await openLayout(d);
  await tagImage(l1, 'a', 'one');
  await tagImage(l2, 'a', 'two');
  assert.deepEqual(listTags(readIndexJson(d) as never), ['a', 'b', 'one', 'two']);
});

test('concurrent updates in one process are serialised', async () => {
  const { d } = fresh();
  await Promise.all(Array.from({ length: 20 }, async (_, i) => tagImage(await openLayout(d), 'a', `t${i}`)));
  const tags = listTags(readIndexJson(d) as never);
  assert.equal(tags.length, 22);
  for (let i = 0; i < 20; i++) assert.ok(tags.includes(`t${i}`));
});

test('new index keeps the layout directory owner', { skip: process.getuid?.() !== 0 && 'needs root' }, async () => {
  const { d } = fresh();
  chownSync(d, 1234, 2345);
  await tagImage(await openLayout(d), 'a', 'owned');
  const st = statSync(join(d, 'index.json'));
  assert.equal(st.uid, 1234);
  assert.equal(st.gid, 2345);
});

test('a stale lock (dead owner) is broken', async () => {
  const { d } = fresh();
  writeFileSync(join(d, LOCK_NAME), `999999999 ${hostname()} 12345 abc\n`);
  await tagImage(await openLayout(d), 'a', 'after-stale');
  assert.ok(listTags(readIndexJson(d) as never).includes('after-stale'));
  assert.equal(existsSync(join(d, LOCK_NAME)), false);
});

test('a lock held by a live owner makes others wait, then ELOCK', async () => {
  const { d } = fresh();
  const release = await acquireLock(join(d, LOCK_NAME));
  const holder = readFileSync(join(d, LOCK_NAME), 'utf8');
  assert.match(holder, new RegExp(`^${process.pid} `));
  await rejectsWith(acquireLock(join(d, LOCK_NAME), 150), 'ELOCK', /held by/);
  let done = false;
  const waiting = tagImage(await openLayout(d), 'a', 'waited').then(() => (done = true));
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(done, false);
  await release();
  await waiting;
  assert.ok(listTags(readIndexJson(d) as never).includes('waited'));
});

test('updateIndex validates what mutate returns', async () => {
  const { d } = fresh();
  const l = await openLayout(d);
  await rejectsWith(updateIndex(l, (idx) => ({ ...idx, manifests: [{ mediaType: 'a/b', digest: 'nope', size: 1 }] })), 'ESCHEMA');
  await updateIndex(l, (idx) => ({ ...idx, manifests: idx.manifests.map((m) => ({ ...m, annotations: { ...m.annotations, [REF_NAME_ANNOTATION]: `x-${m.annotations?.[REF_NAME_ANNOTATION]}` } })) }));
  assert.deepEqual(listTags(readIndexJson(d) as never), ['x-a', 'x-b']);
  assert.equal(existsSync(join(d, LOCK_NAME)), false);
});

test('index.json keeps its permission bits; new blobs keep the layout owner', async () => {
  const { d } = fresh();
  const { chmodSync } = await import('node:fs');
  chmodSync(join(d, 'index.json'), 0o600);
  await tagImage(await openLayout(d), 'a', 'mode');
  assert.equal(statSync(join(d, 'index.json')).mode & 0o777, 0o600);
  if (process.getuid?.() === 0) {
    chownSync(d, 4321, 5432);
    const l = await openLayout(d);
    const digest = await l.store.putBlob(Buffer.from('new blob'));
    const st = statSync(join(d, 'blobs', 'sha256', digest.slice(7)));
    assert.deepEqual([st.uid, st.gid, st.mode & 0o777], [4321, 5432, 0o644]);
    assert.deepEqual(readdirSync(d).sort(), ['blobs', 'index.json', 'oci-layout']);
  }
});
