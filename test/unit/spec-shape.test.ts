// Shaping config.json at conversion time (the library's ShapeOptions): each option's effect
// on the generated document, the EUSAGE refusals of hostile or wrong values, RFC 7396 merge
// patches (the RFC's appendix A cases), the cross-field runtime rules, and id options that an
// id map does not cover (youki refuses them, the kernel too).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { applyMergePatch, generateRuntimeConfig, type GenerateOptions, type RuntimeSpec } from '../../src/spec/index.js';
import { runtimeRuleViolation } from '../../src/spec/rules.js';
import { baseOptions, image } from '../helpers/spec-fixtures.js';

const IMG = image({ Entrypoint: ['/entry'], Cmd: ['arg'], Env: ['A=image', 'B=image'], WorkingDir: '/srv', User: 'daemon', Volumes: { '/data': {} }, Labels: { 'org.example': 'label' } });

function gen(extra: Partial<GenerateOptions>): RuntimeSpec {
  return generateRuntimeConfig(IMG, baseOptions(extra));
}

describe('shaping options reach config.json', () => {
  const cases: { name: string; opts: Partial<GenerateOptions>; got: (s: RuntimeSpec) => unknown; want: unknown }[] = [
    { name: 'no options: the image decides', opts: {}, got: (s) => [s.process.args, s.process.cwd, s.process.user.uid], want: [['/entry', 'arg'], '/srv', 1] },
    { name: 'args replace Entrypoint and Cmd', opts: { args: ['/bin/sh', '-c', 'echo hi'] }, got: (s) => s.process.args, want: ['/bin/sh', '-c', 'echo hi'] },
    { name: 'entrypoint drops the image Cmd (as docker run --entrypoint)', opts: { entrypoint: ['/other'] }, got: (s) => s.process.args, want: ['/other'] },
    { name: 'entrypoint and cmd together', opts: { entrypoint: ['/other'], cmd: ['x', 'y'] }, got: (s) => s.process.args, want: ['/other', 'x', 'y'] },
    { name: 'cmd keeps the image Entrypoint', opts: { cmd: ['new'] }, got: (s) => s.process.args, want: ['/entry', 'new'] },
    { name: 'empty cmd: Entrypoint alone', opts: { cmd: [] }, got: (s) => s.process.args, want: ['/entry'] },
    {
      name: 'env wins over the image and keeps its position; new names appended',
      opts: { env: ['B=flag', 'C=flag', 'PATH=/opt/bin'] },
      got: (s) => s.process.env,
      want: ['PATH=/opt/bin', 'TERM=xterm', 'A=image', 'B=flag', 'C=flag', 'HOME=/usr/sbin'],
    },
    { name: 'env HOME wins over the passwd home', opts: { env: ['HOME=/h'] }, got: (s) => s.process.env.filter((e) => e.startsWith('HOME=')), want: ['HOME=/h'] },
    { name: 'env value with = and empty value', opts: { env: ['Q=a=b', 'E='] }, got: (s) => s.process.env.filter((e) => /^[QE]=/.test(e)), want: ['Q=a=b', 'E='] },
    { name: 'cwd replaces WorkingDir, cleaned', opts: { cwd: '/a/./b//c/' }, got: (s) => s.process.cwd, want: '/a/b/c' },
    { name: 'user by name resolves in passwd, with supplementary groups', opts: { user: 'alice' }, got: (s) => s.process.user, want: { uid: 1000, gid: 1000, additionalGids: [4, 50, 10] } },
    { name: 'user uid', opts: { user: '1000' }, got: (s) => s.process.user, want: { uid: 1000, gid: 1000 } },
    { name: 'user user:group', opts: { user: 'alice:staff' }, got: (s) => s.process.user, want: { uid: 1000, gid: 50 } },
    { name: 'user uid:gid', opts: { user: '7:8' }, got: (s) => s.process.user, want: { uid: 7, gid: 8 } },
    { name: 'user uid:group', opts: { user: '7:audio' }, got: (s) => s.process.user, want: { uid: 7, gid: 29 } },
    { name: 'user user:gid', opts: { user: 'alice:9' }, got: (s) => s.process.user, want: { uid: 1000, gid: 9 } },
    { name: 'user sets HOME from its passwd entry', opts: { user: 'alice' }, got: (s) => s.process.env.at(-1), want: 'HOME=/home/alice' },
    { name: 'hostname', opts: { hostname: 'box' }, got: (s) => s.hostname, want: 'box' },
    {
      name: 'bind mount, read-only, after the volumes',
      opts: { mounts: [{ type: 'bind', source: '/host/dir', destination: '/in', readonly: true }] },
      got: (s) => s.mounts.slice(-2),
      want: [
        { destination: '/data', type: 'tmpfs', source: 'none', options: ['rw', 'nosuid', 'nodev', 'noexec', 'relatime'] },
        { destination: '/in', type: 'bind', source: '/host/dir', options: ['rbind', 'ro'] },
      ],
    },
    { name: 'bind mount, read-write', opts: { mounts: [{ type: 'bind', source: '/h', destination: '/in' }] }, got: (s) => s.mounts.at(-1), want: { destination: '/in', type: 'bind', source: '/h', options: ['rbind'] } },
    {
      name: 'tmpfs with size and the default mode',
      opts: { mounts: [{ type: 'tmpfs', destination: '/scratch', size: '64m' }] },
      got: (s) => s.mounts.at(-1),
      want: { destination: '/scratch', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=1777', 'size=64m'] },
    },
    { name: 'tmpfs mode', opts: { mounts: [{ type: 'tmpfs', destination: '/t', mode: 0o700 }] }, got: (s) => s.mounts.at(-1)?.options, want: ['nosuid', 'nodev', 'mode=700'] },
    { name: 'mounts keep their order', opts: { mounts: [{ type: 'tmpfs', destination: '/b' }, { type: 'tmpfs', destination: '/a' }] }, got: (s) => s.mounts.slice(-2).map((m) => m.destination), want: ['/b', '/a'] },
    {
      name: 'a mount at a volume replaces the volume',
      opts: { mounts: [{ type: 'bind', source: '/h', destination: '/data/' }] },
      got: (s) => s.mounts.filter((m) => m.destination === '/data').map((m) => m.type),
      want: ['bind'],
    },
    { name: 'mount destination cleaned', opts: { mounts: [{ type: 'tmpfs', destination: '//x/./y/' }] }, got: (s) => s.mounts.at(-1)?.destination, want: '/x/y' },
    { name: 'annotations win over labels, keys sorted', opts: { annotations: { 'org.example': 'flag', 'a.b': 'c' } }, got: (s) => [s.annotations?.['org.example'], Object.keys(s.annotations ?? {})[0]], want: ['flag', 'a.b'] },
    { name: 'annotation with an empty value', opts: { annotations: { k: '' } }, got: (s) => s.annotations?.['k'], want: '' },
    { name: 'readonly rootfs', opts: { readonlyRootfs: true }, got: (s) => s.root, want: { path: 'rootfs', readonly: true } },
    { name: 'readonly rootfs false: unchanged', opts: { readonlyRootfs: false }, got: (s) => s.root.readonly, want: false },
    { name: 'net host: no network namespace', opts: { net: 'host' }, got: (s) => s.linux.namespaces.map((n) => n.type), want: ['pid', 'ipc', 'uts', 'mount', 'cgroup'] },
    { name: 'net host: sysfs stays without a user namespace', opts: { net: 'host' }, got: (s) => s.mounts.find((m) => m.destination === '/sys')?.type, want: 'sysfs' },
    {
      name: 'net host: host resolv.conf bound before volumes',
      opts: { net: 'host', hostHasResolvConf: true },
      got: (s) => s.mounts.map((m) => m.destination).slice(-2),
      want: ['/etc/resolv.conf', '/data'],
    },
    { name: 'net host: no resolv.conf bind without one on the host', opts: { net: 'host' }, got: (s) => s.mounts.some((m) => m.destination === '/etc/resolv.conf'), want: false },
    {
      name: 'net host with an id map: /sys becomes a read-only bind, nothing under it',
      opts: { net: 'host', uidMap: [{ containerID: 0, hostID: 100000, size: 65536 }], gidMap: [{ containerID: 0, hostID: 100000, size: 65536 }] },
      got: (s) => s.mounts.filter((m) => m.destination.startsWith('/sys')),
      want: [{ destination: '/sys', type: 'bind', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] }],
    },
    { name: 'tty is still the only way to terminal true', opts: { tty: true }, got: (s) => s.process.terminal, want: true },
  ];
  for (const c of cases) test(c.name, () => assert.deepEqual(c.got(gen(c.opts)), c.want));
});

