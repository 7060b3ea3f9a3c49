// Schema validity: generated configs pass the official runtime-spec schema (draft-04, all
// $refs) and our own carried schema; our schema is valid draft-07 in ajv strict mode, takes
// `runc spec` output, and refuses documents runc could not run.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { generateRuntimeConfig, runtimeConfigSchema, validateRuntimeConfig, type GenerateOptions, type ImageConfigInput } from '../../src/spec/index.js';
import { baseOptions, image } from '../helpers/spec-fixtures.js';
import { errorsOf, officialConfigValidator, officialSchemaDir } from '../helpers/spec-schemas.js';

const rich = image(
  { User: 'daemon', Env: ['A=1'], Entrypoint: ['/init'], Cmd: ['run'], WorkingDir: '/srv', StopSignal: 'SIGTERM', ExposedPorts: { '80/tcp': {} }, Volumes: { '/data': {}, '/cache': {} }, Labels: { a: 'b' } },
  { author: 'x', created: '2020-01-01T00:00:00Z', variant: 'v8', 'os.version': '1', 'os.features': ['f'] },
);
const generated: { name: string; img: ImageConfigInput; opts: Partial<GenerateOptions> }[] = [
  { name: 'minimal', img: { config: {} }, opts: {} },
  { name: 'rich', img: rich, opts: {} },
  { name: 'tty and hostname', img: rich, opts: { tty: true, hostname: 'h' } },
  { name: 'no volumes', img: rich, opts: { volumes: false } },
  { name: 'rootless', img: rich, opts: { rootless: true, hostUid: 1000, hostGid: 1000, hostHasResolvConf: true } },
  { name: 'id maps', img: rich, opts: { uidMap: [{ containerID: 0, hostID: 100000, size: 65536 }], gidMap: [{ containerID: 0, hostID: 100000, size: 65536 }] } },
];

describe('generated configs pass the official runtime-spec schema', () => {
  const skip = officialSchemaDir() === null && 'shared/spec-schemas not present';
  for (const c of generated) {
    test(c.name, { skip }, () => {
      const v = officialConfigValidator()!;
      const spec = JSON.parse(JSON.stringify(generateRuntimeConfig(c.img, baseOptions(c.opts)))) as unknown;
      assert.ok(v(spec), errorsOf(v));
    });
  }
  test('the official schema is really applied (a bad namespace fails it)', { skip }, () => {
    const v = officialConfigValidator()!;
    const spec = JSON.parse(JSON.stringify(generateRuntimeConfig(rich, baseOptions()))) as { linux: { namespaces: { type: string }[] } };
    spec.linux.namespaces.push({ type: 'bogus' });
    assert.equal(v(spec), false);
  });
});

describe('our carried schema', () => {
  test('is valid draft-07 and compiles in ajv strict mode with meta-validation', () => {
    const require = createRequire(import.meta.url);
    const Ajv = (require('ajv') as { default: new (o: object) => { compile(s: object): unknown; validateSchema(s: object): boolean } }).default;
    const ajv = new Ajv({ strict: true, validateSchema: true });
    assert.equal(ajv.validateSchema(runtimeConfigSchema), true);
    assert.equal(typeof ajv.compile(runtimeConfigSchema), 'function');
  });
  test('accepts what `runc spec` writes', { skip: spawnSync('runc', ['--version']).status !== 0 && 'runc not installed' }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'spec-runc-'));
    try {
      for (const args of [['spec'], ['spec', '--rootless']]) {
        rmSync(join(dir, 'config.json'), { force: true });
        const r = spawnSync('runc', args, { cwd: dir });
        assert.equal(r.status, 0, String(r.stderr));
        validateRuntimeConfig(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const good = () => JSON.parse(JSON.stringify(generateRuntimeConfig(rich, baseOptions()))) as Record<string, any>;
  const bad: { name: string; mutate: (s: Record<string, any>) => unknown; where: RegExp }[] = [
    { name: 'not an object', mutate: () => 'x', where: /at \// },
    { name: 'no process', mutate: (s) => { delete s.process; return s; }, where: /at \// },
    { name: 'no ociVersion', mutate: (s) => { delete s.ociVersion; return s; }, where: /at \// },
    { name: 'ociVersion 2.0.0', mutate: (s) => { s.ociVersion = '2.0.0'; return s; }, where: /ociVersion/ },
    { name: 'relative cwd', mutate: (s) => { s.process.cwd = 'srv'; return s; }, where: /\/process\/cwd/ },
    { name: 'empty args', mutate: (s) => { s.process.args = []; return s; }, where: /\/process\/args/ },
    { name: "env entry without '='", mutate: (s) => { s.process.env.push('NOPE'); return s; }, where: /\/process\/env\/\d+/ },
    { name: 'env entry with empty name', mutate: (s) => { s.process.env.push('=x'); return s; }, where: /\/process\/env\/\d+/ },
    { name: 'negative uid', mutate: (s) => { s.process.user.uid = -1; return s; }, where: /\/process\/user\/uid/ },
    { name: 'uid past 32 bits', mutate: (s) => { s.process.user.uid = 2 ** 32; return s; }, where: /\/process\/user\/uid/ },
    { name: 'bogus capability', mutate: (s) => { s.process.capabilities.bounding.push('SYS_ADMIN'); return s; }, where: /capabilities\/bounding/ },
    { name: 'relative mount destination', mutate: (s) => { s.mounts.push({ destination: 'x', type: 'tmpfs', source: 'none' }); return s; }, where: /\/mounts\/\d+\/destination/ },
    { name: 'empty annotation key', mutate: (s) => { s.annotations[''] = 'v'; return s; }, where: /annotations/ },
    { name: 'non-string annotation', mutate: (s) => { s.annotations.k = 1; return s; }, where: /annotations/ },
    { name: 'unknown namespace', mutate: (s) => { s.linux.namespaces.push({ type: 'bogus' }); return s; }, where: /namespaces/ },
    { name: 'id map of size 0', mutate: (s) => { s.linux.uidMappings = [{ containerID: 0, hostID: 0, size: 0 }]; return s; }, where: /uidMappings/ },
    { name: 'empty root path', mutate: (s) => { s.root.path = ''; return s; }, where: /\/root\/path/ },
  ];
  for (const c of bad) {
    test(`refuses: ${c.name}`, () => {
      assert.throws(() => validateRuntimeConfig(c.mutate(good())), (e: Error & { code?: string }) => {
        assert.equal(e.code, 'ESCHEMA');
        assert.match(e.message, c.where);
        return true;
      });
    });
  }
  test('accepts the unmutated document', () => assert.doesNotThrow(() => validateRuntimeConfig(good())));
});
