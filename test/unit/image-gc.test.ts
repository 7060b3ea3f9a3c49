// gc: removes unreachable blobs and old temp files, keeps everything reachable through
// nested indexes, keeps fresh temp files, and deletes nothing when the walk fails.
import assert from 'node:assert/strict';
import { existsSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { gcLayout, openLayout, untagImage } from '../../src/image/index.js';
import { addBlob, blobPath, corruptBlob, gzip, makeTar, writeLayout } from '../../fixtures/layout.js';
import { rejectsWith, tmpDir } from '../helpers/layout-env.js';

const t = tmpDir('image-gc-');
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
  const oldTmp = join(d, '.ocibundle-tmp-1-old');
  const newTmp = join(d, '.ocibundle-tmp-1-new');
  writeFileSync(oldTmp, '');
  writeFileSync(newTmp, '');
  utimesSync(oldTmp, new Date(Date.now() - 3600e3), new Date(Date.now() - 3600e3));
  const r = await gcLayout(await openLayout(d));
  const drop = out.images[1]!;
  assert.deepEqual(new Set(r.removedBlobs), new Set([stray, drop.manifest.digest, drop.config.digest, drop.layers[0]!.digest]));
  assert.deepEqual(r.removedTemps, ['.ocibundle-tmp-1-old']);
  assert.ok(existsSync(newTmp));
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
