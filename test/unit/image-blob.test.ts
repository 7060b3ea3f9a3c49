// Verified blob reads: digest and size checked at the end of the stream, appended bytes,
// truncation, non-regular files refused without blocking, symlinks refused, embedded data,
// the JSON size cap checked before reading, and the document rules (schemaVersion,
// CVE-2021-41190 ambiguity, media type disagreement, negative sizes). Every check holds for
// both readers: openBlob (a buffer per chunk) and blobChunks (two reused buffers, each chunk
// valid until the next is asked for, and never overwritten before).
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { after, test } from 'node:test';
import { MemStore, blobChunks, digestOf, memoryLayout, openBlob, openLayout, readBlob, readJsonBlob, type Descriptor, type Layout } from '../../src/image/index.js';
import { addBlob, appendToBlob, corruptBlob, dirBlob, fifoBlob, symlinkBlob, truncateBlob, writeLayout, MEDIA, blobPath } from '../../fixtures/layout.js';
import { rejectsWith, tmpDir } from '../helpers/layout-env.js';

const t = tmpDir('image-blob-');
after(t.cleanup);

type ReadAll = (l: Layout, d: Descriptor) => Promise<Buffer>;
/** The two verified readers, each reading a whole blob (blobChunks' chunks copied out at once). */
const READERS: [string, ReadAll][] = [
  [
    'openBlob',
    async (l, d) => {
      const parts: Buffer[] = [];
      for await (const c of openBlob(l, d)) parts.push(c as Buffer);
      return Buffer.concat(parts);
    },
  ],
  [
    'blobChunks',
    async (l, d) => {
      const parts: Buffer[] = [];
      for await (const c of blobChunks(l, d)) parts.push(Buffer.from(c));
      return Buffer.concat(parts);
    },
  ],
];

let layouts = 0;
function layoutWithBlob(name: string, bytes: Buffer): { dir: string; desc: Descriptor } {
  const dir = join(t.dir, `${name}-${layouts++}`);
  writeLayout(dir, {});
  return { dir, desc: { mediaType: MEDIA.layer, ...addBlob(dir, bytes) } };
}

test('a good blob streams whole, in large chunks', async () => {
  const bytes = Buffer.alloc(3 * 1024 * 1024 + 17, 7);
  bytes[5] = 1;
  const { dir, desc } = layoutWithBlob('good', bytes);
  const l = await openLayout(dir);
  const chunks: number[] = [];
  for await (const c of openBlob(l, desc)) chunks.push((c as Buffer).length);
  assert.equal(chunks.reduce((a, b) => a + b, 0), bytes.length);
  assert.ok(Math.max(...chunks) >= 64 * 1024, `chunks of ${Math.max(...chunks)} bytes`);
  assert.ok(chunks.length <= Math.ceil(bytes.length / (64 * 1024)) + 1);
});

for (const [reader, readAll] of READERS) {
  test(`${reader}: tampered blobs fail with ESIZE or EDIGEST`, async () => {
    const table: [string, (dir: string, digest: string) => void, string][] = [
      ['changed byte', corruptBlob, 'EDIGEST'],
      ['appended bytes', (d, g) => appendToBlob(d, g, 'tail'), 'ESIZE'],
      ['truncated', (d, g) => truncateBlob(d, g, 3), 'ESIZE'],
      ['empty', (d, g) => truncateBlob(d, g, 1 << 20), 'ESIZE'],
    ];
    for (const [name, tamper, code] of table) {
      const { dir, desc } = layoutWithBlob(`tamper-${name.replace(/ /g, '-')}`, Buffer.from('hello layer bytes '.repeat(100)));
      tamper(dir, desc.digest);
      const l = await openLayout(dir);
      await rejectsWith(readAll(l, desc), code).catch((e: Error) => assert.fail(`${name}: ${e.message}`));
    }
  });
}

for (const [reader, readAll] of READERS) {
  test(`${reader}: the end-of-stream check catches changes the open-time size check cannot see`, async () => {
    // memory store reports the declared size but holds other bytes: only hashing can tell
    const store = new MemStore();
    const good = Buffer.from('good bytes');
    const d = digestOf(good);
    store.blobs.set(d, Buffer.from('evil bytes'));
    const l = await memoryLayout(store);
    await rejectsWith(readAll(l, { mediaType: MEDIA.layer, digest: d, size: good.length }), 'EDIGEST');
  });
}

