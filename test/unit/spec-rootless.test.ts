// User namespaces: parseIdMap (umoci's CONTAINER:HOST[:SIZE]), map checks, rootless output
// (as umoci's rootless mode) and explicit --uid-map/--gid-map output.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { generateRuntimeConfig, parseIdMap, type IdMap } from '../../src/spec/index.js';
import { baseOptions, image } from '../helpers/spec-fixtures.js';

describe('parseIdMap', () => {
  const ok: { name: string; text: string; want: IdMap }[] = [
    { name: 'size defaults to 1', text: '0:1000', want: { containerID: 0, hostID: 1000, size: 1 } },
    { name: 'explicit size', text: '0:100000:65536', want: { containerID: 0, hostID: 100000, size: 65536 } },
    { name: 'leading zeros', text: '01:02:03', want: { containerID: 1, hostID: 2, size: 3 } },
    { name: 'whole 32-bit space', text: '0:0:4294967296', want: { containerID: 0, hostID: 0, size: 4294967296 } },
    { name: 'last id', text: '4294967295:4294967295', want: { containerID: 4294967295, hostID: 4294967295, size: 1 } },
  ];
  for (const c of ok) test(c.name, () => assert.deepEqual(parseIdMap(c.text), c.want));
  const bad: { name: string; text: string }[] = [
    { name: 'empty', text: '' },
    { name: 'one field', text: '1000' },
    { name: 'four fields', text: '0:1:2:3' },
    { name: 'trailing colon', text: '0:1:' },
    { name: 'negative', text: '-1:0' },
    { name: 'not a number', text: 'a:b' },
    { name: 'spaces', text: ' 0:1' },
    { name: 'hex', text: '0x0:1' },
    { name: 'size 0', text: '0:1:0' },
    { name: 'container range past 2^32', text: '4294967295:0:2' },
    { name: 'host range past 2^32', text: '0:4294967295:2' },
    { name: 'too many digits', text: '12345678901:0' },
  ];
  for (const c of bad) {
    test(`refused: ${c.name}`, () => assert.throws(() => parseIdMap(c.text), { code: 'EUSAGE', message: /invalid id map/ }));
  }
});

describe('rootless output', () => {
  const o = baseOptions({ rootless: true, hostUid: 1000, hostGid: 1001 });
  const s = generateRuntimeConfig(image({ Cmd: ['x'], Volumes: { '/data': {} } }), o);
  const cases: { name: string; got: () => unknown; want: unknown }[] = [
    { name: 'no network namespace, user namespace last', got: () => s.linux.namespaces.map((n) => n.type), want: ['pid', 'ipc', 'uts', 'mount', 'cgroup', 'user'] },
    { name: 'default uid map: 0 -> hostUid', got: () => s.linux.uidMappings, want: [{ containerID: 0, hostID: 1000, size: 1 }] },
    { name: 'default gid map: 0 -> hostGid', got: () => s.linux.gidMappings, want: [{ containerID: 0, hostID: 1001, size: 1 }] },
    { name: 'no cgroup resources', got: () => 'resources' in s.linux, want: false },
    { name: 'mount destinations: /sys bind, nothing under /sys, volumes last', got: () => s.mounts.map((m) => m.destination), want: ['/proc', '/dev', '/dev/pts', '/dev/shm', '/dev/mqueue', '/sys', '/data'] },
    { name: '/sys is a read-only rbind of the host', got: () => s.mounts[5], want: { destination: '/sys', type: 'bind', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] } },
    { name: 'no uid=/gid= options left', got: () => s.mounts.flatMap((m) => m.options ?? []).filter((x) => /^(uid|gid)=/.test(x)), want: [] },
    { name: 'devpts options without gid=5', got: () => s.mounts[2]?.options, want: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620'] },
    { name: 'no resolv.conf bind unless the host has one', got: () => s.mounts.some((m) => m.destination === '/etc/resolv.conf'), want: false },
    { name: 'no warnings for root in the container', got: () => o.collected.warnings, want: [] },
  ];
  for (const c of cases) test(c.name, () => assert.deepEqual(c.got(), c.want));

  test('resolv.conf bind-mounted read-only when the host has one', () => {
    const r = generateRuntimeConfig(image({ Cmd: ['x'], Volumes: { '/data': {} } }), baseOptions({ rootless: true, hostUid: 1000, hostGid: 1000, hostHasResolvConf: true }));
    assert.deepEqual(r.mounts.map((m) => m.destination), ['/proc', '/dev', '/dev/pts', '/dev/shm', '/dev/mqueue', '/sys', '/etc/resolv.conf', '/data']);
    assert.deepEqual(r.mounts[6], { destination: '/etc/resolv.conf', type: 'bind', source: '/etc/resolv.conf', options: ['rbind', 'nosuid', 'nodev', 'noexec', 'ro'] });
  });
  test('supplementary groups dropped with WGROUPS', () => {
    const w = baseOptions({ rootless: true, uidMap: [{ containerID: 0, hostID: 100000, size: 65536 }], gidMap: [{ containerID: 0, hostID: 100000, size: 65536 }] });
    const r = generateRuntimeConfig(image({ Cmd: ['x'], User: 'daemon' }), w);
    assert.deepEqual(r.process.user, { uid: 1, gid: 1 });
    assert.deepEqual(w.collected.codes(), ['WGROUPS']);
  });
  test('default maps use this process ids when hostUid/hostGid are not given', () => {
    const r = generateRuntimeConfig(image({ Cmd: ['x'] }), baseOptions({ rootless: true }));
    assert.deepEqual(r.linux.uidMappings, [{ containerID: 0, hostID: process.geteuid!(), size: 1 }]);
    assert.deepEqual(r.linux.gidMappings, [{ containerID: 0, hostID: process.getegid!(), size: 1 }]);
  });
  test('a user outside the single-id map gets WUNMAPPED warnings', () => {
    const w = baseOptions({ rootless: true, hostUid: 1000, hostGid: 1000 });
    generateRuntimeConfig(image({ Cmd: ['x'], User: '1000:1000' }), w);
    assert.deepEqual(w.collected.codes(), ['WUNMAPPED', 'WUNMAPPED']);
  });
});

