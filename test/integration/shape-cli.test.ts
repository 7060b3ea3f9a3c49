// The shaping flags of `unpack` and `raw runtime-config` through the real CLI: each flag's
// effect on config.json (both commands write the same document), repeatable flags taking one
// value each (the bundle positional is never swallowed), and bad values failing with exit 2,
// one EUSAGE line and nothing written; the library's typed options give the same document.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzip, makeTar } from '../../fixtures/tar.js';
import { writeLayout } from '../../fixtures/layout.js';
import { runCli, scratchDir } from '../helpers/cli.js';
import type { RuntimeSpec } from '../../src/spec/index.js';
import { unpack, writeRuntimeConfig } from '../../src/index.js';

function layout(dir: string): string {
  const path = join(dir, 'layout');
  const layer = gzip(makeTar([
    { name: 'etc/', type: 'dir' },
    { name: 'etc/passwd', content: 'root:x:0:0:root:/root:/bin/sh\nalice:x:1234:2345:Alice:/home/alice:/bin/sh\n' },
    { name: 'etc/group', content: 'root:x:0:\nalicegrp:x:2345:\nextra:x:3456:alice\n' },
  ]));
  writeLayout(path, { images: [{ tag: 'latest', layers: [layer], config: { config: { Entrypoint: ['/e'], Cmd: ['c'], Env: ['A=image'], Volumes: { '/data': {} } } } }] });
  return path;
}

interface Case {
  name: string;
  flags: (dir: string) => string[];
  check: (s: RuntimeSpec) => void;
}

