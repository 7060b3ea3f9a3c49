// The build step (scripts/gen-validators.mjs) must have produced standalone validators, and
// they must give the same verdicts as ajv compiling the same schemas at run time (the
// fallback when the build step did not run).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Ajv from 'ajv';
import { indexSchema } from '../../src/image/schemas/index-schema.js';
import { manifestSchema } from '../../src/image/schemas/manifest-schema.js';
import { configSchema } from '../../src/image/schemas/config-schema.js';
import { runtimeConfigSchema } from '../../src/spec/schema.js';
import { generateRuntimeConfig } from '../../src/spec/index.js';

type Fn = (d: unknown) => boolean;
const require = createRequire(import.meta.url);
const imageCjs = fileURLToPath(new URL('../../src/image/schemas/compiled.cjs', import.meta.url));
const specCjs = fileURLToPath(new URL('../../src/spec/compiled.cjs', import.meta.url));

const d = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'a'.repeat(64)}`, size: 7 };
const docs: [string, 'index' | 'manifest' | 'config', unknown][] = [
  ['index ok', 'index', { schemaVersion: 2, manifests: [d] }],
  ['index with negative size', 'index', { schemaVersion: 2, manifests: [{ ...d, size: -1 }] }],
  ['index schemaVersion 1', 'index', { schemaVersion: 1, manifests: [] }],
  ['manifest ok', 'manifest', { schemaVersion: 2, config: d, layers: [d] }],
  ['manifest without config', 'manifest', { schemaVersion: 2, layers: [] }],
  ['config ok', 'config', { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }],
  ['config with string Env', 'config', { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, config: { Env: 'A=1' } }],
];

test('generated validators exist and agree with run-time compilation', async (t) => {
  assert.ok(existsSync(imageCjs) && existsSync(specCjs), 'npm run build:ts generates dist/src/{image/schemas,spec}/compiled.cjs');
  const gen = require(imageCjs) as Record<string, Fn>;
  const ajv = new Ajv.default({ allErrors: false, strict: true, allowUnionTypes: true });
  const rt: Record<string, Fn> = { index: ajv.compile(indexSchema), manifest: ajv.compile(manifestSchema), config: ajv.compile(configSchema) };
  for (const [name, kind, doc] of docs) {
    await t.test(name, () => assert.equal(gen[kind]!(doc), rt[kind]!(doc)));
  }
  await t.test('runtime config', () => {
    const genSpec = (require(specCjs) as { runtimeConfig: Fn }).runtimeConfig;
    const rtSpec = new Ajv.default({ allErrors: false, strict: true }).compile(runtimeConfigSchema);
    const good = generateRuntimeConfig({ config: { Cmd: ['sh'] } }, { passwd: null, group: null });
    const bad = { ...good, process: { ...good.process, args: 'sh' } };
    assert.equal(genSpec(good), true);
    assert.equal(rtSpec(good), true);
    assert.equal(genSpec(bad), false);
    assert.equal(rtSpec(bad), false);
  });
});
