// copyImage (library): Docker media types become OCI ones (manifest and config re-serialised,
// layer bytes and digests kept), a multi-platform index is copied whole or one platform with
// `platform`, blobs already in DEST are not read again, the tag moves under the index lock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { gzip, makeTar, writeLayout, corruptBlob, readIndexJson, blobPath } from '../../fixtures/layout.js';
import { copyImage, parseDestName } from '../../src/source/copy.js';
import { validateLayout, openLayout } from '../../src/image/index.js';
import { OciBundleError } from '../../src/errors.js';
import { scratchDir } from '../helpers/cli.js';

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const OCI_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';

async function dockerMulti(dir: string) {
  const a = gzip(await makeTar([{ name: 'a.txt', data: 'amd64\n' }]));
  const b = gzip(await makeTar([{ name: 'b.txt', data: 'arm64\n' }]));
  return writeLayout(dir, {
    images: [{ tag: 'single', layers: [a], docker: true }],
    indexes: [{ tag: 'multi', docker: true, images: [{ platform: 'linux/amd64', layers: [a] }, { platform: 'linux/arm64/v8', layers: [b] }] }],
  });
}

function doc(dir: string, digest: string): Record<string, any> {
  return JSON.parse(readFileSync(blobPath(dir, digest), 'utf8')) as Record<string, any>;
}

test('parseDestName', async (t) => {
  const cases: [string, string, unknown][] = [
    ['bare path', 'out', { kind: 'oci', path: 'out', tag: 'latest' }],
    ['oci with tag', 'oci:out:v1', { kind: 'oci', path: 'out', tag: 'v1' }],
    ['oci-archive', 'oci-archive:o.tar:v2', { kind: 'oci-archive', path: 'o.tar', tag: 'v2' }],
    ['docker:// refused', 'docker://h/r:t', 'EUSAGE'],
    ['docker-archive refused', 'docker-archive:x.tar', 'EUSAGE'],
    ['digest refused', `out@sha256:${'a'.repeat(64)}`, 'EUSAGE'],
  ];
  for (const [name, input, want] of cases) {
    await t.test(name, () => {
      if (typeof want === 'string') assert.throws(() => parseDestName(input), (e: unknown) => e instanceof OciBundleError && e.code === want);
      else assert.deepEqual(parseDestName(input), want);
    });
  }
});

test('copy converts docker media types to oci, keeping layer bytes', async (t) => {
  const dir = scratchDir('source-copy');
  try {
    const src = join(dir, 'src');
    const built = await dockerMulti(src);
    await t.test('a docker manifest', async () => {
      const dest = join(dir, 'd1');
      const r = await copyImage(`${src}:single`, `oci:${dest}:s`);
      assert.equal(r.descriptor.mediaType, OCI_MANIFEST);
      const m = doc(dest, r.descriptor.digest);
      assert.equal(m['mediaType'], OCI_MANIFEST);
      assert.equal(m['config'].mediaType, OCI_CONFIG);
      assert.deepEqual(doc(dest, m['config'].digest), doc(src, built.images[0]!.config.digest), 'config re-serialised, same content');
      assert.equal(m['layers'][0].mediaType, OCI_GZIP);
      assert.equal(m['layers'][0].digest, built.images[0]!.layers[0]!.digest, 'layer digest kept');
      assert.deepEqual((await validateLayout(await openLayout(dest))).problems, []);
    });
    await t.test('a docker manifest list is copied whole', async () => {
      const dest = join(dir, 'd2');
      const r = await copyImage(`oci:${src}:multi`, dest);
      assert.equal(r.descriptor.mediaType, OCI_INDEX);
      const idx = doc(dest, r.descriptor.digest);
      assert.equal(idx['manifests'].length, 2);
      assert.deepEqual(idx['manifests'].map((m: any) => `${m.platform.os}/${m.platform.architecture}`), ['linux/amd64', 'linux/arm64']);
      for (const m of idx['manifests']) assert.equal(doc(dest, m.digest)['mediaType'], OCI_MANIFEST);
      assert.equal(readIndexJson(dest).manifests[0]!.annotations!['org.opencontainers.image.ref.name'], 'latest');
      assert.deepEqual((await validateLayout(await openLayout(dest))).problems, []);
    });
    await t.test('--platform picks one manifest', async () => {
      const dest = join(dir, 'd3');
      const r = await copyImage(`${src}:multi`, `${dest}:arm`, { platform: 'linux/arm64/v8' });
      assert.equal(r.descriptor.mediaType, OCI_MANIFEST);
      assert.equal(doc(dest, r.descriptor.digest)['layers'][0].digest, built.indexes[0]!.images[1]!.layers[0]!.digest);
    });
    await t.test('a missing platform is ENOPLATFORM listing the available ones', async () => {
      await assert.rejects(copyImage(`${src}:multi`, join(dir, 'd4'), { platform: 'linux/s390x' }), (e: unknown) => e instanceof OciBundleError && e.code === 'ENOPLATFORM' && /linux\/amd64/.test(e.message));
    });
    await t.test('blobs already present are not read again; the tag moves', async () => {
      const dest = join(dir, 'd5');
      const first = await copyImage(`${src}:multi`, `${dest}:one`);
      assert.ok(first.copied >= 5, `copied ${first.copied}`);
      // corrupt every source blob: any re-read would fail its digest check
      for (const img of built.indexes[0]!.images) for (const l of img.layers) corruptBlob(src, l.digest);
      const again = await copyImage(`${src}:multi`, `${dest}:one`);
      assert.equal(again.copied, 0);
      assert.ok(again.skipped >= 2);
      assert.equal(again.descriptor.digest, first.descriptor.digest);
      assert.deepEqual(readIndexJson(dest).manifests.map((m) => m.annotations?.['org.opencontainers.image.ref.name']), ['one']);
      // and into a fresh destination the corrupted source is refused
      await assert.rejects(copyImage(`${src}:multi`, join(dir, 'd6')), (e: unknown) => e instanceof OciBundleError && e.code === 'EDIGEST');
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