for (const [reader, readAll] of READERS) {
  test(`${reader}: never reads more than size+1 bytes`, async () => {
    const store = new MemStore();
    const big = Buffer.alloc(1 << 20, 1);
    const d = digestOf(big.subarray(0, 1000));
    store.blobs.set(d, big);
    let asked = 0;
    const orig = store.openBlob.bind(store);
    store.openBlob = async (g) => {
      const r = await orig(g);
      return { size: 1000, read: (b, n) => ((asked += n), r.read(b, n)), close: r.close };
    };
    const l = await memoryLayout(store);
    await rejectsWith(readAll(l, { mediaType: MEDIA.layer, digest: d, size: 1000 }), 'ESIZE', /beyond/);
    assert.ok(asked <= 1001, `asked for ${asked} bytes`);
  });
}

for (const [reader, readAll] of READERS) {
  test(`${reader}: a missing blob is ENOBLOB and a bad digest EBADDIGEST, as stream errors`, async () => {
    const { dir } = layoutWithBlob('missing', Buffer.from('x'));
    const l = await openLayout(dir);
    await rejectsWith(readAll(l, { mediaType: MEDIA.layer, digest: `sha256:${'0'.repeat(64)}`, size: 1 }), 'ENOBLOB');
    await rejectsWith(readAll(l, { mediaType: MEDIA.layer, digest: 'sha256:../../index.json', size: 1 }), 'EBADDIGEST');
    await rejectsWith(readAll(l, { mediaType: MEDIA.layer, digest: digestOf(Buffer.from('x')), size: -1 }), 'ESCHEMA');
  });
}

for (const [reader, readAll] of READERS) {
  test(`${reader}: non-regular blobs are refused without blocking`, async () => {
    const table: [string, (dir: string, digest: string) => void][] = [
      ['fifo', fifoBlob],
      ['directory', dirBlob],
    ];
    for (const [name, make] of table) {
      const { dir, desc } = layoutWithBlob(`nonreg-${name}`, Buffer.from('abc'));
      make(dir, desc.digest);
      const l = await openLayout(dir);
      const started = Date.now();
      await rejectsWith(readAll(l, desc), 'EBLOBTYPE', /not a regular file/);
      assert.ok(Date.now() - started < 2000, `${name} took ${Date.now() - started} ms`);
    }
  });
}

for (const [reader, readAll] of READERS) {
  test(`${reader}: device blobs are refused`, { skip: process.getuid?.() !== 0 && 'needs root' }, async () => {
    const { dir, desc } = layoutWithBlob('device', Buffer.from('abc'));
    const { execFileSync } = await import('node:child_process');
    const p = blobPath(dir, desc.digest);
    execFileSync('rm', ['-f', p]);
    execFileSync('mknod', [p, 'c', '1', '3']); // /dev/null
    await rejectsWith(readAll(await openLayout(dir), desc), 'EBLOBTYPE');
  });
}

for (const [reader, readAll] of READERS) {
  test(`${reader}: symlinked blobs are refused, outside and inside the layout alike`, async () => {
    const out = layoutWithBlob('sym-out', Buffer.from('outside bytes'));
    symlinkBlob(out.dir, out.desc.digest, join(t.dir, `outside-target-${reader}`));
    await rejectsWith(readAll(await openLayout(out.dir), out.desc), 'EBLOBTYPE', /symlink/);

    const inside = layoutWithBlob('sym-in', Buffer.from('inside bytes'));
    symlinkBlob(inside.dir, inside.desc.digest, join(inside.dir, 'elsewhere'));
    await rejectsWith(readAll(await openLayout(inside.dir), inside.desc), 'EBLOBTYPE', /symlink/);

    // a symlinked blobs/sha256 directory leading out of the layout
    const dirl = layoutWithBlob('sym-dir', Buffer.from('dir bytes'));
    const { renameSync, symlinkSync } = await import('node:fs');
    const ext = join(t.dir, `ext-${reader}`);
    mkdirSync(ext, { recursive: true });
    renameSync(join(dirl.dir, 'blobs', 'sha256'), join(ext, 'sha256'));
    symlinkSync(join(ext, 'sha256'), join(dirl.dir, 'blobs', 'sha256'));
    await rejectsWith(readAll(await openLayout(dirl.dir), dirl.desc), 'EBLOBTYPE', /outside/);
  });
}

