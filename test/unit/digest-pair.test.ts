// The addon's two interleaved SHA-256 streams (native/sha256.c, SHA-NI) and DigestPair on top of
// them: whatever the split of each stream into calls (empty, under a block, across partial
// blocks, one stream much longer, one stream only), both digests equal node:crypto's; a stream
// whose digest was taken takes no more bytes; the blob side hashes a pending chunk on blobDone().
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { native } from '../../src/fs/native.js';
import { DigestPair } from '../../src/pipeline/digest-pair.js';

const n = native();
const skip = n.sha256PairReady() ? false : 'this CPU has no SHA-NI (the pair is not used)';
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Call sizes for each stream, taken in turn (a size of 0: nothing for that stream in that call). */
const cases: { name: string; a: number[]; b: number[] }[] = [
  { name: 'both empty', a: [], b: [] },
  { name: 'one byte and nothing', a: [1], b: [0] },
  { name: 'a block each', a: [64], b: [64] },
  { name: 'under a block, then filling it', a: [63, 1, 64], b: [1, 63, 64] },
  { name: 'partial blocks that meet whole ones', a: [10, 200, 5, 1000], b: [300, 7, 64, 129] },
  { name: 'the second much longer (a layer: blob vs tar)', a: [4096, 4096, 17], b: [9000, 70_000, 100_003, 1] },
  { name: 'the first much longer', a: [100_000, 3], b: [5, 0, 0, 64] },
  { name: 'only the first', a: [1, 2, 3, 1_000_000], b: [] },
  { name: 'only the second', a: [], b: [55, 56, 57, 1_048_576] },
  { name: 'lengths around the padding edge', a: [55], b: [56] },
];

for (const c of cases) {
  test(`sha256 pair: ${c.name}`, { skip }, () => {
    const a = randomBytes(c.a.reduce((s, x) => s + x, 0) + 10);
    const b = randomBytes(c.b.reduce((s, x) => s + x, 0) + 10);
    const p = n.sha256PairOpen();
    let ai = 5; // offsets inside the buffers: ranges, not whole buffers
    let bi = 3;
    for (let i = 0; i < Math.max(c.a.length, c.b.length); i++) {
      const la = c.a[i] ?? 0;
      const lb = c.b[i] ?? 0;
      n.sha256PairUpdate(p, la > 0 ? a : null, ai, la, lb > 0 ? b : null, bi, lb);
      ai += la;
      bi += lb;
    }
    assert.equal(n.sha256PairDigest(p, 1).toString('hex'), sha(b.subarray(3, bi)), 'second stream');
    assert.equal(n.sha256PairDigest(p, 0).toString('hex'), sha(a.subarray(5, ai)), 'first stream');
  });
}

test('sha256 pair: a stream whose digest was taken takes no more bytes; bad arguments', { skip }, () => {
  const p = n.sha256PairOpen();
  const x = Buffer.from('x');
  n.sha256PairDigest(p, 0);
  assert.throws(() => n.sha256PairUpdate(p, x, 0, 1, null, 0, 0), /digest was taken/);
  assert.throws(() => n.sha256PairDigest(p, 0), /digest was taken/);
  n.sha256PairUpdate(p, null, 0, 0, x, 0, 1); // the other stream goes on
  assert.equal(n.sha256PairDigest(p, 1).toString('hex'), sha(x));
  assert.throws(() => n.sha256PairDigest(p, 2 as 0), /lane must be 0 or 1/);
  assert.throws(() => n.sha256PairUpdate(n.sha256PairOpen(), x, 0, 2, null, 0, 0), /out of bounds/);
  assert.throws(() => n.sha256PairUpdate({} as never, x, 0, 1, null, 0, 0), /SHA-256 pair/);
});

test('DigestPair: blob chunks hashed with the bytes out after them, or alone at blobDone()', { skip }, () => {
  const blob = [randomBytes(256 * 1024), randomBytes(1000), randomBytes(77), randomBytes(256 * 1024)];
  const outs = [randomBytes(600_000), randomBytes(5), randomBytes(0), randomBytes(3_000_000)];
  const d = new DigestPair();
  const seenBlob: Buffer[] = [];
  for (const [i, chunk] of blob.entries()) {
    d.blob.update(chunk);
    seenBlob.push(Buffer.from(chunk));
    if (outs[i]!.length > 0) d.out(outs[i]!, 0, outs[i]!.length);
    d.blobDone();
    chunk.fill(0); // the reader may reuse the buffer now: nothing of it may be read later
  }
  assert.equal(d.blob.digest('hex'), sha(Buffer.concat(seenBlob)));
  assert.equal(d.diffId(), sha(Buffer.concat(outs)));
  assert.equal(DigestPair.available(), true);
  const before = process.env['OCIBUNDLE_NATIVE_SHA256'];
  process.env['OCIBUNDLE_NATIVE_SHA256'] = '0';
  try {
    assert.equal(DigestPair.available(), false, 'OCIBUNDLE_NATIVE_SHA256=0 switches it off');
  } finally {
    if (before === undefined) delete process.env['OCIBUNDLE_NATIVE_SHA256'];
    else process.env['OCIBUNDLE_NATIVE_SHA256'] = before;
  }
});
