// Concurrency: copy against gc. A real `copy` process pulls a multi-blob image slowly from the
// fake registry into a layout while this process runs gc on that layout in a loop; the pins
// the copy writes under the index lock keep every blob it wrote (or reuses) alive, so after
// each round the layout validates and the tag is there. Also: the tag step's re-check.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { readdirSync, rmSync } from 'node:fs';
import { gzip, makeTar, writeLayout } from '../../fixtures/layout.js';
import { gcLayout, openLayout, validateLayout, listTags } from '../../src/image/index.js';
import { copyFromLayout } from '../../src/source/copy.js';
import type { BlobStore } from '../../src/image/store.js';
import { BIN, tmpDir } from '../helpers/layout-env.js';
import { startFakeRegistry } from '../helpers/registry-fake.js';

const t = tmpDir('copy-gc-');
test.after(t.cleanup);

const ROUNDS = 5;
const GC_RUNS = 30;

test('copy against gc: 30 gc runs in a loop against one copy, 5 rounds, layout valid and tag present every time', { timeout: 180_000 }, async () => {
  const src = join(t.dir, 'src');
  const layers = await Promise.all(Array.from({ length: 6 }, async (_, i) => gzip(await makeTar([{ name: `f${i}`, data: Buffer.alloc(40_000 + i, i + 1) }]))));
  writeLayout(src, { images: [{ tag: 'latest', layers }] });
  const reg = await startFakeRegistry({ layoutDir: src, slowBlobsMs: 60 });
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      const dest = join(t.dir, `dest${round}`);
      writeLayout(dest, { images: [{ tag: 'other' }] });
      const names = () => [...readdirSync(dest), ...readdirSync(join(dest, 'blobs', 'sha256'))];
      const before = new Set(names());
      const child = spawn(process.execPath, [BIN, 'copy', '--jobs', '2', `docker://${reg.host}/x/img:latest`, `${dest}:copied`, '--tls-verify=false'], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      const exited = new Promise<number | null>((r) => child.on('close', r));
      let running = true;
      void exited.then(() => (running = false));
      // start as soon as the copy's first new file lands (a pin, a temp or a blob)
      while (running && names().every((x) => before.has(x))) await new Promise((res) => setTimeout(res, 2));
      let removed = 0;
      let during = 0;
      for (let i = 0; i < GC_RUNS; i++) {
        const r = await gcLayout(await openLayout(dest));
        removed += r.removedBlobs.length;
        if (running) during++;
        await new Promise((res) => setTimeout(res, 10));
      }
      const status = await exited;
      assert.equal(status, 0, `round ${round}: copy failed: ${stderr}`);
      const layout = await openLayout(dest);
      const v = await validateLayout(layout);
      assert.deepEqual(v.problems, [], `round ${round}: layout valid`);
      assert.deepEqual(listTags(layout.index), ['other', 'copied'], `round ${round}: tag present`);
      console.log(`round ${round}: ${during} of ${GC_RUNS} gc runs while the copy ran, ${removed} blob(s) collected, ${v.blobs} blobs valid`);
    }
  } finally {
    await reg.close();
  }
});

test('the final tag step re-checks every referenced blob: a blob removed behind the copy fails it clearly', async () => {
  const src = join(t.dir, 'src2');
  const layers = [gzip(await makeTar([{ name: 'a', data: 'a' }])), gzip(await makeTar([{ name: 'b', data: 'b' }]))];
  const built = writeLayout(src, { images: [{ tag: 'latest', layers }] });
  const dest = join(t.dir, 'dest-vanish');
  writeLayout(dest, { images: [{ tag: 'other' }] });
  const layout = await openLayout(src);
  const victim = built.images[0]!.layers[0]!.digest;
  // reads: manifest, config, layer 0, layer 1; opening layer 1 removes layer 0 from DEST, as a rogue process might
  let reads = 0;
  const store: BlobStore = Object.create(layout.store) as BlobStore;
  store.openBlob = async (digest) => {
    const raw = await layout.store.openBlob(digest);
    if (++reads === 4) rmSync(join(dest, 'blobs', 'sha256', victim.slice(7)), { force: true });
    return raw;
  };
  await assert.rejects(copyFromLayout({ ...layout, store }, 'latest', `${dest}:copied`, { jobs: 1 }), (e: unknown) => {
    assert.equal((e as { code?: string }).code, 'ENOBLOB');
    assert.match((e as Error).message, new RegExp(`blob ${victim} is missing from .* no tag written`));
    return true;
  });
  assert.deepEqual(listTags((await openLayout(dest)).index), ['other']);
});