for (const [reader, readAll] of READERS) {
  test(`${reader}: embedded data is checked against digest and size`, async () => {
    const l = await memoryLayout(new MemStore());
    const data = Buffer.from('{"x":1}');
    const good = { mediaType: 'application/json', digest: digestOf(data), size: data.length, data: data.toString('base64') };
    assert.deepEqual(await readAll(l, good), data);
    await rejectsWith(readAll(l, { ...good, size: data.length + 1 }), 'ESIZE');
    await rejectsWith(readAll(l, { ...good, data: Buffer.from('{"x":2}').toString('base64') }), 'EDIGEST');
  });
}

test('JSON blobs: size cap checked before any read', async () => {
  const store = new MemStore();
  store.openBlob = async () => assert.fail('must not open an oversized json blob');
  const l = await memoryLayout(store);
  const desc = { mediaType: MEDIA.manifest, digest: `sha256:${'1'.repeat(64)}`, size: 4 * 1024 * 1024 + 1 };
  await rejectsWith(readJsonBlob(l, desc, 'manifest'), 'ELIMIT');
  await rejectsWith(readBlob(l, { ...desc, size: 100 }, 99), 'ELIMIT');
});

test('JSON documents: rules and schema', async () => {
  const store = new MemStore();
  const l = await memoryLayout(store);
  const cfg = { mediaType: MEDIA.config, digest: `sha256:${'2'.repeat(64)}`, size: 10 };
  const manifest = (extra: object) => ({ schemaVersion: 2, mediaType: MEDIA.manifest, config: cfg, layers: [], ...extra });
  const table: [string, 'manifest' | 'index' | 'config', unknown, string, string, RegExp][] = [
    ['good manifest', 'manifest', manifest({}), MEDIA.manifest, 'ok', /./],
    ['schemaVersion 1', 'manifest', manifest({ schemaVersion: 1 }), MEDIA.manifest, 'ESCHEMA', /schemaVersion 1/],
    ['schemaVersion missing', 'manifest', { config: cfg, layers: [] }, MEDIA.manifest, 'ESCHEMA', /schemaVersion/],
    ['manifest with manifests', 'manifest', manifest({ manifests: [] }), MEDIA.manifest, 'EMEDIATYPE', /CVE-2021-41190/],
    ['index with config', 'index', { schemaVersion: 2, manifests: [], config: cfg }, MEDIA.index, 'EMEDIATYPE', /CVE-2021-41190/],
    ['index with layers', 'index', { schemaVersion: 2, manifests: [], layers: [] }, MEDIA.index, 'EMEDIATYPE', /CVE-2021-41190/],
    ['declared index, descriptor manifest', 'manifest', manifest({ mediaType: MEDIA.index }), MEDIA.manifest, 'EMEDIATYPE', /not a manifest type/],
    ['declared docker manifest, descriptor oci', 'manifest', manifest({ mediaType: MEDIA.dockerManifest }), MEDIA.manifest, 'EMEDIATYPE', /descriptor says/],
    ['negative layer size', 'manifest', manifest({ layers: [{ ...cfg, mediaType: MEDIA.layerGzip, size: -5 }] }), MEDIA.manifest, 'ESCHEMA', /layers\/0\/size/],
    ['fractional config size', 'manifest', manifest({ config: { ...cfg, size: 2.5 } }), MEDIA.manifest, 'ESCHEMA', /config\/size/],
    ['layers not an array', 'manifest', manifest({ layers: {} }), MEDIA.manifest, 'ESCHEMA', /layers/],
    ['config without rootfs', 'config', { architecture: 'amd64', os: 'linux' }, MEDIA.config, 'ESCHEMA', /rootfs/],
    ['config with Env not strings', 'config', { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, config: { Env: [1] } }, MEDIA.config, 'ESCHEMA', /Env/],
    ['not json', 'config', '{nope', MEDIA.config, 'ESCHEMA', /not valid json/],
    ['json array', 'manifest', [], MEDIA.manifest, 'ESCHEMA', /not a json object/],
  ];
  for (const [name, kind, doc, mt, code, re] of table) {
    const bytes = Buffer.from(typeof doc === 'string' ? doc : JSON.stringify(doc));
    const desc = { mediaType: mt, digest: digestOf(bytes), size: bytes.length };
    store.blobs.set(desc.digest, bytes);
    if (code === 'ok') assert.deepEqual(await readJsonBlob(l, desc, kind), doc, name);
    else await rejectsWith(readJsonBlob(l, desc, kind), code, re).catch((e: Error) => assert.fail(`${name}: ${e.message}`));
  }
});

