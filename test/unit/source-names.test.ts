// Source names and archive scanning: skopeo-style names parse to the right transport,
// docker:// fails clearly when the registry client is absent, and hostile oci-archives
// (traversal, duplicates, truncation, non-regular blobs, blobs beyond the file) are refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { makeTar } from '../../fixtures/tar.js';
import { gzip, makeTar as makeLayoutTar, writeLayout } from '../../fixtures/layout.js';
import { ociArchiveOf } from '../../fixtures/archives.js';
import { parseSourceName, openSource } from '../../src/source/index.js';
import { normaliseRepoTag } from '../../src/source/docker-archive.js';
import { scanTar } from '../../src/source/tar-scan.js';
import { openImage } from '../../src/open-image.js';
import { readBlob } from '../../src/image/blob.js';
import { OciBundleError } from '../../src/errors.js';

const isCode = (code: string, re?: RegExp) => (e: unknown) => e instanceof OciBundleError && e.code === code && (!re || re.test(e.message));

test('parseSourceName', async (t) => {
  const D = `sha256:${'b'.repeat(64)}`;
  const cases: [string, string, unknown][] = [
    ['bare path', 'busybox', { transport: 'oci', path: 'busybox', ref: 'latest' }],
    ['bare path and tag', 'busybox:1.36', { transport: 'oci', path: 'busybox', ref: '1.36' }],
    ['bare digest', `bb@${D}`, { transport: 'oci', path: 'bb', ref: `@${D}` }],
    ['oci: prefix', 'oci:/x/bb:v1', { transport: 'oci', path: '/x/bb', ref: 'v1' }],
    ['oci-archive with tag', 'oci-archive:a.tar:v1', { transport: 'oci-archive', path: 'a.tar', ref: 'v1' }],
    ['oci-archive without tag', 'oci-archive:a.tar', { transport: 'oci-archive', path: 'a.tar', ref: undefined }],
    ['docker-archive', 'docker-archive:d.tar', { transport: 'docker-archive', path: 'd.tar', repoTag: undefined }],
    ['docker-archive repo tag with port', 'docker-archive:d.tar:localhost:5000/bb:v1', { transport: 'docker-archive', path: 'd.tar', repoTag: 'localhost:5000/bb:v1' }],
    ['docker registry', 'docker://127.0.0.1:5000/bb:latest', { transport: 'docker', rest: '127.0.0.1:5000/bb:latest' }],
    ['empty docker', 'docker://', 'EBADREF'],
    ['empty docker-archive file', 'docker-archive::x', 'EBADREF'],
    ['bad tag', 'oci-archive:a.tar:-bad', 'EBADREF'],
  ];
  for (const [name, input, want] of cases) {
    await t.test(name, () => {
      if (typeof want === 'string') assert.throws(() => parseSourceName(input), isCode(want));
      else assert.deepEqual(parseSourceName(input), want);
    });
  }
});

test('normaliseRepoTag', () => {
  assert.equal(normaliseRepoTag('docker.io/library/busybox:1'), 'busybox:1');
  assert.equal(normaliseRepoTag('busybox'), 'busybox:latest');
  assert.equal(normaliseRepoTag('localhost:5000/bb'), 'localhost:5000/bb:latest');
});

test('docker:// without a registry client is a clear error (or reaches the client)', async () => {
  const have = existsSync(new URL('../../src/registry/index.js', import.meta.url));
  if (have) return; // the registry engineer's tests cover it
  await assert.rejects(openSource('docker://127.0.0.1:1/x:y'), isCode('EUSAGE', /registry client/));
});

test('oci-archive sources', async (t) => {
  const dir = mkdtempSync('/dev/shm/source-names-');
  try {
    const lay = join(dir, 'lay');
    const built = writeLayout(lay, { images: [{ tag: 'latest', layers: [gzip(await makeLayoutTar([{ name: 'f', data: 'x' }]))] }] });
    const good = ociArchiveOf(lay);
    await t.test('a good archive resolves without extraction and verifies blobs', async () => {
      const file = join(dir, 'good.tar');
      writeFileSync(file, good);
      const img = await openImage(`oci-archive:${file}`);
      assert.equal(img.manifestDescriptor.digest, built.images[0]!.manifest.digest);
      const layer = await readBlob(img.layout, img.layers[0]!, 1 << 20);
      assert.equal(layer.length, img.layers[0]!.size);
      await img.close();
      assert.deepEqual([...(await scanTar(file)).members.keys()].slice(0, 2), ['oci-layout', 'index.json']);
    });
    const layerHex = built.images[0]!.layers[0]!.digest.slice(7);
    const cases: [string, Buffer, string, RegExp][] = [
      ['traversal name', makeTar([{ name: 'blobs/../../evil', content: 'x' }]), 'EPATH', /not a plain relative path/],
      ['duplicate member', makeTar([{ name: 'oci-layout', content: '{}' }, { name: './oci-layout', content: '{}' }]), 'ETAR', /duplicate member/],
      ['truncated', good.subarray(0, good.length - 1600), 'ETAR', /truncated/],
      ['no oci-layout', makeTar([{ name: 'index.json', content: '{}' }]), 'ENOLAYOUT', /oci-layout file missing/],
      [
        'a blob that is a symlink',
        makeTar([
          { name: 'oci-layout', content: '{"imageLayoutVersion":"1.0.0"}' },
          { name: 'index.json', content: JSON.stringify({ schemaVersion: 2, manifests: [{ ...built.images[0]!.manifest, annotations: { 'org.opencontainers.image.ref.name': 'latest' } }] }) },
          { name: `blobs/sha256/${built.images[0]!.manifest.digest.slice(7)}`, type: 'symlink', linkname: '/etc/passwd' },
        ]),
        'EBLOBTYPE',
        /not a regular file/,
      ],
      ['sparse blob', makeTar([{ name: `blobs/sha256/${layerHex}`, content: Buffer.alloc(4096, 1), sparse: { format: 'pax-1.0', map: [[0, 512]] } }]), 'ETAR', /sparse/],
    ];
    for (const [name, bytes, code, re] of cases) {
      await t.test(name, async () => {
        const file = join(dir, `${name.replace(/\W/g, '_')}.tar`);
        writeFileSync(file, bytes);
        await assert.rejects(openImage(`oci-archive:${file}`), isCode(code, re));
      });
    }
    await t.test('a missing archive is ENOLAYOUT', async () => {
      await assert.rejects(openImage(`oci-archive:${join(dir, 'nope.tar')}`), isCode('ENOLAYOUT', /no such file/));
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
