// Tests of src/layer/decompress.ts: gzip through both backends (the addon's ISA-L and
// node:zlib: multistream, NUL padding, trailing garbage, truncation, bad CRC), zstd through
// every backend available here (the addon's libzstd, zlib, the zstd binary, fzstd), and that
// every corrupt stream becomes OciBundleError ECOMPRESS naming the label.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';
import { createDecompressor, gzipBackend, zstdBackend, zstdBinary, type Compression, type GzipBackend, type ZstdBackend } from '../../src/layer/decompress.js';
import { nativeDecodes } from '../../src/layer/native-decode.js';
import { OciBundleError } from '../../src/errors.js';
import { gzip, zstd } from '../../fixtures/tar.js';

/** Some compressible and some incompressible data, 6 MiB. */
const DATA = Buffer.concat([randomBytes(1 << 20), Buffer.alloc(3 << 20, 'layer data '), randomBytes(2 << 20)]);
const LABEL = 'sha256:feedface';

async function run(c: Compression, input: Buffer | Buffer[], backend?: ZstdBackend | GzipBackend, slow = false): Promise<Buffer> {
  const out: Buffer[] = [];
  const pieces: Buffer[] = [];
  if (Array.isArray(input)) pieces.push(...input);
  else for (let i = 0; i < input.length; i += 65536) pieces.push(input.subarray(i, i + 65536));
  const force = backend === undefined ? {} : c === 'gzip' ? { gzipBackend: backend as GzipBackend } : { zstdBackend: backend as ZstdBackend };
  await pipeline(
    Readable.from(pieces),
    createDecompressor(c, { label: LABEL, ...force }),
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

const gzipBackends: { backend: GzipBackend; skip: string | false }[] = [
  { backend: 'native', skip: !nativeDecodes('gzip') && 'the addon has no ISA-L decoder here (libisal-dev at build time, libisal2 at run time)' },
  { backend: 'zlib', skip: false },
];

test('gzip backend choice: the addon when it has ISA-L, else node:zlib', () => {
  assert.equal(gzipBackend(), nativeDecodes('gzip') ? 'native' : 'zlib');
});

/** Splits buf at the given offsets. */
function split(buf: Buffer, at: number[]): Buffer[] {
  const out: Buffer[] = [];
  let prev = 0;
  for (const a of [...at, buf.length]) {
    out.push(buf.subarray(prev, a));
    prev = a;
  }
  return out;
}

for (const { backend, skip } of gzipBackends) {
  test(`gzip/${backend}: round trip, slow consumer, concatenated members, trailing zeros`, { skip }, async () => {
    const gz = gzip(DATA);
    assert.ok((await run('gzip', gz, backend)).equals(DATA));
    assert.ok((await run('gzip', gz, backend, true)).equals(DATA), 'backpressure');
    const multi = Buffer.concat([gzip(DATA.subarray(0, 1000)), gzip(DATA.subarray(1000))]);
    assert.ok((await run('gzip', multi, backend)).equals(DATA), 'members are concatenated, as Go reads them');
    // node:zlib (like GNU gzip) ignores trailing NUL padding and whatever follows it; Go's gzip would fail it.
    assert.ok((await run('gzip', Buffer.concat([gz, Buffer.alloc(1024)]), backend)).equals(DATA));
    assert.ok((await run('gzip', Buffer.concat([gz, Buffer.alloc(3), Buffer.from('x')]), backend)).equals(DATA));
  });

  test(`gzip/${backend}: members split at every offset near their boundaries, and fed byte by byte`, { skip }, async () => {
    const parts = [DATA.subarray(0, 70_000), DATA.subarray(70_000, 70_001), DATA.subarray(70_001, 200_000)];
    const members = parts.map((p) => gzip(p));
    const whole = Buffer.concat(members);
    const want = Buffer.concat(parts);
    const b1 = members[0]!.length;
    const b2 = b1 + members[1]!.length;
    for (const cut of [b1 - 9, b1 - 8, b1 - 5, b1 - 1, b1, b1 + 1, b1 + 2, b1 + 9, b2 - 1, b2, b2 + 3]) {
      assert.ok((await run('gzip', split(whole, [cut, cut + 1, cut + 7]), backend)).equals(want), `cut at ${cut}`);
    }
    const small = Buffer.concat([gzip(Buffer.from('first member ')), gzip(Buffer.alloc(0)), gzip(Buffer.from('third'))]);
    const bytes = [...small].map((b) => Buffer.from([b]));
    assert.equal((await run('gzip', bytes, backend)).toString(), 'first member third');
  });

  test(`gzip/${backend}: a file larger than the output chunk, across many input chunks`, { skip }, async () => {
    const big = Buffer.concat([DATA, DATA, Buffer.alloc(5 << 20, 7)]);
    assert.ok((await run('gzip', gzip(big), backend, true)).equals(big));
  });

  const gzBad: { name: string; buf: () => Buffer | Buffer[]; re: RegExp }[] = [
    { name: 'trailing garbage', buf: () => Buffer.concat([gzip(DATA), Buffer.from('garbage after the member')]), re: /corrupt gzip stream in sha256:feedface: incorrect header check/ },
    { name: 'trailing garbage in its own chunk', buf: () => [gzip(DATA), Buffer.from('garbage after the member')], re: /corrupt gzip stream in sha256:feedface: incorrect header check/ },
    { name: 'one stray byte after the member', buf: () => Buffer.concat([gzip(DATA), Buffer.from('x')]), re: /unexpected end of file/ },
    { name: 'a second member cut in its header', buf: () => Buffer.concat([gzip(DATA), gzip(DATA).subarray(0, 6)]), re: /unexpected end of file/ },
    { name: 'truncated', buf: () => gzip(DATA).subarray(0, 100_000), re: /corrupt gzip stream in sha256:feedface: unexpected end of file/ },
    { name: 'truncated in the trailer', buf: () => { const g = gzip(DATA); return g.subarray(0, g.length - 3); }, re: /unexpected end of file/ },
    { name: 'bad crc', buf: () => { const g = Buffer.from(gzip(DATA)); g[g.length - 6]! ^= 0xff; return g; }, re: /incorrect data check/ },
    { name: 'bad length', buf: () => { const g = Buffer.from(gzip(DATA)); g[g.length - 2]! ^= 0x01; return g; }, re: /incorrect (data|length) check/ },
    { name: 'corrupt deflate data', buf: () => { const g = Buffer.from(gzip(DATA)); g.fill(0xff, 20_000, 20_064); return g; }, re: /corrupt gzip stream in sha256:feedface: / },
    { name: 'not deflate', buf: () => { const g = Buffer.from(gzip(DATA)); g[2] = 9; return g; }, re: /unknown compression method/ },
    { name: 'zeros before the member', buf: () => Buffer.concat([Buffer.alloc(3), gzip(DATA)]), re: /incorrect header check/ },
    { name: 'not gzip', buf: () => Buffer.from('plain text, not gzip'), re: /incorrect header check/ },
    { name: 'empty', buf: () => Buffer.alloc(0), re: /unexpected end of file/ },
  ];
  for (const c of gzBad) {
    test(`gzip/${backend}: ${c.name} -> ECOMPRESS`, { skip }, () => rejectsCompress(run('gzip', c.buf(), backend), c.re));
  }
}

test('gzip/native: a decode error waits for the end of the input (a blob digest error, raised there, names the real fault)', { skip: !nativeDecodes('gzip') && 'no ISA-L decoder' }, async () => {
  const g = Buffer.from(gzip(DATA));
  g[0] = 0; // not a gzip header: fails on the first chunk
  let taken = 0;
  const pieces = split(g, [1000, 50_000, 100_000]);
  const source = Readable.from((function* () {
    for (const p of pieces) {
      taken++;
      yield p;
    }
  })());
  await rejectsCompress(pipeline(source, createDecompressor('gzip', { label: LABEL, gzipBackend: 'native' }), new Writable({ write: (_c, _e, cb) => cb() })), /incorrect header check/);
  assert.equal(taken, pieces.length, 'every input chunk was taken before the error');
});

test('OCIBUNDLE_NATIVE_DECODE=0 switches the addon decoders off (node:zlib, zstd fallbacks)', () => {
  const before = process.env['OCIBUNDLE_NATIVE_DECODE'];
  process.env['OCIBUNDLE_NATIVE_DECODE'] = '0';
  try {
    assert.equal(nativeDecodes('gzip'), false);
    assert.equal(nativeDecodes('zstd'), false);
    assert.equal(gzipBackend(), 'zlib');
    assert.notEqual(zstdBackend(), 'native');
  } finally {
    if (before === undefined) delete process.env['OCIBUNDLE_NATIVE_DECODE'];
    else process.env['OCIBUNDLE_NATIVE_DECODE'] = before;
  }
});

const hasZlibZstd = typeof (zlib as { createZstdDecompress?: unknown }).createZstdDecompress === 'function';
const backends: { backend: ZstdBackend; skip: string | false }[] = [
  { backend: 'native', skip: !nativeDecodes('zstd') && 'the addon has no libzstd decoder here (libzstd-dev at build time, libzstd1 at run time)' },
  { backend: 'zlib', skip: !hasZlibZstd && 'this node has no zlib zstd' },
  { backend: 'binary', skip: zstdBinary() === null && 'no zstd binary on PATH' },
  { backend: 'fzstd', skip: false },
];

test('zstd backend choice: the addon when it has libzstd, else zlib when present, else the binary, else fzstd', () => {
  assert.equal(zstdBackend(), nativeDecodes('zstd') ? 'native' : hasZlibZstd ? 'zlib' : zstdBinary() !== null ? 'binary' : 'fzstd');
});

for (const { backend, skip } of backends) {
  test(`zstd/${backend}: round trip, slow consumer, concatenated frames`, { skip }, async () => {
    const z = zstd(DATA);
    assert.ok((await run('zstd', z, backend)).equals(DATA));
    assert.ok((await run('zstd', z, backend, true)).equals(DATA), 'backpressure');
    const two = Buffer.concat([zstd(DATA.subarray(0, 5000)), zstd(DATA.subarray(5000))]);
    assert.ok((await run('zstd', two, backend)).equals(DATA));
    const cut = zstd(DATA.subarray(0, 5000)).length;
    assert.ok((await run('zstd', split(two, [cut - 1, cut, cut + 1]), backend)).equals(DATA), 'split at the frame boundary');
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
