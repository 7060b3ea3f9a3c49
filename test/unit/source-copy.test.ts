// copyImage (library): Docker media types become OCI ones (manifest and config re-serialised,
// layer bytes and digests kept), a multi-platform index is copied whole or one platform with
// `platform`, blobs already in DEST are not read again, the tag moves under the index lock.
// Transfers overlap (`jobs`, timed over a slow source store), report progress, and a failed
// transfer leaves no tag and no temp file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { gzip, makeTar, writeLayout, corruptBlob, readIndexJson, blobPath } from '../../fixtures/layout.js';
import { copyFromLayout, copyImage, parseDestName, type CopyProgress } from '../../src/source/copy.js';
import { validateLayout, openLayout } from '../../src/image/index.js';
import type { Layout } from '../../src/image/layout.js';
import type { BlobStore } from '../../src/image/store.js';
import { OciBundleError } from '../../src/errors.js';
import { scratchDir } from '../helpers/cli.js';
import { parseTempName } from '../../src/host/temp.js';
import { formatPlatform, hostPlatform } from '../../src/image/platform.js';

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
    ['docker:// with a tag', 'docker://h/r:t', { kind: 'docker', path: 'h/r:t', tag: 't' }],
    ['docker:// without a tag is latest', 'docker://h:5000/r', { kind: 'docker', path: 'h:5000/r', tag: 'latest' }],
    ['docker:// with a digest refused', `docker://h/r@sha256:${'a'.repeat(64)}`, 'EUSAGE'],
    ['docker-archive', 'docker-archive:x.tar', { kind: 'docker-archive', path: 'x.tar' }],
    ['docker-archive with REPO:TAG', 'docker-archive:x.tar:busybox:v1', { kind: 'docker-archive', path: 'x.tar', repoTag: 'busybox:v1' }],
    ['docker-archive with a bad REPO:TAG', 'docker-archive:x.tar:Bad Name', 'EUSAGE'],
    ['dir', 'dir:out', { kind: 'dir', path: 'out' }],
    ['empty dir', 'dir:', 'EBADREF'],
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
    await t.test('a docker manifest list is copied whole with all', async () => {
      const dest = join(dir, 'd2');
      const r = await copyImage(`oci:${src}:multi`, dest, { all: true });
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
    await t.test('by default only the host platform is copied, and the tag names its manifest (as skopeo)', async () => {
      const dest = join(dir, 'd3h');
      const host = formatPlatform(hostPlatform());
      const pick = built.indexes[0]!.images.findIndex((_, i) => ['linux/amd64', 'linux/arm64/v8'][i] === host);
      if (pick < 0) return t.skip(`host platform ${host} is not in the fixture`);
      const r = await copyImage(`${src}:multi`, dest);
      assert.equal(r.descriptor.mediaType, OCI_MANIFEST);
      const entries = readIndexJson(dest).manifests;
      assert.equal(entries.length, 1);
      assert.equal(entries[0]!.platform, undefined, 'no platform in the entry, as skopeo writes it');
      assert.equal(doc(dest, r.descriptor.digest)['layers'][0].digest, built.indexes[0]!.images[pick]!.layers[0]!.digest);
      const other = built.indexes[0]!.images[1 - pick]!.layers[0]!.digest;
      assert.equal(existsSync(blobPath(dest, other)), false, 'the other platform\'s layer is not copied');
    });
    await t.test('all and platform together are EUSAGE', async () => {
      await assert.rejects(copyImage(`${src}:multi`, join(dir, 'd3x'), { all: true, platform: 'linux/amd64' }), (e: unknown) => e instanceof OciBundleError && e.code === 'EUSAGE');
      assert.equal(existsSync(join(dir, 'd3x')), false);
    });
    await t.test('a single manifest is copied whatever the platform asked for', async () => {
      const r = await copyImage(`${src}:single`, join(dir, 'd3s'), { platform: 'linux/s390x' });
      assert.equal(r.descriptor.mediaType, OCI_MANIFEST);
    });
    await t.test('a missing platform is ENOPLATFORM listing the available ones', async () => {
      await assert.rejects(copyImage(`${src}:multi`, join(dir, 'd4'), { platform: 'linux/s390x' }), (e: unknown) => e instanceof OciBundleError && e.code === 'ENOPLATFORM' && /linux\/amd64/.test(e.message));
    });
    await t.test('blobs already present are not read again; the tag moves', async () => {
      const dest = join(dir, 'd5');
      const first = await copyImage(`${src}:multi`, `${dest}:one`, { all: true });
      assert.ok(first.copied >= 5, `copied ${first.copied}`);
      // corrupt every source blob: any re-read would fail its digest check
      for (const img of built.indexes[0]!.images) for (const l of img.layers) corruptBlob(src, l.digest);
      const again = await copyImage(`${src}:multi`, `${dest}:one`, { all: true });
      assert.equal(again.copied, 0);
      assert.ok(again.skipped >= 2);
      assert.equal(again.descriptor.digest, first.descriptor.digest);
      assert.deepEqual(readIndexJson(dest).manifests.map((m) => m.annotations?.['org.opencontainers.image.ref.name']), ['one']);
      // and into a fresh destination the corrupted source is refused
      await assert.rejects(copyImage(`${src}:multi`, join(dir, 'd6'), { all: true }), (e: unknown) => e instanceof OciBundleError && e.code === 'EDIGEST');
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** How many slow first reads are waiting at once now, and the most seen (reset by the test). */
const inFlight = { now: 0, max: 0 };

/**
 * The layout with a store whose blobs in `slow` wait `ms` before their first read, and whose
 * blob `fails` (if any) rejects its first read after 50 ms. Every other call passes through.
 */
function wrapped(layout: Layout, slow: Set<string>, ms: number, fails?: string): Layout {
  const inner = layout.store;
  const store: BlobStore = Object.create(inner) as BlobStore;
  store.openBlob = async (digest) => {
    const raw = await inner.openBlob(digest);
    let first = true;
    return {
      size: raw.size,
      read: async (buf, length) => {
        if (first && digest === fails) {
          await sleep(50);
          throw new Error('injected read failure');
        }
        if (first && slow.has(digest)) {
          inFlight.max = Math.max(inFlight.max, ++inFlight.now);
          await sleep(ms).finally(() => inFlight.now--);
        }
        first = false;
        return raw.read(buf, length);
      },
      close: () => raw.close(),
    };
  };
  return { ...layout, store };
}

function tempFiles(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[]).filter((n) => n.split('/').some((c) => parseTempName(c) !== undefined));
}

test('copy transfers blobs concurrently, with progress, and cleans up on failure', async (t) => {
  const dir = scratchDir('source-copy-jobs');
  try {
    const src = join(dir, 'src');
    const layers = await Promise.all([1, 2].map(async (i) => gzip(await makeTar([{ name: `f${i}`, data: `${i}\n`.repeat(4000) }]))));
    const built = writeLayout(src, { images: [{ tag: 'latest', layers }] });
    const img = built.images[0]!;
    const blobs = [img.config.digest, ...img.layers.map((l) => l.digest)];
    const layout = await openLayout(src);
    const slow = new Set(blobs);
    let n = 0;
    const fresh = () => join(dir, `d${++n}`);

    // what is asserted is how many slow transfers were in flight at once (wall times on a
    // loaded machine only bound them from below); the times are reported
    const timings: [string, number, number][] = [
      ['jobs 3: three 300 ms blobs in flight at once', 3, 3],
      ['jobs 1: one after the other', 1, 1],
      ['jobs 2: two then one', 2, 2],
    ];
    for (const [name, jobs, atOnce] of timings) {
      await t.test(name, async (tt) => {
        inFlight.max = 0;
        const started = performance.now();
        const r = await copyFromLayout(wrapped(layout, slow, 300), 'latest', fresh(), { jobs });
        const ms = performance.now() - started;
        tt.diagnostic(`jobs ${jobs}: ${ms.toFixed(0)} ms, ${inFlight.max} at once`);
        assert.equal(inFlight.max, atOnce);
        assert.ok(ms >= 300 * Math.ceil(3 / jobs) - 5, `took ${ms.toFixed(0)} ms`);
        assert.equal(r.copied, 4, 'config, two layers, manifest');
        assert.equal(r.descriptor.digest, img.manifest.digest);
      });
    }

    await t.test('progress: every byte counted, one finished event per blob, last says all done', async () => {
      const events: CopyProgress[] = [];
      const dest = fresh();
      await copyFromLayout(layout, 'latest', dest, { onProgress: (p) => events.push({ ...p }) });
      const total = img.config.size + img.layers.reduce((a, l) => a + l.size, 0);
      assert.ok(events.length >= 3);
      for (const e of events) {
        assert.equal(e.blobs, 3);
        assert.equal(e.bytesTotal, total);
      }
      assert.deepEqual(events.map((e) => e.bytesDone), [...events.map((e) => e.bytesDone)].sort((a, b) => a - b), 'bytesDone never decreases');
      const finished = events.filter((e) => e.finished);
      assert.deepEqual(finished.map((e) => e.digest).sort(), [...blobs].sort());
      assert.deepEqual(finished.map((e) => e.blobsDone), [1, 2, 3]);
      const last = events.at(-1)!;
      assert.equal(last.bytesDone, total);
      assert.equal(last.blobsDone, 3);
      assert.deepEqual(new Set(events.map((e) => e.blob)), new Set([0, 1, 2]));
    });

    await t.test('nothing to transfer: no progress events, all skipped', async () => {
      const dest = fresh();
      await copyFromLayout(layout, 'latest', dest);
      const events: CopyProgress[] = [];
      const r = await copyFromLayout(wrapped(layout, new Set(), 0, img.layers[0]!.digest), 'latest', `${dest}:again`, { onProgress: (p) => events.push(p) });
      assert.deepEqual(events, []);
      assert.equal(r.copied, 0);
      assert.equal(r.skipped, 4);
    });

    const failures: [string, boolean][] = [
      ['into a new path: a failed copy to a new path leaves no empty layout', false],
      ['into a layout that has the tag already: the tag is unchanged', true],
    ];
    for (const [name, existing] of failures) {
      await t.test(`a failed transfer leaves no tag and no temp file: ${name}`, async () => {
        const dest = fresh();
        const before = existing ? (await copyImage(`${src}:latest`, `${dest}:t`), readIndexJson(dest).manifests) : [];
        if (existing) for (const b of blobs) rmSync(blobPath(dest, b));
        const events: CopyProgress[] = [];
        await assert.rejects(
          copyFromLayout(wrapped(layout, slow, 1500, img.layers[1]!.digest), 'latest', `${dest}:t`, { jobs: 3, onProgress: (p) => events.push(p) }),
          (e: unknown) => e instanceof OciBundleError && e.code === 'EIO' && e.message.includes(img.layers[1]!.digest),
        );
        if (existing) {
          assert.deepEqual(readIndexJson(dest).manifests, before);
          assert.deepEqual(tempFiles(dest), []);
        } else {
          assert.equal(existsSync(dest), false, 'the layout this copy created is removed');
        }
        assert.equal(events.filter((e) => e.finished).length, 0, 'the slow transfers were stopped, not finished');
      });
    }

    await t.test('an aborted signal fails with EINTERRUPTED and writes no tag', async () => {
      const dest = fresh();
      const ac = new AbortController();
      setTimeout(() => ac.abort(), 50);
      await assert.rejects(copyFromLayout(wrapped(layout, slow, 300), 'latest', dest, { signal: ac.signal }), (e: unknown) => e instanceof OciBundleError && e.code === 'EINTERRUPTED');
      assert.equal(existsSync(dest), false, 'the layout this copy created is removed');
    });

    const badJobs: [string, number][] = [
      ['zero', 0],
      ['fractional', 1.5],
      ['too many', 65],
      ['not a number', Number.NaN],
    ];
    for (const [name, jobs] of badJobs) {
      await t.test(`jobs ${name} is EUSAGE`, async () => {
        await assert.rejects(copyImage(src, fresh(), { jobs }), (e: unknown) => e instanceof OciBundleError && e.code === 'EUSAGE');
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
