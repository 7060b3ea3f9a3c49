// src/package-files.ts: the package root and the run-time files it names, as the compiled
// modules see them (the bundled CLI's view is checked by test/integration/cli-bundle, which
// runs the bundle from a copy of the package).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BUNDLED, PACKAGE_ROOT, distFile, packageFile, workerEntry } from '../../src/package-files.js';

test('the package root is the directory of package.json', () => {
  assert.equal(fileURLToPath(PACKAGE_ROOT), fileURLToPath(new URL('../../../', import.meta.url)));
  assert.equal((JSON.parse(readFileSync(packageFile('package.json'), 'utf8')) as { name: string }).name, 'ocibundle');
});

test('outside the bundle, workers are the compiled modules', () => {
  assert.equal(BUNDLED, false);
  const cases: ['pipeline' | 'store', string][] = [
    ['pipeline', 'dist/src/pipeline/worker.js'],
    ['store', 'dist/src/store/worker.js'],
  ];
  for (const [name, rel] of cases) {
    assert.equal(workerEntry(name).href, packageFile(rel).href);
    assert.ok(existsSync(workerEntry(name)), rel);
  }
});

test('the files named from the root exist after npm run build:ts', () => {
  for (const u of [distFile('image/schemas/compiled.cjs'), distFile('spec/compiled.cjs'), distFile('runtime-config.js'), packageFile('native/build/Release/ocibundle_native.node')]) {
    assert.ok(existsSync(u), fileURLToPath(u));
  }
});
