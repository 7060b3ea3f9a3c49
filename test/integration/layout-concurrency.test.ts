// Concurrency: 16 `ocibundle tag` processes on one layout leave 16 tags and a valid index;
// tags and rms interleaved by many processes lose nothing; no lock or temp file is left.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { openLayout, listTags, validateLayout } from '../../src/image/index.js';
import { writeLayout } from '../../fixtures/layout.js';
import { runCliAsync, tmpDir } from '../helpers/layout-env.js';

const t = tmpDir('layout-conc-');
after(t.cleanup);

test('16 parallel tag processes leave 16 tags', async () => {
  const d = join(t.dir, 'a');
  writeLayout(d, { images: [{ tag: 'latest' }] });
  const runs = await Promise.all(Array.from({ length: 16 }, (_, i) => runCliAsync(['tag', '--image', `${d}:latest`, `p${i}`])));
  for (const r of runs) assert.equal(r.status, 0, r.stderr);
  const l = await openLayout(d);
  const tags = listTags(l.index);
  assert.equal(tags.length, 17);
  for (let i = 0; i < 16; i++) assert.ok(tags.includes(`p${i}`), `p${i}`);
  assert.deepEqual((await validateLayout(l)).problems, []);
  assert.deepEqual(readdirSync(d).sort(), ['blobs', 'index.json', 'oci-layout']);
});

test('interleaved tag and rm processes lose no update', async () => {
  const d = join(t.dir, 'b');
  writeLayout(d, { images: [{ tag: 'latest' }, ...Array.from({ length: 8 }, (_, i) => ({ tag: `old${i}`, config: { author: `o${i}` } }))] });
  const jobs = [
    ...Array.from({ length: 8 }, (_, i) => runCliAsync(['tag', '--image', `${d}:latest`, `new${i}`])),
    ...Array.from({ length: 8 }, (_, i) => runCliAsync(['rm', '--image', `${d}:old${i}`])),
  ];
  for (const r of await Promise.all(jobs)) assert.equal(r.status, 0, r.stderr);
  const tags = listTags((await openLayout(d)).index).sort();
  assert.deepEqual(tags, ['latest', ...Array.from({ length: 8 }, (_, i) => `new${i}`)].sort());
});
