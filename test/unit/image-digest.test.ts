// Digests and media types: validation before any path is built, layer compression table.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { blobRelPath, isValidDigest, layerCompression, parseDigest } from '../../src/image/index.js';

const H64 = 'a'.repeat(64);
const H128 = 'b'.repeat(128);

test('parseDigest accepts sha256 and sha512 lowercase hex', () => {
  for (const [name, d, alg] of [
    ['sha256', `sha256:${H64}`, 'sha256'],
    ['sha512', `sha512:${H128}`, 'sha512'],
  ] as const) {
    assert.equal(parseDigest(d).algorithm, alg, name);
    assert.equal(blobRelPath(d), `blobs/${alg}/${d.slice(alg.length + 1)}`, name);
  }
});

test('parseDigest refuses everything else, and no path is built', () => {
  const bad: [string, unknown][] = [
    ['uppercase hex', `sha256:${'A'.repeat(64)}`],
    ['short', `sha256:${'a'.repeat(63)}`],
    ['long', `sha256:${'a'.repeat(65)}`],
    ['sha512 with 64 hex', `sha512:${H64}`],
    ['sha384', `sha384:${'a'.repeat(96)}`],
    ['path traversal', 'sha256:../../../../etc/passwd'],
    ['slash in hex', `sha256:${'a'.repeat(32)}/${'a'.repeat(31)}`],
    ['no algorithm', H64],
    ['empty', ''],
    ['number', 42],
    ['newline', `sha256:${H64}\n`],
    ['nul', `sha256:${H64}\0`],
  ];
  for (const [name, d] of bad) {
    assert.throws(() => parseDigest(d), { code: 'EBADDIGEST' }, name);
    assert.throws(() => blobRelPath(d as string), { code: 'EBADDIGEST' }, name);
    assert.equal(isValidDigest(d), false, name);
  }
});

test('layerCompression maps every supported layer type', () => {
  const table: [string, string][] = [
    ['application/vnd.oci.image.layer.v1.tar', 'none'],
    ['application/vnd.oci.image.layer.v1.tar+gzip', 'gzip'],
    ['application/vnd.oci.image.layer.v1.tar+zstd', 'zstd'],
    ['application/vnd.oci.image.layer.nondistributable.v1.tar', 'none'],
    ['application/vnd.oci.image.layer.nondistributable.v1.tar+gzip', 'gzip'],
    ['application/vnd.oci.image.layer.nondistributable.v1.tar+zstd', 'zstd'],
    ['application/vnd.docker.image.rootfs.diff.tar.gzip', 'gzip'],
    ['application/vnd.docker.image.rootfs.foreign.diff.tar.gzip', 'gzip'],
  ];
  for (const [mt, c] of table) assert.equal(layerCompression(mt), c, mt);
});

test('layerCompression refuses unknown types with EMEDIATYPE', () => {
  const table: [string, string, RegExp][] = [
    ['manifest type', 'application/vnd.oci.image.manifest.v1+json', /unsupported media type/],
    ['bzip2', 'application/vnd.oci.image.layer.v1.tar+bzip2', /unsupported media type/],
    ['empty', '', /unsupported media type/],
  ];
  for (const [name, mt, re] of table) assert.throws(() => layerCompression(mt), (e: Error & { code?: string }) => e.code === 'EMEDIATYPE' && re.test(e.message), name);
});
