// Hostile or malformed image configs: wrong JSON types, nul bytes, entries that cannot be
// exec'd, absurd sizes (ELIMIT), dangerous volumes and labels, and bad caller options.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { generateRuntimeConfig, SPEC_LIMITS, type ImageConfigInput } from '../../src/spec/index.js';
import { baseOptions, image } from '../helpers/spec-fixtures.js';

const asImage = (v: unknown) => v as ImageConfigInput;

describe('wrong JSON types fail with ECONFIG naming the field', () => {
  const cases: { name: string; img: unknown; field: RegExp }[] = [
    { name: 'image is null', img: null, field: /json object/ },
    { name: 'image is an array', img: [], field: /json object/ },
    { name: 'config is an array', img: { config: [] }, field: /field config must/ },
    { name: 'config is a string', img: { config: 'x' }, field: /field config must/ },
    { name: 'Env is a string', img: { config: { Env: 'A=1' } }, field: /config\.Env/ },
    { name: 'Env entry is a number', img: { config: { Env: [1] } }, field: /config\.Env/ },
    { name: 'Cmd is a string', img: { config: { Cmd: '/bin/sh' } }, field: /config\.Cmd/ },
    { name: 'Entrypoint has null', img: { config: { Entrypoint: [null] } }, field: /config\.Entrypoint/ },
    { name: 'User is a number', img: { config: { User: 0, Cmd: ['x'] } }, field: /config\.User/ },
    { name: 'WorkingDir is an array', img: { config: { WorkingDir: ['/'], Cmd: ['x'] } }, field: /config\.WorkingDir/ },
    { name: 'Labels is an array', img: { config: { Labels: ['a'], Cmd: ['x'] } }, field: /config\.Labels/ },
    { name: 'Label value is a number', img: { config: { Labels: { a: 1 }, Cmd: ['x'] } }, field: /config\.Labels\["a"\]/ },
    { name: 'Volumes is an array', img: { config: { Volumes: ['/a'], Cmd: ['x'] } }, field: /config\.Volumes/ },
    { name: 'ExposedPorts is a string', img: { config: { ExposedPorts: '80', Cmd: ['x'] } }, field: /config\.ExposedPorts/ },
    { name: 'StopSignal is a number', img: { config: { StopSignal: 9, Cmd: ['x'] } }, field: /config\.StopSignal/ },
    { name: 'os is a number', img: { os: 1, config: { Cmd: ['x'] } }, field: /field os/ },
    { name: 'created is a number', img: { created: 0, config: { Cmd: ['x'] } }, field: /field created/ },
    { name: 'os.features is a string', img: { 'os.features': 'a', config: { Cmd: ['x'] } }, field: /os\.features/ },
  ];
  for (const c of cases) {
    test(c.name, () => assert.throws(() => generateRuntimeConfig(asImage(c.img), baseOptions()), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'ECONFIG');
      assert.match(e.message, c.field);
      return true;
    }));
  }
});

describe('entries that cannot be exec-ed', () => {
  const envCases: { name: string; env: string[]; kept: string[] }[] = [
    { name: "no '=': dropped", env: ['JUSTNAME', 'A=1'], kept: ['A=1'] },
    { name: 'empty name: dropped', env: ['=value', 'A=1'], kept: ['A=1'] },
    { name: 'nul byte: dropped', env: ['A=1\0B=2', 'C=3'], kept: ['C=3'] },
    { name: 'empty string: dropped', env: ['', 'A=1'], kept: ['A=1'] },
  ];
  for (const c of envCases) {
    test(`env ${c.name} with WENV`, () => {
      const o = baseOptions();
      const s = generateRuntimeConfig(image({ Cmd: ['x'], Env: c.env }), o);
      assert.deepEqual(s.process.env.slice(2, -1), c.kept);
      assert.deepEqual(o.collected.codes(), ['WENV']);
    });
  }
  const argCases: { name: string; cfg: Record<string, unknown> }[] = [
    { name: 'nul in Cmd', cfg: { Cmd: ['/bin/sh', 'a\0b'] } },
    { name: 'nul in Entrypoint', cfg: { Entrypoint: ['\0'] } },
    { name: 'nul in WorkingDir', cfg: { Cmd: ['x'], WorkingDir: '/a\0b' } },
    { name: 'nul in a volume', cfg: { Cmd: ['x'], Volumes: { '/a\0': {} } } },
  ];
  for (const c of argCases) {
    test(`${c.name} fails with ECONFIG`, () => assert.throws(() => generateRuntimeConfig(image(c.cfg), baseOptions()), { code: 'ECONFIG', message: /nul byte/ }));
  }
});