describe('hostile or wrong shaping values: one EUSAGE error', () => {
  const bind = (destination: string) => ({ mounts: [{ type: 'bind' as const, source: '/h', destination }] });
  const cases: { name: string; opts: Record<string, unknown>; msg: RegExp }[] = [
    { name: 'relative mount destination', opts: bind('data'), msg: /must be an absolute path/ },
    { name: 'mount destination /', opts: bind('/'), msg: /cover the whole rootfs/ },
    { name: 'mount destination //./', opts: bind('//./'), msg: /cover the whole rootfs/ },
    { name: 'mount destination /proc', opts: bind('/proc'), msg: /under \/proc/ },
    { name: 'mount destination under /proc', opts: bind('/proc/sys/kernel'), msg: /under \/proc/ },
    { name: 'mount destination /sys', opts: bind('/sys/'), msg: /under \/sys/ },
    { name: 'mount destination under /sys', opts: bind('/sys/fs/cgroup'), msg: /under \/sys/ },
    { name: 'mount destination with ..', opts: bind('/a/../proc'), msg: /must not contain '\.\.'/ },
    { name: 'mount destination empty', opts: bind(''), msg: /destination .* is required/ },
    { name: 'mount destination with nul', opts: bind('/a\0b'), msg: /nul byte/ },
    { name: 'unknown mount type', opts: { mounts: [{ type: 'overlay', destination: '/x' }] }, msg: /unknown mount type "overlay"/ },
    { name: 'bind without source', opts: { mounts: [{ type: 'bind', destination: '/x' }] }, msg: /needs a source/ },
    { name: 'bind with relative source', opts: { mounts: [{ type: 'bind', source: 'rel', destination: '/x' }] }, msg: /absolute host path/ },
    { name: 'duplicate destinations', opts: { mounts: [{ type: 'tmpfs', destination: '/x' }, { type: 'tmpfs', destination: '/x/' }] }, msg: /given twice/ },
    { name: 'tmpfs size garbage', opts: { mounts: [{ type: 'tmpfs', destination: '/x', size: '1,uid=0' }] }, msg: /size/ },
    { name: 'tmpfs mode too large', opts: { mounts: [{ type: 'tmpfs', destination: '/x', mode: 0o17777 }] }, msg: /mode/ },
    { name: 'args empty', opts: { args: [] }, msg: /at least 1/ },
    { name: 'args with entrypoint', opts: { args: ['a'], entrypoint: ['b'] }, msg: /without entrypoint or cmd/ },
    { name: 'args not strings', opts: { args: [1] }, msg: /list of strings/ },
    { name: 'arg with nul', opts: { cmd: ['a\0'] }, msg: /nul byte/ },
    { name: 'env without =', opts: { env: ['NOVALUE'] }, msg: /NAME=VALUE/ },
    { name: 'env with empty name', opts: { env: ['=x'] }, msg: /NAME=VALUE/ },
    { name: 'relative cwd', opts: { cwd: 'srv' }, msg: /absolute path/ },
    { name: 'user with two colons', opts: { user: 'a:b:c' }, msg: /user, uid, user:group/ },
    { name: 'user empty group', opts: { user: 'a:' }, msg: /user, uid, user:group/ },
    { name: 'annotation empty key', opts: { annotations: { '': 'x' } }, msg: /non-empty key/ },
    { name: 'net other than host', opts: { net: 'none' }, msg: /only choice is host/ },
    { name: 'patch not an object', opts: { configPatch: [1] }, msg: /must be a JSON object/ },
    { name: 'patch deletes process', opts: { configPatch: { process: null } }, msg: /invalid at \/: must have required property 'process'/ },
    { name: 'patch makes cwd relative', opts: { configPatch: { process: { cwd: 'rel' } } }, msg: /invalid at \/process\/cwd/ },
    { name: 'patch wrong type', opts: { configPatch: { root: { readonly: 'yes' } } }, msg: /invalid at \/root\/readonly/ },
    { name: 'patch sets terminal', opts: { configPatch: { process: { terminal: true } } }, msg: /use --tty/ },
    { name: 'patch removes uts but keeps hostname', opts: { configPatch: { linux: { namespaces: [{ type: 'pid' }, { type: 'mount' }] } } }, msg: /no uts namespace/ },
    { name: 'patch adds a user namespace without maps', opts: { configPatch: { linux: { namespaces: [{ type: 'pid' }, { type: 'mount' }, { type: 'uts' }, { type: 'user' }] } } }, msg: /needs both uidMappings and gidMappings/ },
  ];
  for (const c of cases) {
    test(c.name, () => assert.throws(() => gen(c.opts as Partial<GenerateOptions>), (e: Error & { code?: string }) => e.code === 'EUSAGE' && c.msg.test(e.message)));
  }
  test('an unknown user name is ENOUSER', () => assert.throws(() => gen({ user: 'nobody-here' }), { code: 'ENOUSER' }));
});

