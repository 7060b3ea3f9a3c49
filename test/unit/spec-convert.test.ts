// generateRuntimeConfig on well-formed images: the Linux defaults, and every conversion.md
// field (cwd, env, args, annotations, labels, exposed ports, volumes, user, HOME).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ImageConfig } from '../../src/image/types.js';
import { generateRuntimeConfig, type ImageConfigInput } from '../../src/spec/index.js';
import { baseOptions, image } from '../helpers/spec-fixtures.js';

// Compile-time check: src/image's ImageConfig must stay assignable to our input type.
export const imageConfigFits: (c: ImageConfig) => ImageConfigInput = (c) => c;

const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const CAPS = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];

describe('linux defaults', () => {
  const spec = generateRuntimeConfig(image({ Cmd: ['/bin/true'] }), baseOptions());
  const cases: { name: string; got: () => unknown; want: unknown }[] = [
    { name: 'ociVersion', got: () => spec.ociVersion, want: '1.0.2' },
    { name: 'root is rootfs, writable', got: () => spec.root, want: { path: 'rootfs', readonly: false } },
    { name: 'hostname', got: () => spec.hostname, want: 'ocibundle' },
    { name: 'terminal false by default', got: () => spec.process.terminal, want: false },
    { name: 'noNewPrivileges', got: () => spec.process.noNewPrivileges, want: true },
    { name: 'rlimits', got: () => spec.process.rlimits, want: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }] },
    { name: 'capabilities as runc spec', got: () => spec.process.capabilities, want: { bounding: CAPS, effective: CAPS, permitted: CAPS, ambient: CAPS } },
    { name: 'namespaces', got: () => spec.linux.namespaces.map((n) => n.type), want: ['pid', 'network', 'ipc', 'uts', 'mount', 'cgroup'] },
    { name: 'mount destinations', got: () => spec.mounts.map((m) => m.destination), want: ['/proc', '/dev', '/dev/pts', '/dev/shm', '/dev/mqueue', '/sys', '/sys/fs/cgroup'] },
    { name: 'sysfs read-only', got: () => spec.mounts[5], want: { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] } },
    { name: 'devpts gid=5', got: () => spec.mounts[2]?.options, want: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
    { name: 'device cgroup denies all', got: () => spec.linux.resources, want: { devices: [{ allow: false, access: 'rwm' }] } },
    { name: 'masked paths as runc 1.1', got: () => spec.linux.maskedPaths, want: ['/proc/acpi', '/proc/asound', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list', '/proc/timer_stats', '/proc/sched_debug', '/sys/firmware', '/proc/scsi'] },
    { name: 'readonly paths as runc 1.1', got: () => spec.linux.readonlyPaths, want: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'] },
    { name: 'no user namespace', got: () => spec.linux.uidMappings, want: undefined },
  ];
  for (const c of cases) test(c.name, () => assert.deepEqual(c.got(), c.want));

  test('options: tty, hostname, rootfsPath', () => {
    const s = generateRuntimeConfig(image({ Cmd: ['x'] }), baseOptions({ tty: true, hostname: 'box', rootfsPath: '/abs/rootfs' }));
    assert.equal(s.process.terminal, true);
    assert.equal(s.hostname, 'box');
    assert.deepEqual(s.root, { path: '/abs/rootfs', readonly: false });
  });
  test('outputs do not share mutable defaults', () => {
    const a = generateRuntimeConfig(image({ Cmd: ['x'] }), baseOptions());
    a.mounts[0]!.destination = '/changed';
    a.process.capabilities.bounding.push('CAP_SYS_ADMIN');
    const b = generateRuntimeConfig(image({ Cmd: ['x'] }), baseOptions());
    assert.equal(b.mounts[0]!.destination, '/proc');
    assert.deepEqual(b.process.capabilities.bounding, CAPS);
  });
});

describe('process.env', () => {
  const cases: { name: string; user?: string; env: string[] | null; passwd?: string | null; want: string[] }[] = [
    { name: 'no Env: defaults and HOME of root', env: null, want: [DEFAULT_PATH, 'TERM=xterm', 'HOME=/root'] },
    { name: 'image PATH replaces the default in place', env: ['PATH=/x'], want: ['PATH=/x', 'TERM=xterm', 'HOME=/root'] },
    { name: 'image TERM wins', env: ['TERM=dumb'], want: [DEFAULT_PATH, 'TERM=dumb', 'HOME=/root'] },
    { name: 'image entries verbatim in order', env: ['B=2', 'A=1', 'C='], want: [DEFAULT_PATH, 'TERM=xterm', 'B=2', 'A=1', 'C=', 'HOME=/root'] },
    { name: 'repeated name: first position, last value', env: ['A=1', 'B=2', 'A=3'], want: [DEFAULT_PATH, 'TERM=xterm', 'A=3', 'B=2', 'HOME=/root'] },
    { name: "value with '=' kept whole", env: ['A=b=c'], want: [DEFAULT_PATH, 'TERM=xterm', 'A=b=c', 'HOME=/root'] },
    { name: 'image HOME kept (umoci overwrites it)', user: 'alice', env: ['HOME=/custom'], want: [DEFAULT_PATH, 'TERM=xterm', 'HOME=/custom'] },
    { name: 'image empty HOME kept', user: 'alice', env: ['HOME='], want: [DEFAULT_PATH, 'TERM=xterm', 'HOME='] },
    { name: 'HOME from the passwd entry of a user name', user: 'alice', env: ['X=1'], want: [DEFAULT_PATH, 'TERM=xterm', 'X=1', 'HOME=/home/alice'] },
    { name: 'HOME from the passwd entry of a uid', user: '1:0', env: null, want: [DEFAULT_PATH, 'TERM=xterm', 'HOME=/usr/sbin'] },
    { name: 'HOME=/ for a uid with no entry', user: '4242', env: null, want: [DEFAULT_PATH, 'TERM=xterm', 'HOME=/'] },
    { name: 'HOME=/ for an entry with an empty home', user: 'nohome', env: null, want: [DEFAULT_PATH, 'TERM=xterm', 'HOME=/'] },
    { name: 'no HOME without passwd: the runtime fills it in from the rootfs', env: null, passwd: null, want: [DEFAULT_PATH, 'TERM=xterm'] },
    { name: 'no HOME without passwd, numeric user', user: '1234', env: ['X=1'], passwd: null, want: [DEFAULT_PATH, 'TERM=xterm', 'X=1'] },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const o = baseOptions(c.passwd === undefined ? {} : { passwd: c.passwd });
      const s = generateRuntimeConfig(image({ Cmd: ['x'], Env: c.env, ...(c.user === undefined ? {} : { User: c.user }) }), o);
      assert.deepEqual(s.process.env, c.want);
      assert.deepEqual(o.collected.warnings, []);
    });
  }
});