describe('absurd sizes fail with ELIMIT', () => {
  const many = (n: number, f: (i: number) => string) => Array.from({ length: n }, (_, i) => f(i));
  const obj = (keys: string[]) => Object.fromEntries(keys.map((k) => [k, {}]));
  const cases: { name: string; cfg: Record<string, unknown>; top?: Record<string, unknown> }[] = [
    { name: 'too many env entries', cfg: { Cmd: ['x'], Env: many(SPEC_LIMITS.envEntries + 1, (i) => `V${i}=1`) } },
    { name: 'one env string past MAX_ARG_STRLEN', cfg: { Cmd: ['x'], Env: [`A=${'x'.repeat(SPEC_LIMITS.stringBytes)}`] } },
    { name: 'one argument past MAX_ARG_STRLEN', cfg: { Cmd: ['x'.repeat(SPEC_LIMITS.stringBytes + 1)] } },
    { name: 'args and env past the exec total', cfg: { Cmd: many(12, () => 'y'.repeat(100_000)) } },
    { name: 'too many args', cfg: { Entrypoint: many(SPEC_LIMITS.argEntries, () => 'a'), Cmd: ['b'] } },
    { name: 'too many labels', cfg: { Cmd: ['x'], Labels: Object.fromEntries(many(SPEC_LIMITS.labelEntries + 1, (i) => `k${i}`).map((k) => [k, 'v'])) } },
    { name: 'huge label value', cfg: { Cmd: ['x'], Labels: { big: 'v'.repeat(SPEC_LIMITS.labelBytes) } } },
    { name: 'too many volumes', cfg: { Cmd: ['x'], Volumes: obj(many(SPEC_LIMITS.volumes + 1, (i) => `/v${i}`)) } },
    { name: 'too many exposed ports', cfg: { Cmd: ['x'], ExposedPorts: obj(many(SPEC_LIMITS.exposedPorts + 1, (i) => `${i}/tcp`)) } },
    { name: 'WorkingDir past PATH_MAX', cfg: { Cmd: ['x'], WorkingDir: `/${'d/'.repeat(2100)}` } },
    { name: 'volume past PATH_MAX', cfg: { Cmd: ['x'], Volumes: { [`/${'v'.repeat(5000)}`]: {} } } },
  ];
  for (const c of cases) {
    test(c.name, () => assert.throws(() => generateRuntimeConfig(image(c.cfg, c.top), baseOptions()), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'ELIMIT');
      assert.ok(e.message.length < 300, 'the message stays short');
      return true;
    }));
  }
  test('a huge passwd text fails with ELIMIT', () => {
    assert.throws(() => generateRuntimeConfig(image({ Cmd: ['x'], User: 'alice' }), baseOptions({ passwd: 'x'.repeat(SPEC_LIMITS.passwdBytes + 1) })), { code: 'ELIMIT' });
  });
  test('just under the limits passes', () => {
    const s = generateRuntimeConfig(image({ Cmd: ['x'], Env: many(SPEC_LIMITS.envEntries, (i) => `V${i}=1`), Volumes: obj(many(SPEC_LIMITS.volumes, (i) => `/v${i}`)) }), baseOptions());
    assert.equal(s.process.env.length, SPEC_LIMITS.envEntries + 3);
    assert.equal(s.mounts.length, 7 + SPEC_LIMITS.volumes);
  });
});

describe('dangerous volumes are dropped with WVOLUME', () => {
  const cases: { name: string; vol: string; want: string[]; warns?: string[] }[] = [
    { name: 'the root', vol: '/', want: [] },
    { name: "'..' cleaning to the root", vol: '/a/../..', want: [] },
    { name: 'an empty name', vol: '', want: [] },
    { name: '/proc', vol: '/proc', want: [] },
    { name: 'under /proc', vol: '/proc/sys/kernel', want: [] },
    { name: '/dev', vol: '/dev/', want: [] },
    { name: '/dev/shm', vol: '/dev/shm', want: [] },
    { name: 'under /sys through ..', vol: '/x/../sys/fs/cgroup', want: [] },
    { name: "'..' climbing is clamped, kept", vol: '../../etc/x', want: ['/etc/x'] },
    { name: 'a name that only starts like /proc is kept, no warning', vol: '/procfs', want: ['/procfs'], warns: [] },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const o = baseOptions();
      const s = generateRuntimeConfig(image({ Cmd: ['x'], Volumes: { [c.vol]: {}, '/ok': {} } }), o);
      assert.deepEqual(s.mounts.slice(7).map((m) => m.destination), [...c.want, '/ok'].sort());
      assert.deepEqual(o.collected.codes(), c.warns ?? ['WVOLUME']);
    });
  }
});

describe('labels that are not copied, with WLABEL', () => {
  const cases: { name: string; key: string }[] = [
    { name: 'empty key', key: '' },
    { name: "crun's hook output file", key: 'run.oci.hooks.stdout' },
    { name: "crun's handler", key: 'run.oci.handler' },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const o = baseOptions();
      const s = generateRuntimeConfig({ config: { Cmd: ['x'], Labels: { [c.key]: '/etc/shadow', keep: 'me' } } }, o);
      assert.deepEqual(s.annotations, { keep: 'me' });
      assert.deepEqual(o.collected.codes(), ['WLABEL']);
    });
  }
});

describe('bad caller options fail with EUSAGE', () => {
  const cases: { name: string; opts: Record<string, unknown> }[] = [
    { name: 'empty hostname', opts: { hostname: '' } },
    { name: 'hostname past 64 bytes', opts: { hostname: 'h'.repeat(65) } },
    { name: 'hostname with nul', opts: { hostname: 'a\0b' } },
    { name: 'empty rootfs path', opts: { rootfsPath: '' } },
    { name: 'rootfs path with nul', opts: { rootfsPath: 'root\0fs' } },
  ];
  for (const c of cases) {
    test(c.name, () => assert.throws(() => generateRuntimeConfig(image({ Cmd: ['x'] }), baseOptions(c.opts)), { code: 'EUSAGE' }));
  }
});
