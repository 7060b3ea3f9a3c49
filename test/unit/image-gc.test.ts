// gc: removes unreachable blobs and the temp files of dead owners, keeps everything reachable
// through nested indexes or pinned by a live writer, keeps a live owner's temps, removes dead
// writers' pins, and deletes nothing when the walk fails.
import assert from 'node:assert/strict';
import { existsSync, utimesSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { after, test } from 'node:test';
import { gcLayout, openLayout, untagImage } from '../../src/image/index.js';
import { addBlob, blobPath, corruptBlob, gzip, makeTar, writeLayout } from '../../fixtures/layout.js';
import { rejectsWith, tmpDir } from '../helpers/layout-env.js';
import { pinBlobs } from '../../src/image/pins.js';

const t = tmpDir('image-gc-');
// above any pid_max, so kill(pid, 0) says ESRCH
const DEAD_PID = 99999999;
after(t.cleanup);

test('gc removes what no tag reaches and keeps the rest', async () => {
  const d = join(t.dir, 'a');
  const layer = gzip(await makeTar([{ name: 'x', data: 'x' }]));
  const out = writeLayout(d, {
    images: [{ tag: 'keep', layers: [layer] }, { tag: 'drop', layers: [gzip(await makeTar([{ name: 'y', data: 'y' }]))], config: { author: 'd' } }],
    indexes: [{ tag: 'multi', images: [{ platform: 'linux/amd64' }, { platform: 'linux/arm64' }] }],
  });
  const stray = addBlob(d, 'stray').digest;
  await untagImage(await openLayout(d), 'drop');
  // temps whose owner is gone go at once (current and older names), a live owner's stay however old
  const deadTmp = join(d, `.ocibundle-blob-${DEAD_PID}-0123abcd.tmp`);
  const deadOld = join(d, `.ocibundle-tmp-${DEAD_PID}-old`);
  const liveTmp = join(d, `.ocibundle-index-${process.pid}-0123abcd.tmp`);
  for (const p of [deadTmp, deadOld, liveTmp]) writeFileSync(p, '');
  utimesSync(liveTmp, new Date(Date.now() - 3600e3), new Date(Date.now() - 3600e3));
  const r = await gcLayout(await openLayout(d));
  const drop = out.images[1]!;
  assert.deepEqual(new Set(r.removedBlobs), new Set([stray, drop.manifest.digest, drop.config.digest, drop.layers[0]!.digest]));
  assert.deepEqual(new Set(r.removedTemps), new Set([basename(deadTmp), basename(deadOld)]));
  assert.ok(existsSync(liveTmp));
  const keep = out.images[0]!;
  for (const g of [keep.manifest.digest, keep.config.digest, keep.layers[0]!.digest, out.indexes[0]!.index.digest, ...out.indexes[0]!.images.flatMap((i) => [i.manifest.digest, i.config.digest])]) {
    assert.ok(existsSync(blobPath(d, g)), `kept ${g}`);
  }
  const again = await gcLayout(await openLayout(d));
  assert.deepEqual(again.removedBlobs, []);
});

test('gc deletes nothing when a reachable document is broken', async () => {
  const d = join(t.dir, 'b');
  const out = writeLayout(d, { indexes: [{ tag: 'multi', images: [{ platform: 'linux/amd64' }] }] });
  const stray = addBlob(d, 'stray').digest;
  corruptBlob(d, out.indexes[0]!.index.digest);
  await rejectsWith(gcLayout(await openLayout(d)), 'EDIGEST');
  assert.ok(existsSync(blobPath(d, stray)));
});

test('gc spares the blobs a live writer pinned and removes pins whose writer is gone', async () => {
  const d = join(t.dir, 'c');
  writeLayout(d, { images: [{ tag: 'keep' }] });
  const pinned = addBlob(d, 'pinned by a live copy').digest;
  const orphan = addBlob(d, 'pinned by a dead copy').digest;
  const layout = await openLayout(d);
  const pin = await pinBlobs(layout, [pinned]);
  // a pin file left by a killed writer: nobody holds its flock
  const deadPin = join(d, `.ocibundle-pin-${DEAD_PID}-0123abcd.tmp`);
  writeFileSync(deadPin, `${DEAD_PID} host 1\n${orphan}\n`);
  const r = await gcLayout(layout);
  assert.deepEqual(r.removedBlobs, [orphan]);
  assert.ok(existsSync(blobPath(d, pinned)));
  assert.ok(r.removedTemps.includes(basename(deadPin)));
  await pin.release();
  const after = await gcLayout(layout);
  assert.deepEqual(after.removedBlobs, [pinned]);
});