describe('process.args', () => {
  const cases: { name: string; entrypoint?: string[] | null; cmd?: string[] | null; want: string[]; warn?: string }[] = [
    { name: 'Cmd only', cmd: ['/bin/sh', '-c', 'x'], want: ['/bin/sh', '-c', 'x'] },
    { name: 'Entrypoint only', entrypoint: ['/init', '--flag'], want: ['/init', '--flag'] },
    { name: 'Entrypoint then Cmd', entrypoint: ['/init'], cmd: ['a', 'b'], want: ['/init', 'a', 'b'] },
    { name: 'null Cmd and Entrypoint as Docker writes them', entrypoint: null, cmd: null, want: ['sh'], warn: 'WNOARGS' },
    { name: 'both empty: sh with a warning', entrypoint: [], cmd: [], want: ['sh'], warn: 'WNOARGS' },
    { name: 'both absent', want: ['sh'], warn: 'WNOARGS' },
    { name: 'empty strings kept verbatim', entrypoint: [''], cmd: [''], want: ['', ''] },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const o = baseOptions();
      const cfg: Record<string, unknown> = {};
      if (c.entrypoint !== undefined) cfg.Entrypoint = c.entrypoint;
      if (c.cmd !== undefined) cfg.Cmd = c.cmd;
      const s = generateRuntimeConfig(image(cfg), o);
      assert.deepEqual(s.process.args, c.want);
      assert.deepEqual(o.collected.codes(), c.warn ? [c.warn] : []);
    });
  }
});

