// Verified blob reads: digest and size checked at the end of the stream, appended bytes,
// truncation, non-regular files refused without blocking, symlinks refused, embedded data,
// the JSON size cap checked before reading, and the document rules (schemaVersion,
// CVE-2021-41190 ambiguity, media type disagreement, negative sizes).
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { after, test } from 'node:test';
import { MemStore, digestOf, memoryLayout, openBlob, openLayout, readBlob, readJsonBlob, type Descriptor, type Layout } from '../../src/image/index.js';
import { addBlob, appendToBlob, corruptBlob, dirBlob, fifoBlob, symlinkBlob, truncateBlob, writeLayout, MEDIA, blobPath } from '../../fixtures/layout.js';
import { rejectsWith, tmpDir } from '../helpers/layout-env.js';

const t = tmpDir('image-blob-');
after(t.cleanup);

async function readAll(l: Layout, d: Descriptor): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of openBlob(l, d)) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

function layoutWithBlob(name: string, bytes: Buffer): { dir: string; desc: Descriptor } {
  const dir = join(t.dir, name);
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

test('tampered blobs fail with ESIZE or EDIGEST', async () => {
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

test('the end-of-stream check catches changes the open-time size check cannot see', async () => {
  // memory store reports the declared size but holds other bytes: only hashing can tell
  const store = new MemStore();
  const good = Buffer.from('good bytes');
  const d = digestOf(good);
  store.blobs.set(d, Buffer.from('evil bytes'));
  const l = await memoryLayout(store);
  await rejectsWith(readAll(l, { mediaType: MEDIA.layer, digest: d, size: good.length }), 'EDIGEST');
});

test('never reads more than size+1 bytes', async () => {
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

test('a missing blob is ENOBLOB and a bad digest EBADDIGEST, as stream errors', async () => {
  const { dir } = layoutWithBlob('missing', Buffer.from('x'));
  const l = await openLayout(dir);
  await rejectsWith(readAll(l, { mediaType: MEDIA.layer, digest: `sha256:${'0'.repeat(64)}`, size: 1 }), 'ENOBLOB');
  await rejectsWith(readAll(l, { mediaType: MEDIA.layer, digest: 'sha256:../../index.json', size: 1 }), 'EBADDIGEST');
  await rejectsWith(readAll(l, { mediaType: MEDIA.layer, digest: digestOf(Buffer.from('x')), size: -1 }), 'ESCHEMA');
});

test('non-regular blobs are refused without blocking', async () => {
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

test('device blobs are refused', { skip: process.getuid?.() !== 0 && 'needs root' }, async () => {
  const { dir, desc } = layoutWithBlob('device', Buffer.from('abc'));
  const { execFileSync } = await import('node:child_process');
  const p = blobPath(dir, desc.digest);
  execFileSync('rm', ['-f', p]);
  execFileSync('mknod', [p, 'c', '1', '3']); // /dev/null
  await rejectsWith(readAll(await openLayout(dir), desc), 'EBLOBTYPE');
});

test('symlinked blobs are refused, outside and inside the layout alike', async () => {
  const out = layoutWithBlob('sym-out', Buffer.from('outside bytes'));
  symlinkBlob(out.dir, out.desc.digest, join(t.dir, 'outside-target'));
  await rejectsWith(readAll(await openLayout(out.dir), out.desc), 'EBLOBTYPE', /symlink/);

  const inside = layoutWithBlob('sym-in', Buffer.from('inside bytes'));
  symlinkBlob(inside.dir, inside.desc.digest, join(inside.dir, 'elsewhere'));
  await rejectsWith(readAll(await openLayout(inside.dir), inside.desc), 'EBLOBTYPE', /symlink/);

  // a symlinked blobs/sha256 directory leading out of the layout
  const dirl = layoutWithBlob('sym-dir', Buffer.from('dir bytes'));
  const { renameSync, symlinkSync } = await import('node:fs');
  mkdirSync(join(t.dir, 'ext'), { recursive: true });
  renameSync(join(dirl.dir, 'blobs', 'sha256'), join(t.dir, 'ext', 'sha256'));
  symlinkSync(join(t.dir, 'ext', 'sha256'), join(dirl.dir, 'blobs', 'sha256'));
  await rejectsWith(readAll(await openLayout(dirl.dir), dirl.desc), 'EBLOBTYPE', /outside/);
});

test('embedded data is checked against digest and size', async () => {
  const l = await memoryLayout(new MemStore());
  const data = Buffer.from('{"x":1}');
  const good = { mediaType: 'application/json', digest: digestOf(data), size: data.length, data: data.toString('base64') };
  assert.deepEqual(await readAll(l, good), data);
  await rejectsWith(readAll(l, { ...good, size: data.length + 1 }), 'ESIZE');
  await rejectsWith(readAll(l, { ...good, data: Buffer.from('{"x":2}').toString('base64') }), 'EDIGEST');
});

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
