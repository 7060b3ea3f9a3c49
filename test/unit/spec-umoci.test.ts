// The umoci differ (test/helpers/spec-umoci.ts): it finds planted differences, and, where
// umoci 0.4.7 is installed, our output agrees with umoci's on a table of images once its
// documented bugs are set aside.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, test } from 'node:test';
import { generateRuntimeConfig, type GenerateOptions, type ImageConfigInput, type RuntimeSpec } from '../../src/spec/index.js';
import { GROUP, PASSWD, image } from '../helpers/spec-fixtures.js';
import { diffUmociConfig, hasUmoci, umociRuntimeConfig, type UmociRun } from '../helpers/spec-umoci.js';

const skip = !hasUmoci() && 'umoci not installed';

const cases: { name: string; img: ImageConfigInput; run?: UmociRun; opts?: Partial<GenerateOptions> }[] = [
  { name: 'empty config', img: image({}) },
  { name: 'cmd and entrypoint', img: image({ Entrypoint: ['/init', '-v'], Cmd: ['serve'] }) },
  { name: 'env with defaults replaced and repeats', img: image({ Cmd: ['x'], Env: ['PATH=/x', 'A=1', 'B=2', 'A=3'] }) },
  { name: 'HOME in the image (umoci overwrites it)', img: image({ Cmd: ['x'], User: 'alice', Env: ['HOME=/custom'] }) },
  { name: 'named user: groups and HOME', img: image({ Cmd: ['x'], User: 'daemon' }) },
  { name: 'user:group', img: image({ Cmd: ['x'], User: 'alice:staff' }) },
  { name: 'uid:gid', img: image({ Cmd: ['x'], User: '1000:77' }) },
  { name: 'numeric uid in passwd (umoci adds groups)', img: image({ Cmd: ['x'], User: '1000' }) },
  { name: 'numeric uid without passwd', img: image({ Cmd: ['x'], User: '4242' }), run: { passwd: null, group: null }, opts: { passwd: null, group: null } },
  { name: 'working dir', img: image({ Cmd: ['x'], WorkingDir: '/srv/app/' }) },
  {
    name: 'every annotation, labels over generated (umoci lets generated win)',
    img: image(
      { Cmd: ['x'], StopSignal: 'SIGQUIT', ExposedPorts: { '80/tcp': {}, '53/udp': {}, '443/tcp': {} }, Labels: { 'org.opencontainers.image.os': 'mine', x: 'y' } },
      { author: 'a', created: '2021-02-03T04:05:06.789Z', variant: 'v7', 'os.version': '1', 'os.features': ['f'] },
    ),
  },
  { name: 'volumes', img: image({ Cmd: ['x'], Volumes: { '/var/lib/b': {}, '/data': {}, '/var/lib': {} } }) },
  { name: 'rootless', img: image({ Cmd: ['x'], User: 'daemon' }), run: { rootless: true, uidMap: ['0:0:65536'], gidMap: ['0:0:65536'] }, opts: { rootless: true, uidMap: [{ containerID: 0, hostID: 0, size: 65536 }], gidMap: [{ containerID: 0, hostID: 0, size: 65536 }], hostHasResolvConf: existsSync('/etc/resolv.conf') } },
  { name: 'id maps', img: image({ Cmd: ['x'] }), run: { uidMap: ['0:100000:65536'], gidMap: ['0:200000'] }, opts: { uidMap: [{ containerID: 0, hostID: 100000, size: 65536 }], gidMap: [{ containerID: 0, hostID: 200000, size: 1 }] } },
];

describe('ours agrees with umoci 0.4.7 (documented bugs aside)', () => {
  for (const c of cases) {
    test(c.name, { skip }, () => {
      const umoci = umociRuntimeConfig(c.img, { passwd: PASSWD, group: GROUP, ...c.run });
      const ours = generateRuntimeConfig(c.img, { passwd: PASSWD, group: GROUP, ...c.opts });
      assert.deepEqual(diffUmociConfig(c.img, umoci, ours), []);
    });
  }
});

describe('the differ finds planted differences', () => {
  const img = image({ Cmd: ['x'], User: 'daemon', Env: ['A=1'], Volumes: { '/data': {} }, Labels: { 'org.opencontainers.image.os': 'mine' } });
  const base = () => generateRuntimeConfig(img, { passwd: PASSWD, group: GROUP });
  // A stand-in for umoci's output: ours, reshaped the way umoci 0.4.7 writes it.
  const umocish = () => {
    const u = JSON.parse(JSON.stringify(base())) as Record<string, any>;
    u.process.terminal = true;
    u.annotations['org.opencontainers.image.os'] = 'linux';
    u.annotations['org.opencontainers.image.author'] = '';
    return u;
  };
  test('no difference for the stand-in itself', () => assert.deepEqual(diffUmociConfig(img, umocish(), base()), []));
  const planted: { name: string; mutate: (s: RuntimeSpec) => void; field: RegExp }[] = [
    { name: 'args', mutate: (s) => s.process.args.push('extra'), field: /^process\.args/ },
    { name: 'cwd', mutate: (s) => { s.process.cwd = '/elsewhere'; }, field: /^process\.cwd/ },
    { name: 'uid', mutate: (s) => { s.process.user.uid = 7; }, field: /^process\.user\.uid/ },
    { name: 'additionalGids', mutate: (s) => { s.process.user.additionalGids = [3]; }, field: /additionalGids/ },
    { name: 'env order', mutate: (s) => s.process.env.reverse(), field: /^process\.env/ },
    { name: 'label precedence lost', mutate: (s) => { s.annotations!['org.opencontainers.image.os'] = 'linux'; }, field: /label wins/ },
    { name: 'volume options', mutate: (s) => { s.mounts[7]!.options = ['rw']; }, field: /volumes/ },
    { name: 'namespaces', mutate: (s) => { s.linux.namespaces.pop(); s.linux.namespaces.pop(); }, field: /namespaces/ },
  ];
  for (const p of planted) {
    test(p.name, () => {
      const ours = base();
      p.mutate(ours);
      const d = diffUmociConfig(img, umocish(), ours);
      assert.ok(d.some((x) => p.field.test(x)), d.join('\n'));
    });
  }
});