describe('process.cwd', () => {
  const cases: { name: string; dir: string | null | undefined; want: string; warn?: string }[] = [
    { name: 'absent is /', dir: undefined, want: '/' },
    { name: 'null is /', dir: null, want: '/' },
    { name: 'empty is /', dir: '', want: '/' },
    { name: 'absolute verbatim', dir: '/srv/app', want: '/srv/app' },
    { name: 'trailing slash dropped', dir: '/srv/app/', want: '/srv/app' },
    { name: 'dot and double slashes cleaned', dir: '/a/./b//c', want: '/a/b/c' },
    { name: "inner '..' resolved lexically", dir: '/a/b/../c', want: '/a/c' },
    { name: "'..' above / clamped with a warning", dir: '/../../etc', want: '/etc', warn: 'WCWD' },
    { name: 'relative taken from / with a warning', dir: 'app', want: '/app', warn: 'WCWD' },
    { name: "relative '..' climbing", dir: '../x', want: '/x', warn: 'WCWD' },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const o = baseOptions();
      const s = generateRuntimeConfig(image({ Cmd: ['x'], WorkingDir: c.dir }), o);
      assert.equal(s.process.cwd, c.want);
      assert.deepEqual(o.collected.codes(), c.warn ? [c.warn] : []);
    });
  }
});

describe('annotations', () => {
  const full = image(
    { Cmd: ['x'], StopSignal: 'SIGQUIT', ExposedPorts: { '80/tcp': {}, '53/udp': {}, '443/tcp': {}, '8080/tcp': {} } },
    { variant: 'v8', 'os.version': '10.0.1', 'os.features': ['f1', 'f2'], author: 'Jane <j@x>', created: '2020-01-02T03:04:05.123456789+01:00', architecture: 'arm64' },
  );
  const cases: { name: string; img: ImageConfigInput; want: Record<string, string> | undefined }[] = [
    {
      name: 'every field, exposedPorts sorted, created verbatim',
      img: full,
      want: {
        'org.opencontainers.image.architecture': 'arm64',
        'org.opencontainers.image.author': 'Jane <j@x>',
        'org.opencontainers.image.created': '2020-01-02T03:04:05.123456789+01:00',
        'org.opencontainers.image.exposedPorts': '443/tcp,53/udp,80/tcp,8080/tcp',
        'org.opencontainers.image.os': 'linux',
        'org.opencontainers.image.os.features': 'f1,f2',
        'org.opencontainers.image.os.version': '10.0.1',
        'org.opencontainers.image.stopSignal': 'SIGQUIT',
        'org.opencontainers.image.variant': 'v8',
      },
    },
    { name: 'empty values omitted (umoci writes them)', img: image({ Cmd: ['x'], StopSignal: '', ExposedPorts: {} }, { author: '', created: '', variant: '', 'os.features': [] }), want: { 'org.opencontainers.image.architecture': 'amd64', 'org.opencontainers.image.os': 'linux' } },
    { name: 'nothing at all: no annotations key', img: { config: { Cmd: ['x'] } }, want: undefined },
    {
      name: 'labels win over generated annotations (umoci lets generated win)',
      img: image({ Cmd: ['x'], StopSignal: 'SIGTERM', Labels: { 'org.opencontainers.image.os': 'label-os', 'org.opencontainers.image.stopSignal': 'SIGKILL', 'org.opencontainers.image.exposedPorts': 'none', other: 'v' }, ExposedPorts: { '1/tcp': {} } }),
      want: {
        'org.opencontainers.image.architecture': 'amd64',
        'org.opencontainers.image.exposedPorts': 'none',
        'org.opencontainers.image.os': 'label-os',
        'org.opencontainers.image.stopSignal': 'SIGKILL',
        other: 'v',
      },
    },
    { name: 'label with an empty value is kept', img: { config: { Cmd: ['x'], Labels: { a: '' } } }, want: { a: '' } },
    { name: 'null Labels', img: { config: { Cmd: ['x'], Labels: null } }, want: undefined },
    { name: "'__proto__' and 'constructor' labels stay labels", img: JSON.parse('{"config":{"Cmd":["x"],"Labels":{"__proto__":"p","constructor":"c"}}}') as ImageConfigInput, want: JSON.parse('{"__proto__":"p","constructor":"c"}') as Record<string, string> },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const o = baseOptions();
      const s = generateRuntimeConfig(c.img, o);
      assert.deepEqual(s.annotations, c.want);
      if (c.want) assert.deepEqual(Object.keys(s.annotations!), Object.keys(c.want).sort());
      assert.deepEqual(o.collected.warnings, []);
    });
  }
});

