// validateLayout: a clean layout has no problems; each kind of damage is reported with
// its code, several problems are all reported, and --image scoping checks only that tag.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { openLayout, validateLayout } from '../../src/image/index.js';
import { appendToBlob, corruptBlob, fifoBlob, gzip, makeTar, writeLayout, readIndexJson, writeIndexJson, tagged, addJson, MEDIA } from '../../fixtures/layout.js';
import { tmpDir } from '../helpers/layout-env.js';

const t = tmpDir('image-validate-');
after(t.cleanup);
let n = 0;

async function build() {
  const d = join(t.dir, `l${n++}`);
  const layer = gzip(await makeTar([{ name: 'f', data: 'f' }]));
  const out = writeLayout(d, {
    images: [{ tag: 'one', layers: [layer] }, { tag: 'two', layers: [gzip(await makeTar([{ name: 'g', data: 'g' }]))], config: { author: 'two' } }],
    indexes: [{ tag: 'multi', images: [{ platform: 'linux/amd64', layers: [layer] }, { platform: 'linux/arm64' }] }],
  });
  return { d, out };
}

test('a clean layout validates', async () => {
  const { d } = await build();
  const r = await validateLayout(await openLayout(d));
  assert.deepEqual(r.problems, []);
  assert.equal(r.blobs, 9, `${r.blobs} blobs`);
});

test('damage is reported with its code, and every problem is listed', async () => {
  const { d, out } = await build();
  corruptBlob(d, out.images[0]!.layers[0]!.digest); // shared with multi/amd64
  appendToBlob(d, out.images[1]!.config.digest);
  fifoBlob(d, out.indexes[0]!.images[1]!.config.digest);
  const r = await validateLayout(await openLayout(d));
  const codes = r.problems.map((p) => p.code).sort();
  assert.deepEqual(codes, ['EBLOBTYPE', 'EDIGEST', 'ESIZE']);
  assert.ok(r.problems.every((p) => p.message.includes('sha256:')));
});

test('validate --image scopes to one tag, optionally one platform', async () => {
  const { d, out } = await build();
  corruptBlob(d, out.images[1]!.layers[0]!.digest);
  const l = await openLayout(d);
  assert.deepEqual((await validateLayout(l, { ref: 'one' })).problems, []);
  assert.equal((await validateLayout(l, { ref: 'two' })).problems[0]?.code, 'EDIGEST');
  assert.deepEqual((await validateLayout(l, { ref: 'multi', platform: 'linux/arm64' })).problems, []);
  assert.equal((await validateLayout(l, { ref: 'multi', platform: 'linux/s390x' })).problems[0]?.code, 'ENOPLATFORM');
  assert.equal((await validateLayout(l, { ref: 'nope' })).problems[0]?.code, 'ENOTAG');
  assert.deepEqual((await validateLayout(l, { ref: `@${out.images[0]!.manifest.digest}` })).problems, []);
});

test('bad tags, diff_id mismatches and unsupported layers are problems', async () => {
  const { d, out } = await build();
  const idx = readIndexJson(d);
  const cfg = addJson(d, { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }, MEDIA.config);
  const m = addJson(d, { schemaVersion: 2, mediaType: MEDIA.manifest, config: cfg, layers: [out.images[0]!.layers[0]!] }, MEDIA.manifest);
  const foreign = addJson(d, { schemaVersion: 2, mediaType: MEDIA.manifest, config: out.images[0]!.config, layers: [{ ...out.images[0]!.layers[0]!, mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip' }] }, MEDIA.manifest);
  writeIndexJson(d, [...idx.manifests, tagged(m, 'diffid'), tagged(foreign, 'foreign'), tagged(out.images[0]!.manifest, '-bad-')]);
  const codes = (await validateLayout(await openLayout(d))).problems.map((p) => p.code).sort();
  // the foreign layer's blob is present, so that image is valid
  assert.deepEqual(codes, ['EBADREF', 'EDIFFID']);
});
