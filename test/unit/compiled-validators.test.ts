// The validators gen-validators compiles (src/compiled-validators.ts): each set is found under
// dist/src with the validate functions its callers use, and they accept and refuse documents
// (the bundled CLI inlines the same files; cli-bundle runs it without them on disk).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { COMPILED_VALIDATORS, compiledValidators, imageValidators, specValidators } from '../../src/compiled-validators.js';

type Fn = (d: unknown) => boolean;

test('compiled validators: every set and its functions', async (t) => {
  const cases: { which: keyof typeof COMPILED_VALIDATORS; fn: string; good: unknown; bad: unknown }[] = [
    { which: 'image', fn: 'index', good: { schemaVersion: 2, manifests: [] }, bad: { schemaVersion: 'two', manifests: [] } },
    { which: 'image', fn: 'manifest', good: { schemaVersion: 2, config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${'a'.repeat(64)}`, size: 2 }, layers: [] }, bad: { schemaVersion: 2, layers: [] } },
    { which: 'image', fn: 'config', good: { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }, bad: { architecture: 7, os: 'linux' } },
    { which: 'spec', fn: 'runtimeConfig', good: { ociVersion: '1.0.2', root: { path: 'rootfs' }, process: { cwd: '/', args: ['sh'], user: { uid: 0, gid: 0 } } }, bad: { ociVersion: '1.0.2' } },
  ];
  for (const c of cases) {
    await t.test(`${c.which}: ${c.fn}`, () => {
      const set = compiledValidators(c.which) as Record<string, Fn> | undefined;
      assert.ok(set, `${COMPILED_VALIDATORS[c.which]} is built`);
      const v = set[c.fn]!;
      assert.equal(typeof v, 'function');
      assert.equal(v(c.good), true, JSON.stringify((v as { errors?: unknown }).errors));
      assert.equal(v(c.bad), false);
    });
  }
});

test('one function per set gives the same exports', async (t) => {
  const cases: [string, () => unknown, keyof typeof COMPILED_VALIDATORS][] = [
    ['imageValidators()', imageValidators, 'image'],
    ['specValidators()', specValidators, 'spec'],
  ];
  for (const [name, get, which] of cases) {
    await t.test(name, () => assert.equal(get(), compiledValidators(which)));
  }
});
