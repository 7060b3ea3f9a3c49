// Tests of src/layer/decompress.ts: gzip (multistream, trailing garbage, truncation, bad
// CRC), zstd through every backend available here (zlib, the zstd binary, fzstd), and that
// every corrupt stream becomes OciBundleError ECOMPRESS naming the label.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';
import { createDecompressor, zstdBackend, zstdBinary, type Compression, type ZstdBackend } from '../../src/layer/decompress.js';
import { OciBundleError } from '../../src/errors.js';
import { gzip, zstd } from '../../fixtures/tar.js';

/** Some compressible and some incompressible data, 6 MiB. */
const DATA = Buffer.concat([randomBytes(1 << 20), Buffer.alloc(3 << 20, 'layer data '), randomBytes(2 << 20)]);
const LABEL = 'sha256:feedface';

async function run(c: Compression, input: Buffer, backend?: ZstdBackend, slow = false): Promise<Buffer> {
  const out: Buffer[] = [];
  const pieces: Buffer[] = [];
  for (let i = 0; i < input.length; i += 65536) pieces.push(input.subarray(i, i + 65536));
  await pipeline(
    Readable.from(pieces),
    createDecompressor(c, { label: LABEL, ...(backend ? { zstdBackend: backend } : {}) }),
    new Writable({
      highWaterMark: 1024,
      write(chunk: Buffer, _e, cb) {
        out.push(chunk);
        if (slow) setTimeout(cb, 0);
        else cb();
      },
    }),
  );
  return Buffer.concat(out);
}

async function rejectsCompress(p: Promise<unknown>, re: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof OciBundleError, `not an OciBundleError: ${String(e)}`);
    assert.equal(e.code, 'ECOMPRESS');
    assert.match(e.message, re);
    assert.ok(!e.message.includes('\n'), 'one line');
    return true;
  });
}

test('none passes bytes through', async () => {
  assert.ok((await run('none', DATA)).equals(DATA));
});

test('gzip: round trip, concatenated members, trailing zeros', async () => {
  const gz = gzip(DATA);
  assert.ok((await run('gzip', gz)).equals(DATA));
  const multi = Buffer.concat([gzip(DATA.subarray(0, 1000)), gzip(DATA.subarray(1000))]);
  assert.ok((await run('gzip', multi)).equals(DATA), 'members are concatenated, as Go reads them');
  // node:zlib (like GNU gzip) ignores trailing NUL padding; Go's gzip would fail it.
  assert.ok((await run('gzip', Buffer.concat([gz, Buffer.alloc(1024)]))).equals(DATA));
});

const gzBad: { name: string; buf: () => Buffer; re: RegExp }[] = [
  { name: 'trailing garbage', buf: () => Buffer.concat([gzip(DATA), Buffer.from('garbage after the member')]), re: /corrupt gzip stream in sha256:feedface: incorrect header check/ },
  { name: 'truncated', buf: () => gzip(DATA).subarray(0, 100_000), re: /corrupt gzip stream in sha256:feedface: unexpected end of file/ },
  { name: 'bad crc', buf: () => { const g = Buffer.from(gzip(DATA)); g[g.length - 6]! ^= 0xff; return g; }, re: /incorrect data check/ },
  { name: 'not gzip', buf: () => Buffer.from('plain text, not gzip'), re: /incorrect header check/ },
  { name: 'empty', buf: () => Buffer.alloc(0), re: /unexpected end of file/ },
];
for (const c of gzBad) {
  test(`gzip: ${c.name} -> ECOMPRESS`, () => rejectsCompress(run('gzip', c.buf()), c.re));
}

const hasZlibZstd = typeof (zlib as { createZstdDecompress?: unknown }).createZstdDecompress === 'function';
const backends: { backend: ZstdBackend; skip: string | false }[] = [
  { backend: 'zlib', skip: !hasZlibZstd && 'this node has no zlib zstd' },
  { backend: 'binary', skip: zstdBinary() === null && 'no zstd binary on PATH' },
  { backend: 'fzstd', skip: false },
];

test('zstd backend choice: zlib when present, else the binary, else fzstd', () => {
  assert.equal(zstdBackend(), hasZlibZstd ? 'zlib' : zstdBinary() !== null ? 'binary' : 'fzstd');
});

for (const { backend, skip } of backends) {
  test(`zstd/${backend}: round trip, slow consumer, concatenated frames`, { skip }, async () => {
    const z = zstd(DATA);
    assert.ok((await run('zstd', z, backend)).equals(DATA));
    assert.ok((await run('zstd', z, backend, true)).equals(DATA), 'backpressure');
    const two = Buffer.concat([zstd(DATA.subarray(0, 5000)), zstd(DATA.subarray(5000))]);
    assert.ok((await run('zstd', two, backend)).equals(DATA));
  });
  const bad: { name: string; buf: () => Buffer }[] = [
    { name: 'truncated', buf: () => zstd(DATA).subarray(0, 200_000) },
    { name: 'corrupt block', buf: () => { const z = Buffer.from(zstd(DATA)); z.fill(0xa5, 50_000, 50_100); return z; } },
    { name: 'trailing garbage', buf: () => Buffer.concat([zstd(DATA), Buffer.from('garbage after the frame')]) },
    { name: 'not zstd', buf: () => Buffer.from('plain text, not zstd at all') },
    { name: 'empty', buf: () => Buffer.alloc(0) },
  ];
  for (const c of bad) {
    if (backend === 'fzstd' && c.name === 'corrupt block') {
      // fzstd does not check the frame's content checksum: damage inside a raw block passes
      // through, and only the layer's diff_id comparison catches it.
      test(`zstd/fzstd: corrupt block -> ECOMPRESS or wrong bytes`, async () => {
        const out = await run('zstd', c.buf(), backend).catch((e: unknown) => e);
        if (out instanceof Buffer) assert.ok(!out.equals(DATA));
        else assert.ok(out instanceof OciBundleError && out.code === 'ECOMPRESS');
      });
      continue;
    }
    test(`zstd/${backend}: ${c.name} -> ECOMPRESS`, { skip }, () => rejectsCompress(run('zstd', c.buf(), backend), /corrupt zstd stream in sha256:feedface/));
  }
}
