// The two layer sources (worker thread with a shared ring, and inline) must deliver the same
// bytes and the same verification errors: blob digest, blob size and diff_id; gzip and
// uncompressed layers alike (the worker reads both through two reused buffers, blobChunks).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { gzip, makeTar } from '../../fixtures/tar.js';
import { appendToBlob, corruptBlob, writeLayout } from '../../fixtures/layout.js';
import { scratchDir } from '../helpers/cli.js';
import { drainLayers } from '../helpers/drain-layers.js';



test('worker and inline layer streams', async (t) => {
  const dir = scratchDir('streams');
  try {
    // Random content does not compress: several MiB per layer exercises ring wrap-around.
    const layers = [0, 1, 2].map((i) => gzip(makeTar([{ name: `f${i}`, content: randomBytes(3 * 1024 * 1024 + 12345 * i) }, { name: `g${i}`, content: 'x' }])));
    const built = writeLayout(join(dir, 'ok'), { images: [{ tag: 'latest', layers }] });
    const want = built.images[0]!.diffIds.map((d) => d.slice('sha256:'.length));
    for (const worker of [true, false]) {
      await t.test(`${worker ? 'worker' : 'inline'}: bytes hash to the diff_ids`, async () => {
        assert.deepEqual(await drainLayers(worker, join(dir, 'ok')), want);
      });
    }
    // uncompressed layers: the worker copies each read chunk into its ring before the next read
    const tars = [0, 1].map((i) => makeTar([{ name: `t${i}`, content: randomBytes(2 * 1024 * 1024 + 777 * i) }, { name: `u${i}`, content: 'y'.repeat(1000 + i) }]));
    const plain = writeLayout(join(dir, 'plain'), { images: [{ tag: 'latest', layerMediaType: 'application/vnd.oci.image.layer.v1.tar', layers: tars }] });
    const wantPlain = plain.images[0]!.diffIds.map((d) => d.slice('sha256:'.length));
    for (const worker of [true, false]) {
      await t.test(`${worker ? 'worker' : 'inline'}: uncompressed layers hash to the diff_ids`, async () => {
        assert.deepEqual(await drainLayers(worker, join(dir, 'plain')), wantPlain);
      });
    }
    const bad: [string, (layout: string, b: typeof built) => void, string][] = [
      ['corrupt blob', (l, b) => corruptBlob(l, b.images[0]!.layers[1]!.digest), 'ECOMPRESS|EDIGEST'],
      ['appended bytes', (l, b) => appendToBlob(l, b.images[0]!.layers[2]!.digest), 'ESIZE'],
    ];
    for (const [name, breakIt, codes] of bad) {
      const layout = join(dir, name.replace(/ /g, '-'));
      const b = writeLayout(layout, { images: [{ tag: 'latest', layers }] });
      breakIt(layout, b);
      for (const worker of [true, false]) {
        await t.test(`${worker ? 'worker' : 'inline'}: ${name}`, async () => {
          await assert.rejects(drainLayers(worker, layout), (e: { code?: string }) => new RegExp(`^(${codes})$`).test(e.code ?? ''));
        });
      }
    }
    const wrongDiff = join(dir, 'wrong-diffid');
    writeLayout(wrongDiff, { images: [{ tag: 'latest', layers, diffIds: [want[0], want[1], want[1]].map((h) => `sha256:${h}`) }] });
    for (const worker of [true, false]) {
      await t.test(`${worker ? 'worker' : 'inline'}: wrong diff_id`, async () => {
        await assert.rejects(drainLayers(worker, wrongDiff), { code: 'EDIFFID' });
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