test('a consumer that stops early closes the blob', async () => {
  const { dir, desc } = layoutWithBlob('early', Buffer.alloc(2 << 20, 3));
  const l = await openLayout(dir);
  const { readdirSync } = await import('node:fs');
  const fds = () => readdirSync('/proc/self/fd').length;
  const before = fds();
  for (let i = 0; i < 20; i++) {
    const s = openBlob(l, desc);
    s.once('data', () => s.destroy());
    await assert.rejects(finished(s));
  }
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(fds(), before, 'every blob fd closed');
});

/** Bytes that differ from chunk to chunk (a reused buffer left stale or overwritten shows). */
function patterned(n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i += 4) b.writeUInt32LE((i * 2654435761) >>> 0, i);
  return b;
}

test('blobChunks: every chunk holds its bytes until the next is asked for, through two buffers', async () => {
  // sizes: one short read, exactly one chunk, several chunks and a tail, a multiple of the chunk
  const table: [string, number][] = [
    ['small blob', 1000],
    ['one chunk', 256 * 1024],
    ['chunks and a tail', 3 * 1024 * 1024 + 17],
    ['whole chunks', 4 * 256 * 1024],
  ];
  for (const [name, size] of table) {
    const bytes = patterned(size + (4 - (size % 4 || 4))).subarray(0, size);
    const { dir, desc } = layoutWithBlob(`reuse-${name.replace(/ /g, '-')}`, bytes);
    const l = await openLayout(dir);
    const buffers = new Set<ArrayBufferLike>();
    let at = 0;
    for await (const c of blobChunks(l, desc)) {
      const copy = Buffer.from(c);
      // the read of the next chunk is in flight now: let it land before looking again
      await new Promise((r) => setTimeout(r, 2));
      assert.ok(c.equals(copy), `${name}: chunk at ${at} changed before the next was asked for`);
      assert.ok(c.equals(bytes.subarray(at, at + c.length)), `${name}: chunk at ${at} holds other bytes`);
      at += c.length;
      buffers.add(c.buffer);
    }
    assert.equal(at, size, name);
    assert.ok(buffers.size <= 2, `${name}: ${buffers.size} buffers`);
  }
});

test('blobChunks: a chunk kept past the next step is overwritten (so consumers must not keep one)', async () => {
  const bytes = patterned(4 * 256 * 1024);
  const { dir, desc } = layoutWithBlob('reuse-kept', bytes);
  const l = await openLayout(dir);
  const kept: [Buffer, Buffer][] = [];
  for await (const c of blobChunks(l, desc)) kept.push([c, Buffer.from(c)]);
  const [first, firstCopy] = kept[0]!;
  assert.ok(!first.equals(firstCopy), 'the first buffer was reused for a later chunk');
  assert.ok(Buffer.concat(kept.map(([, copy]) => copy)).equals(bytes), 'copies taken in time are the blob');
});

test('blobChunks: a consumer that stops early, or a failing blob, closes the fd', async () => {
  const { readdirSync } = await import('node:fs');
  const fds = () => readdirSync('/proc/self/fd').length;
  const good = layoutWithBlob('reuse-early', Buffer.alloc(2 << 20, 3));
  const bad = layoutWithBlob('reuse-bad', Buffer.alloc(2 << 20, 4));
  appendToBlob(bad.dir, bad.desc.digest, 'tail');
  const lg = await openLayout(good.dir);
  const lb = await openLayout(bad.dir);
  const before = fds();
  const table: [string, () => Promise<unknown>][] = [
    ['break after one chunk', async () => {
      for await (const _ of blobChunks(lg, good.desc)) break;
    }],
    ['throw in the loop', () => assert.rejects(async () => {
      for await (const _ of blobChunks(lg, good.desc)) throw new Error('consumer failed');
    }, /consumer failed/)],
    ['ESIZE at open', () => rejectsWith((async () => {
      for await (const _ of blobChunks(lb, bad.desc)) void _;
    })(), 'ESIZE')],
  ];
  for (const [name, run] of table) for (let i = 0; i < 10; i++) await run().catch((e: Error) => assert.fail(`${name}: ${e.message}`));
  assert.equal(fds(), before, 'every blob fd closed');
});
