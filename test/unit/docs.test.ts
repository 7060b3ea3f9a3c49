// The documentation promises the code keeps: a LICENSE matching package.json's licence, the
// ENATIVE hint that works in a global install, and README sentences about behaviour that
// other tests check (copy's progress bar, rm without a tag removing latest).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { loadAddon } from '../../src/fs/native.js';
import { OciBundleError, oneLine } from '../../src/errors.js';

const root = new URL('../../../', import.meta.url);
const read = (p: string) => readFileSync(new URL(p, root), 'utf8');

test('LICENSE is the Apache License 2.0 that package.json names', () => {
  const pkg = JSON.parse(read('package.json')) as { license: string };
  assert.equal(pkg.license, 'Apache-2.0');
  const text = read('LICENSE');
  assert.match(text, /^\s+Apache License\n\s+Version 2\.0, January 2004\n/);
  assert.match(text, /END OF TERMS AND CONDITIONS\s*$/);
  assert.match(read('README.md'), /\[LICENSE\]\(LICENSE\)/);
});

test('a missing addon: ENATIVE, one line, with the rebuild command for each kind of install', () => {
  let err: unknown;
  try {
    loadAddon('./no-such-addon.node');
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof OciBundleError);
  assert.equal(err.code, 'ENATIVE');
  const line = oneLine(err);
  assert.doesNotMatch(line, /\n/);
  assert.doesNotMatch(line, /Require stack|Cannot find module/, 'no module-loader internals');
  for (const cmd of ['npm rebuild -g ocibundle', 'npm rebuild ocibundle', 'npm run build:native']) assert.ok(line.includes(cmd), `${cmd} in: ${line}`);
  assert.match(read('README.md'), /npm rebuild -g ocibundle/);
});

test('README: copy has a progress bar; rm without a tag removes latest', () => {
  const readme = read('README.md');
  assert.match(readme, /`unpack` and `copy` show a progress bar on a terminal/);
  assert.doesNotMatch(readme, /Not covered yet[^]*progress bar for `copy`/);
  assert.match(readme, /`rm --image PATH\[:TAG\]` \| remove a tag; without `:TAG` it removes `latest`/);
});

test("README's warning table lists exactly the exported WARNING_CODES, each once", async () => {
  const { WARNING_CODES } = await import('../../src/errors.js');
  const readme = read('README.md');
  const section = readme.slice(readme.indexOf('### Warnings'), readme.indexOf('## Library'));
  const listed = [...section.matchAll(/^\| `(\w+)` \| (.+) \|$/gm)].map((m) => [m[1]!, m[2]!]);
  assert.deepEqual(listed.map(([k]) => k), Object.keys(WARNING_CODES));
  for (const [k, meaning] of listed) assert.equal(meaning, WARNING_CODES[k as keyof typeof WARNING_CODES], k);
  for (const k of Object.keys(WARNING_CODES)) assert.match(k, /^W[A-Z]+$/, 'warning codes are W + capitals');
});
