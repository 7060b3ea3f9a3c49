// Opening and creating layouts: each broken layout gets its own clear error
// (ENOLAYOUT / EBADLAYOUT / ELIMIT), and init refuses an existing path.
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, symlinkSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { initLayout, openLayout } from '../../src/image/index.js';
import { setLayoutMarker, writeLayout, writeIndexJson } from '../../fixtures/layout.js';
import { rejectsWith, tmpDir } from '../helpers/layout-env.js';

const t = tmpDir('image-layout-');
after(t.cleanup);
let n = 0;
function fresh(): string {
  const d = join(t.dir, `l${n++}`);
  writeLayout(d, { images: [{ tag: 'latest' }] });
  return d;
}

test('a good layout opens with its index', async () => {
  const d = fresh();
  const l = await openLayout(d);
  assert.equal(l.index.manifests.length, 1);
  assert.equal(l.path, d);
});

test('broken layouts are refused with a clear code', async () => {
  const table: [string, (d: string) => void, string, RegExp][] = [
    ['missing directory', (d) => rmSync(d, { recursive: true }), 'ENOLAYOUT', /no such directory/],
    ['a file, not a directory', (d) => (rmSync(d, { recursive: true }), writeFileSync(d, 'x')), 'ENOLAYOUT', /not a directory/],
    ['missing oci-layout', (d) => setLayoutMarker(d, null), 'ENOLAYOUT', /oci-layout file missing/],
    ['oci-layout not json', (d) => setLayoutMarker(d, '{'), 'EBADLAYOUT', /not valid json/],
    ['wrong layout version', (d) => setLayoutMarker(d, '{"imageLayoutVersion":"2.0.0"}'), 'EBADLAYOUT', /imageLayoutVersion "2.0.0"/],
    ['oci-layout is a directory', (d) => (setLayoutMarker(d, null), mkdirSync(join(d, 'oci-layout'))), 'EBADLAYOUT', /oci-layout/],
    ['oci-layout is a symlink', (d) => (setLayoutMarker(d, null), writeFileSync(join(d, 'x'), '{"imageLayoutVersion":"1.0.0"}'), symlinkSync('x', join(d, 'oci-layout'))), 'EBADLAYOUT', /oci-layout/],
    ['blobs missing', (d) => rmSync(join(d, 'blobs'), { recursive: true }), 'EBADLAYOUT', /blobs is missing/],
    ['blobs is a file', (d) => (rmSync(join(d, 'blobs'), { recursive: true }), writeFileSync(join(d, 'blobs'), '')), 'EBADLAYOUT', /blobs is not a directory/],
    ['blobs is a symlink', (d) => (rmSync(join(d, 'blobs'), { recursive: true }), symlinkSync('/tmp', join(d, 'blobs'))), 'EBADLAYOUT', /blobs is a symlink; refused/],
    ['index.json missing', (d) => rmSync(join(d, 'index.json')), 'EBADLAYOUT', /index.json is missing/],
    ['index.json not json', (d) => writeFileSync(join(d, 'index.json'), '{"schemaVersion":2,'), 'EBADLAYOUT', /not valid json/],
    ['index.json schemaVersion 1', (d) => writeFileSync(join(d, 'index.json'), '{"schemaVersion":1,"manifests":[]}'), 'EBADLAYOUT', /index.json is invalid/],
    ['index.json without manifests', (d) => writeFileSync(join(d, 'index.json'), '{"schemaVersion":2}'), 'EBADLAYOUT', /invalid/],
    ['index.json with layers (CVE-2021-41190)', (d) => writeFileSync(join(d, 'index.json'), '{"schemaVersion":2,"manifests":[],"layers":[]}'), 'EBADLAYOUT', /invalid/],
    ['index.json negative size', (d) => writeIndexJson(d, [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'a'.repeat(64)}`, size: -1 }]), 'EBADLAYOUT', /invalid/],
    ['index.json fractional size', (d) => writeIndexJson(d, [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'a'.repeat(64)}`, size: 1.5 }]), 'EBADLAYOUT', /invalid/],
    ['index.json non-string annotation', (d) => writeFileSync(join(d, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'a/b', digest: `sha256:${'a'.repeat(64)}`, size: 1, annotations: { x: 1 } }] })), 'EBADLAYOUT', /invalid/],
  ];
  for (const [name, breakIt, code, re] of table) {
    const d = fresh();
    breakIt(d);
    await rejectsWith(openLayout(d), code, re).catch((e: Error) => assert.fail(`${name}: ${e.message}`));
  }
});

test('the index error names the cause', async () => {
  const d = fresh();
  writeFileSync(join(d, 'index.json'), '{"schemaVersion":2,"manifests":[],"config":{}}');
  await assert.rejects(openLayout(d), (e: Error) => /CVE-2021-41190/.test(String((e.cause as Error)?.message)));
});

test('initLayout creates an empty layout and refuses an existing path', async () => {
  const d = join(t.dir, 'init');
  const l = await initLayout(d);
  assert.deepEqual(l.index, { schemaVersion: 2, manifests: [] });
  assert.ok(existsSync(join(d, 'blobs', 'sha256')));
  assert.deepEqual(JSON.parse(readFileSync(join(d, 'oci-layout'), 'utf8')), { imageLayoutVersion: '1.0.0' });
  await rejectsWith(initLayout(d), 'EEXIST');
  writeFileSync(join(t.dir, 'afile'), '');
  await rejectsWith(initLayout(join(t.dir, 'afile')), 'EEXIST');
});