describe('config patch (RFC 7396) on the generated document', () => {
  test('members merged, null deletes, arrays replaced, applied last', () => {
    const s = gen({
      env: ['X=1'],
      configPatch: { process: { env: ['ONLY=1'], noNewPrivileges: false }, annotations: { 'org.example': null, added: 'yes' }, linux: { maskedPaths: ['/proc/kcore'] } },
    });
    assert.deepEqual(s.process.env, ['ONLY=1']);
    assert.equal(s.process.noNewPrivileges, false);
    assert.equal(s.annotations?.['org.example'], undefined);
    assert.equal(s.annotations?.['added'], 'yes');
    assert.deepEqual(s.linux.maskedPaths, ['/proc/kcore']);
    assert.deepEqual(s.linux.readonlyPaths, gen({}).linux.readonlyPaths);
  });
  test('a __proto__ member is data', () => {
    const patch = JSON.parse('{"annotations":{"__proto__":"x"}}') as unknown;
    const s = gen({ configPatch: patch });
    assert.equal(Object.getOwnPropertyDescriptor(s.annotations, '__proto__')?.value, 'x');
    assert.equal(Object.getPrototypeOf(s.annotations), Object.prototype);
  });
  // RFC 7396 appendix A, one row each: target, patch, result.
  const rfc: [unknown, unknown, unknown][] = [
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
    [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
    [['a', 'b'], ['c', 'd'], ['c', 'd']],
    [{ a: 'b' }, ['c'], ['c']],
    [{ a: 'foo' }, null, null],
    [{ a: 'foo' }, 'bar', 'bar'],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: 'b', c: null }, { a: 'b' }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ];
  for (const [i, [target, patch, want]] of rfc.entries()) {
    test(`RFC 7396 appendix A case ${i + 1}`, () => {
      const before = JSON.stringify(target);
      assert.deepEqual(applyMergePatch(target, patch), want);
      assert.equal(JSON.stringify(target), before, 'target not mutated');
    });
  }
});

