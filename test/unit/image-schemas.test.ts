// Schemas: fixture documents validate against the official image-spec schemas (draft-04,
// via ajv-draft-04) and against the compact schemas the product carries, and both reject
// the same malformed documents.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { validateSchema } from '../../src/image/index.js';
import { blobPath, gzip, makeTar, writeLayout, MEDIA } from '../../fixtures/layout.js';
import { officialAvailable, officialValidator } from '../helpers/layout-official-schemas.js';
import { tmpDir } from '../helpers/layout-env.js';

const skip = !officialAvailable() && 'official schemas not found in shared/spec-schemas';
const t = tmpDir('image-schemas-');
after(t.cleanup);

const ours = async (kind: 'index' | 'manifest' | 'config', doc: unknown): Promise<string | null> => {
  try {
    await validateSchema(kind, doc, 'test');
    return null;
  } catch (e) {
    return (e as Error).message;
  }
};

test('fixture layouts are valid for the official schemas and ours', { skip }, async () => {
  const check = officialValidator();
  const d = join(t.dir, 'fx');
  const layer = gzip(await makeTar([{ name: 'etc/', type: 'directory' }, { name: 'etc/passwd', data: 'root:x:0:0::/root:/bin/sh\n' }]));
  const out = writeLayout(d, {
    images: [{ tag: 'latest', layers: [layer], config: { created: '2024-01-02T03:04:05Z', config: { Env: ['PATH=/bin'], Entrypoint: ['/bin/sh'], ExposedPorts: { '80/tcp': {} }, Labels: { a: 'b' } }, history: [{ created: '2024-01-02T03:04:05Z', created_by: 'ADD' }] } }],
    indexes: [{ tag: 'multi', images: [{ platform: 'linux/amd64' }, { platform: 'linux/arm64/v8' }] }],
  });
  const read = (g: string) => JSON.parse(readFileSync(blobPath(d, g), 'utf8')) as unknown;
  const docs: [string, 'index' | 'manifest' | 'config', unknown][] = [
    ['index.json', 'index', JSON.parse(readFileSync(join(d, 'index.json'), 'utf8'))],
    ['manifest', 'manifest', read(out.images[0]!.manifest.digest)],
    ['config', 'config', read(out.images[0]!.config.digest)],
    ['image index', 'index', read(out.indexes[0]!.index.digest)],
    ['arm config', 'config', read(out.indexes[0]!.images[1]!.config.digest)],
  ];
  for (const [name, kind, doc] of docs) {
    assert.equal(check(kind, doc), null, `official: ${name}`);
    assert.equal(await ours(kind, doc), null, `ours: ${name}`);
  }
  assert.equal(check('layout', JSON.parse(readFileSync(join(d, 'oci-layout'), 'utf8'))), null, 'oci-layout');
});

test('malformed documents are rejected by both', { skip }, async () => {
  const check = officialValidator();
  const desc = { mediaType: MEDIA.config, digest: `sha256:${'a'.repeat(64)}`, size: 3 };
  const table: [string, 'index' | 'manifest' | 'config', unknown][] = [
    ['manifest without config', 'manifest', { schemaVersion: 2, layers: [] }],
    ['manifest schemaVersion 3', 'manifest', { schemaVersion: 3, config: desc, layers: [] }],
    ['manifest negative size', 'manifest', { schemaVersion: 2, config: { ...desc, size: -1 }, layers: [] }],
    ['manifest size as string', 'manifest', { schemaVersion: 2, config: { ...desc, size: '3' }, layers: [] }],
    ['manifest digest malformed', 'manifest', { schemaVersion: 2, config: { ...desc, digest: 'nope' }, layers: [] }],
    ['index manifests not array', 'index', { schemaVersion: 2, manifests: {} }],
    ['index annotation not string', 'index', { schemaVersion: 2, manifests: [], annotations: { a: 1 } }],
    ['config without os', 'config', { architecture: 'amd64', rootfs: { type: 'layers', diff_ids: [] } }],
    ['config rootfs type', 'config', { architecture: 'amd64', os: 'linux', rootfs: { type: 'tarballs', diff_ids: [] } }],
    ['config Env number', 'config', { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, config: { Env: [1] } }],
  ];
  for (const [name, kind, doc] of table) {
    assert.notEqual(check(kind, doc), null, `official accepts ${name}`);
    assert.notEqual(await ours(kind, doc), null, `ours accepts ${name}`);
  }
});
