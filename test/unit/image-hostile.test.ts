// Every named hostile layout from fixtures/layout.ts fails with its own code when the image
// is resolved and each layer read through the verified stream (what the unpacker does), and
// `validateLayout` reports it too (for the layouts that open).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { after, test } from 'node:test';
import { openBlob, openLayout, resolveImage, validateLayout } from '../../src/image/index.js';
import { BROKEN, brokenLayout, type BrokenKind } from '../../fixtures/layout.js';
import { tmpDir } from '../helpers/layout-env.js';

const t = tmpDir('image-hostile-');
after(t.cleanup);

async function unpackLike(dir: string): Promise<void> {
  const img = await resolveImage(dir, 'latest', { platform: 'linux/amd64' });
  for (const l of img.layers) {
    const s = openBlob(img.layout, l);
    s.resume();
    await finished(s);
  }
}

for (const kind of Object.keys(BROKEN) as BrokenKind[]) {
  test(`hostile layout ${kind} fails with ${BROKEN[kind]}`, async () => {
    const dir = join(t.dir, kind);
    const { code } = await brokenLayout(dir, kind);
    await assert.rejects(unpackLike(dir), (e: Error & { code?: string }) => {
      assert.equal(e.code, code, e.message);
      return true;
    });
    // layouts that do not open, and a valid image merely lacking our platform, are not validate's business
    if (code === 'ENOLAYOUT' || code === 'EBADLAYOUT' || kind === 'index-no-platform') return;
    const r = await validateLayout(await openLayout(dir));
    assert.ok(r.problems.length > 0, `validate found nothing for ${kind}`);
    assert.ok(r.problems.some((p) => p.code === code), `${kind}: ${JSON.stringify(r.problems)}`);
  });
}

test('the intact layout reads cleanly', async () => {
  const dir = join(t.dir, 'intact');
  const { writeLayout, gzip, makeTar } = await import('../../fixtures/layout.js');
  writeLayout(dir, { images: [{ tag: 'latest', layers: [gzip(await makeTar([{ name: 'a', data: 'a' }]))] }] });
  await unpackLike(dir);
});