describe('id options an id map does not cover', () => {
  const devpts = (s: RuntimeSpec) => s.mounts.find((m) => m.destination === '/dev/pts')?.options;
  const map = (size: number) => [{ containerID: 0, hostID: 100000, size }];
  test('gid=5 kept when the gid map covers it', () => assert.ok(devpts(gen({ uidMap: map(65536), gidMap: map(65536) }))?.includes('gid=5')));
  test('gid=5 dropped when the gid map does not cover it', () => {
    const s = gen({ user: '0', uidMap: map(1), gidMap: map(1) });
    assert.deepEqual(devpts(s), ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620']);
    assert.equal(runtimeRuleViolation(s), null);
  });
  test('the rule catches a patch that puts an unmapped gid back', () => {
    const s = gen({ user: '0', uidMap: map(1), gidMap: map(1) });
    assert.match(runtimeRuleViolation({ ...s, mounts: [{ destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['gid=5'] }] }) ?? '', /gid=5, which the gid map does not cover/);
  });
});

describe('runtime rules hold for generated documents', () => {
  const variants: { name: string; opts: Partial<GenerateOptions> }[] = [
    { name: 'default', opts: {} },
    { name: 'rootless', opts: { rootless: true, hostUid: 1000, hostGid: 1000, user: '0' } },
    { name: 'id maps', opts: { uidMap: [{ containerID: 0, hostID: 100000, size: 65536 }], gidMap: [{ containerID: 0, hostID: 100000, size: 65536 }] } },
    { name: 'net host, read-only, mounts', opts: { net: 'host', readonlyRootfs: true, mounts: [{ type: 'tmpfs', destination: '/t' }] } },
  ];
  for (const v of variants) test(v.name, () => assert.equal(runtimeRuleViolation(gen(v.opts)), null));
});