const cases: Case[] = [
  { name: '--args JSON', flags: () => ['--args', '["/bin/sh","-c","echo a b"]'], check: (s) => assert.deepEqual(s.process.args, ['/bin/sh', '-c', 'echo a b']) },
  { name: '--entrypoint word drops Cmd', flags: () => ['--entrypoint', '/x'], check: (s) => assert.deepEqual(s.process.args, ['/x']) },
  { name: '--entrypoint and --cmd JSON', flags: () => ['--entrypoint', '["/x","-v"]', '--cmd', '["y"]'], check: (s) => assert.deepEqual(s.process.args, ['/x', '-v', 'y']) },
  { name: '--cmd word', flags: () => ['--cmd', 'only'], check: (s) => assert.deepEqual(s.process.args, ['/e', 'only']) },
  {
    name: '--env repeated, wins over the image',
    flags: () => ['--env', 'A=flag', '--env', 'B=x=y'],
    check: (s) => {
      assert.ok(s.process.env.includes('A=flag'));
      assert.ok(!s.process.env.includes('A=image'));
      assert.ok(s.process.env.includes('B=x=y'));
    },
  },
  { name: '--cwd', flags: () => ['--cwd', '/work/dir'], check: (s) => assert.equal(s.process.cwd, '/work/dir') },
  { name: '--user name resolved in the rootfs', flags: () => ['--user', 'alice'], check: (s) => assert.deepEqual(s.process.user, { uid: 1234, gid: 2345, additionalGids: [3456] }) },
  { name: '--user uid:group', flags: () => ['--user', '7:extra'], check: (s) => assert.deepEqual(s.process.user, { uid: 7, gid: 3456 }) },
  { name: '--hostname', flags: () => ['--hostname', 'box'], check: (s) => assert.equal(s.hostname, 'box') },
  {
    name: '--mount bind and tmpfs, repeated',
    flags: () => ['--mount', 'type=bind,src=/etc,dst=/host-etc,ro', '--mount', 'type=tmpfs,destination=/scratch,size=8m'],
    check: (s) => {
      assert.deepEqual(s.mounts.at(-2), { destination: '/host-etc', type: 'bind', source: '/etc', options: ['rbind', 'ro'] });
      assert.deepEqual(s.mounts.at(-1), { destination: '/scratch', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=1777', 'size=8m'] });
    },
  },
  { name: '--annotation repeated', flags: () => ['--annotation', 'k=v', '--annotation', 'e='], check: (s) => assert.deepEqual([s.annotations?.['k'], s.annotations?.['e']], ['v', '']) },
  { name: '--readonly-rootfs', flags: () => ['--readonly-rootfs'], check: (s) => assert.equal(s.root.readonly, true) },
  { name: '--net host', flags: () => ['--net', 'host'], check: (s) => assert.ok(!s.linux.namespaces.some((n) => n.type === 'network')) },
  {
    name: '--config-patch applied last',
    flags: (dir) => {
      const p = join(dir, 'patch.json');
      writeFileSync(p, JSON.stringify({ process: { args: ['/patched'] }, hostname: 'patched' }));
      return ['--config-patch', p, '--hostname', 'flag', '--args', '["/flag"]'];
    },
    check: (s) => assert.deepEqual([s.process.args, s.hostname], [['/patched'], 'patched']),
  },
];

const bad: { name: string; flags: (dir: string) => string[]; msg: RegExp }[] = [
  { name: 'relative mount destination', flags: () => ['--mount', 'type=tmpfs,dst=rel'], msg: /absolute path/ },
  { name: 'mount under /proc', flags: () => ['--mount', 'type=bind,src=/etc,dst=/proc/x'], msg: /under \/proc/ },
  { name: 'mount on the root', flags: () => ['--mount', 'type=tmpfs,dst=/'], msg: /whole rootfs/ },
  { name: 'unknown mount type', flags: () => ['--mount', 'type=nfs,dst=/x'], msg: /unknown mount type "nfs"/ },
  { name: 'unknown mount field', flags: () => ['--mount', 'type=tmpfs,dst=/x,uid=0'], msg: /unknown field "uid"/ },
  { name: 'tmpfs with ro', flags: () => ['--mount', 'type=tmpfs,dst=/x,ro'], msg: /no src and no ro/ },
  { name: '--args not JSON', flags: () => ['--args', '[oops'], msg: /not a JSON array/ },
  { name: '--args with --cmd', flags: () => ['--args', '["a"]', '--cmd', 'b'], msg: /without entrypoint or cmd/ },
  { name: '--env without =', flags: () => ['--env', 'NOPE'], msg: /NAME=VALUE/ },
  { name: '--annotation without =', flags: () => ['--annotation', 'k'], msg: /KEY=VALUE/ },
  { name: '--net bridge', flags: () => ['--net', 'bridge'], msg: /only choice is host/ },
  { name: '--config-patch missing file', flags: (dir) => ['--config-patch', join(dir, 'nope.json')], msg: /cannot be read/ },
  {
    name: '--config-patch not JSON',
    flags: (dir) => {
      writeFileSync(join(dir, 'bad.json'), '{');
      return ['--config-patch', join(dir, 'bad.json')];
    },
    msg: /is not JSON/,
  },
  {
    name: '--config-patch making the config invalid',
    flags: (dir) => {
      writeFileSync(join(dir, 'inv.json'), '{"process":{"cwd":"relative"}}');
      return ['--config-patch', join(dir, 'inv.json')];
    },
    msg: /config patch makes config.json invalid: .* at \/process\/cwd/,
  },
  { name: '--user with two colons', flags: () => ['--user', 'a:b:c'], msg: /user, uid, user:group/ },
  { name: '--cwd relative', flags: () => ['--cwd', 'x'], msg: /absolute path/ },
];

test('shaping flags through the CLI', async (t) => {
  const dir = scratchDir('shape');
  try {
    const img = `${layout(dir)}:latest`;
    const rootfs = join(dir, 'rootfs');
    const r = runCli(['raw', 'unpack', '--image', img, rootfs]);
    assert.equal(r.status, 0, r.stderr);
    for (const [i, c] of cases.entries()) {
      await t.test(c.name, () => {
        const bundle = join(dir, `b${i}`);
        const u = runCli(['unpack', '--image', img, ...c.flags(dir), bundle]);
        assert.equal(u.status, 0, u.stderr);
        const fromUnpack = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8')) as RuntimeSpec;
        c.check(fromUnpack);
        const cfg = join(dir, `c${i}.json`);
        const rc = runCli(['raw', 'runtime-config', '--image', img, '--rootfs', rootfs, ...c.flags(dir), cfg]);
        assert.equal(rc.status, 0, rc.stderr);
        assert.deepEqual(JSON.parse(readFileSync(cfg, 'utf8')), fromUnpack, 'raw runtime-config writes the same document');
      });
    }
    for (const [i, c] of bad.entries()) {
      await t.test(`refused: ${c.name}`, () => {
        const bundle = join(dir, `bad${i}`);
        const u = runCli(['unpack', '--image', img, ...c.flags(dir), bundle]);
        assert.equal(u.status, 2, `exit status; stderr: ${u.stderr}`);
        const lines = u.stderr.trim().split('\n');
        assert.equal(lines.length, 1, u.stderr);
        assert.match(lines[0]!, /^ocibundle: EUSAGE: /);
        assert.match(lines[0]!, c.msg);
        // Flag values fail before anything is made; a patch is checked on the generated
        // document, after the layers, and the failed run removes the bundle it made.
        assert.ok(!existsSync(bundle), 'no bundle directory left');
        const cfg = join(dir, `bad${i}.json`);
        const rc = runCli(['raw', 'runtime-config', '--image', img, ...c.flags(dir), cfg]);
        assert.equal(rc.status, 2, rc.stderr);
        assert.ok(!existsSync(cfg), 'no config.json written');
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the library takes the same shaping as typed options', async () => {
  const dir = scratchDir('shape-lib');
  try {
    const img = `${layout(dir)}:latest`;
    const patch = join(dir, 'patch.json');
    writeFileSync(patch, JSON.stringify({ process: { noNewPrivileges: false } }));
    const flags = [
      '--entrypoint', '["/x"]', '--cmd', 'y', '--env', 'A=flag', '--cwd', '/w', '--user', 'alice:extra', '--hostname', 'lib',
      '--mount', 'type=bind,src=/etc,dst=/e,ro', '--mount', 'type=tmpfs,dst=/t,size=1m,mode=700',
      '--annotation', 'k=v', '--readonly-rootfs', '--net', 'host', '--config-patch', patch,
    ];
    const cli = join(dir, 'cli');
    const u = runCli(['unpack', '--image', img, ...flags, cli]);
    assert.equal(u.status, 0, u.stderr);
    const shape = {
      entrypoint: ['/x'], cmd: ['y'], env: ['A=flag'], cwd: '/w', user: 'alice:extra', hostname: 'lib',
      mounts: [{ type: 'bind' as const, source: '/etc', destination: '/e', readonly: true }, { type: 'tmpfs' as const, destination: '/t', size: '1m', mode: 0o700 }],
      annotations: { k: 'v' }, readonlyRootfs: true, net: 'host' as const, configPatch: { process: { noNewPrivileges: false } },
    };
    const lib = join(dir, 'lib');
    await unpack({ image: img, bundle: lib, ...shape });
    const want = readFileSync(join(cli, 'config.json'), 'utf8');
    assert.equal(readFileSync(join(lib, 'config.json'), 'utf8'), want);
    const cfg = join(dir, 'lib-config.json');
    await writeRuntimeConfig({ image: img, config: cfg, rootfs: join(lib, 'rootfs'), ...shape });
    assert.equal(readFileSync(cfg, 'utf8'), want);
    await assert.rejects(unpack({ image: img, bundle: join(dir, 'bad'), mounts: [{ type: 'tmpfs', destination: '/proc/x' }] }), { code: 'EUSAGE' });
    assert.ok(!existsSync(join(dir, 'bad')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