describe('explicit id maps without rootless', () => {
  const uidMap = [{ containerID: 0, hostID: 100000, size: 65536 }];
  const gidMap = [{ containerID: 0, hostID: 200000, size: 1000 }, { containerID: 1000, hostID: 300000, size: 10 }];
  test('user namespace added, everything else as the default', () => {
    const r = generateRuntimeConfig(image({ Cmd: ['x'] }), baseOptions({ uidMap, gidMap }));
    assert.deepEqual(r.linux.namespaces.map((n) => n.type), ['pid', 'network', 'ipc', 'uts', 'mount', 'cgroup', 'user']);
    assert.deepEqual(r.linux.uidMappings, uidMap);
    assert.deepEqual(r.linux.gidMappings, gidMap);
    assert.deepEqual(r.linux.resources, { devices: [{ allow: false, access: 'rwm' }] });
    assert.equal(r.mounts[5]?.type, 'sysfs');
    assert.ok(r.mounts[2]?.options?.includes('gid=5'));
  });
  test('additionalGids kept when mapped', () => {
    const r = generateRuntimeConfig(image({ Cmd: ['x'], User: 'daemon' }), baseOptions({ uidMap, gidMap }));
    assert.deepEqual(r.process.user, { uid: 1, gid: 1, additionalGids: [3, 4] });
  });
  test('only a uid map: the gid map defaults to 0 -> hostGid', () => {
    const r = generateRuntimeConfig(image({ Cmd: ['x'] }), baseOptions({ uidMap, hostGid: 4242 }));
    assert.deepEqual(r.linux.gidMappings, [{ containerID: 0, hostID: 4242, size: 1 }]);
  });
  test('an unmapped supplementary group gets WUNMAPPED', () => {
    const w = baseOptions({ uidMap, gidMap: [{ containerID: 0, hostID: 200000, size: 2 }] });
    generateRuntimeConfig(image({ Cmd: ['x'], User: 'daemon' }), w);
    assert.deepEqual(w.collected.warnings.map((x) => x.message.match(/gid \d+/)?.[0]), ['gid 3', 'gid 4']);
  });
  const bad: { name: string; uidMap: IdMap[]; msg: RegExp }[] = [
    { name: 'container ranges overlap', uidMap: [{ containerID: 0, hostID: 1000, size: 10 }, { containerID: 5, hostID: 5000, size: 10 }], msg: /overlap on the container side/ },
    { name: 'host ranges overlap', uidMap: [{ containerID: 0, hostID: 1000, size: 10 }, { containerID: 100, hostID: 1009, size: 1 }], msg: /overlap on the host side/ },
    { name: 'size 0', uidMap: [{ containerID: 0, hostID: 1000, size: 0 }], msg: /size must be at least 1/ },
    { name: 'negative id', uidMap: [{ containerID: -1, hostID: 1000, size: 1 }], msg: /non-negative/ },
    { name: 'fractional id', uidMap: [{ containerID: 0.5, hostID: 1000, size: 1 }], msg: /non-negative integer/ },
    { name: 'past 2^32', uidMap: [{ containerID: 0, hostID: 4294967295, size: 2 }], msg: /past 4294967295/ },
    { name: 'more than 340 entries', uidMap: Array.from({ length: 341 }, (_, i) => ({ containerID: i, hostID: 1000 + i, size: 1 })), msg: /more than the kernel's 340/ },
  ];
  for (const c of bad) {
    test(`refused: ${c.name}`, () => assert.throws(() => generateRuntimeConfig(image({ Cmd: ['x'] }), baseOptions({ uidMap: c.uidMap })), { code: 'EUSAGE', message: c.msg }));
  }
});