describe('volumes', () => {
  const opts = ['rw', 'nosuid', 'nodev', 'noexec', 'relatime'];
  const vol = (d: string) => ({ destination: d, type: 'tmpfs', source: 'none', options: opts });
  const cases: { name: string; volumes: Record<string, unknown> | null; volumesOpt?: boolean; want: object[]; warns?: string[] }[] = [
    { name: 'none', volumes: null, want: [] },
    { name: 'sorted, parents first', volumes: { '/var/lib/b': {}, '/data': {}, '/var/lib': {}, '/var/lib-x': {} }, want: [vol('/data'), vol('/var/lib'), vol('/var/lib-x'), vol('/var/lib/b')] },
    { name: 'cleaned and deduplicated', volumes: { '/data/': {}, '/data': {}, '//data/.': {} }, want: [vol('/data')] },
    { name: 'volumes: false skips them', volumes: { '/data': {} }, volumesOpt: false, want: [] },
    { name: 'relative taken from / with a warning', volumes: { data: {} }, want: [vol('/data')], warns: ['WVOLUME'] },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const o = baseOptions(c.volumesOpt === undefined ? {} : { volumes: c.volumesOpt });
      const s = generateRuntimeConfig(image({ Cmd: ['x'], Volumes: c.volumes }), o);
      assert.deepEqual(s.mounts.slice(7), c.want);
      assert.deepEqual(o.collected.codes(), c.warns ?? []);
    });
  }
});

describe('process.user through generate', () => {
  const cases: { name: string; user: string; want: object }[] = [
    { name: 'name: additionalGids from /etc/group', user: 'daemon', want: { uid: 1, gid: 1, additionalGids: [3, 4] } },
    { name: 'name in no group: additionalGids omitted', user: 'root', want: { uid: 0, gid: 0 } },
    { name: 'uid: no additionalGids', user: '1', want: { uid: 1, gid: 1 } },
    { name: 'name:group: no additionalGids', user: 'daemon:adm', want: { uid: 1, gid: 4 } },
  ];
  for (const c of cases) {
    test(c.name, () => assert.deepEqual(generateRuntimeConfig(image({ Cmd: ['x'], User: c.user }), baseOptions()).process.user, c.want));
  }
  test('unknown user name fails with ENOUSER', () => {
    assert.throws(() => generateRuntimeConfig(image({ Cmd: ['x'], User: 'ghost' }), baseOptions()), { code: 'ENOUSER' });
  });
  test('user name with no /etc/passwd fails with ENOUSER', () => {
    assert.throws(() => generateRuntimeConfig(image({ Cmd: ['x'], User: 'alice' }), baseOptions({ passwd: null, group: null })), { code: 'ENOUSER', message: /no \/etc\/passwd/ });
  });
});

describe('image os', () => {
  const cases: { name: string; os: unknown; ok: boolean }[] = [
    { name: 'linux', os: 'linux', ok: true },
    { name: 'absent is tolerated', os: undefined, ok: true },
    { name: 'windows refused', os: 'windows', ok: false },
    { name: 'freebsd refused', os: 'freebsd', ok: false },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const run = () => generateRuntimeConfig({ os: c.os as string | undefined, config: { Cmd: ['x'] } }, baseOptions());
      if (c.ok) assert.equal(run().ociVersion, '1.0.2');
      else assert.throws(run, { code: 'ECONFIG', message: /only linux/ });
    });
  }
});
