// End to end: unpack fixture images with the CLI and run each bundle with runc and with crun
// (test/helpers/runtimes.ts), asserting what the container process sees: the probe prints
// ids, groups, cwd, args and environment; shaped bundles (--env, --mount, --readonly-rootfs,
// --net host ...) are checked with busybox's shell. Needs root, runc or crun, and cc; skips
// with a reason otherwise.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildProbe, busyboxStatic, writeProbeImage, type ProbeTag } from '../../fixtures/images.js';
import { hasCommand, isRoot, runCli, scratchDir } from '../helpers/cli.js';
import { RUNTIMES } from '../helpers/runtimes.js';

const skip = !isRoot() ? 'needs root to run containers' : !hasCommand('cc') ? 'needs a C compiler for the probe' : RUNTIMES.every((r) => r.skip) ? 'neither runc nor crun is installed' : false;
/** Shaped cases run busybox's sh from the image (Debian's busybox-static; CI installs it). */
const noShell = busyboxStatic() === null ? 'needs a static /bin/busybox for the shell (apt-get install busybox-static)' : false;

interface Ctx {
  /** A host directory holding a file `marker` with the text `from the host`. */
  hostDir: string;
  dir: string;
}

interface Case {
  name: string;
  config: Record<string, unknown>;
  expect: (out: string) => void;
  /** Extra unpack flags. */
  flags?: string[] | ((c: Ctx) => string[]);
  /** A reason to skip this case (e.g. no shell in the image). */
  skip?: string | false;
  /** Build the bundle with `raw unpack` + `raw runtime-config` (no --rootfs) instead of unpack. */
  split?: boolean;
}

const has = (out: string, line: string) => assert.ok(out.split('\n').includes(line), `missing line ${JSON.stringify(line)} in:\n${out}`);
const sh = (script: string) => ['--args', JSON.stringify(['/bin/sh', '-c', script])];

const cases: Case[] = [
  {
    name: 'default Cmd',
    config: { Cmd: ['/probe', 'hello'] },
    expect: (o) => {
      has(o, 'probe: hello from an ocibundle bundle');
      has(o, 'arg[1]=hello');
      has(o, 'uid=0 gid=0');
      has(o, 'cwd=/');
    },
  },
  { name: 'User 1000:1000', config: { Cmd: ['/probe'], User: '1000:1000' }, expect: (o) => has(o, 'uid=1000 gid=1000') },
  {
    name: 'Entrypoint + Cmd',
    config: { Entrypoint: ['/probe', 'from-entrypoint'], Cmd: ['from-cmd'] },
    expect: (o) => {
      has(o, 'arg[0]=/probe');
      has(o, 'arg[1]=from-entrypoint');
      has(o, 'arg[2]=from-cmd');
    },
  },
  { name: 'WorkingDir', config: { Cmd: ['/probe'], WorkingDir: '/work' }, expect: (o) => has(o, 'cwd=/work') },
  {
    name: 'Env visible, image value wins over default PATH',
    config: { Cmd: ['/probe'], Env: ['FOO=bar baz', 'PATH=/custom/bin'] },
    expect: (o) => {
      has(o, 'env FOO=bar baz');
      has(o, 'env PATH=/custom/bin');
      has(o, 'env TERM=xterm');
    },
  },
  {
    name: 'named user resolved from /etc/passwd and /etc/group',
    config: { Cmd: ['/probe'], User: 'alice' },
    expect: (o) => {
      has(o, 'uid=1234 gid=2345');
      has(o, 'groups=3456');
      has(o, 'env HOME=/home/alice');
    },
  },
  { name: 'user:group by name', config: { Cmd: ['/probe'], User: 'alice:extra' }, expect: (o) => has(o, 'uid=1234 gid=3456') },
  {
    // The bundle (0711) lets the mapped root, host uid 1337, reach the rootfs it owns.
    name: '--uid-map/--gid-map bundle run as root',
    config: { Cmd: ['/probe'], User: '1000:1000' },
    flags: ['--uid-map', '0:1337:65535', '--gid-map', '0:8888:65535'],
    expect: (o) => has(o, 'uid=1000 gid=1000'),
  },
  {
    // No passwd to read: config.json has no HOME, and the runtime fills it in from the rootfs's passwd.
    name: 'raw runtime-config without --rootfs: the runtime sets HOME from passwd',
    config: { Cmd: ['/probe'], User: '1234' },
    split: true,
    expect: (o) => {
      has(o, 'uid=1234 gid=0');
      has(o, 'env HOME=/home/alice');
    },
  },
  // Shaped at unpack time: the flags decide what the process sees.
  {
    name: 'shaped: --env wins over the image, --cwd, --user, --cmd',
    config: { Entrypoint: ['/probe'], Cmd: ['from-image'], Env: ['FOO=image'], User: 'alice' },
    flags: ['--env', 'FOO=flag', '--env', 'BAR=x y', '--cwd', '/work', '--user', '1000:3456', '--cmd', '["from-flag"]'],
    expect: (o) => {
      has(o, 'env FOO=flag');
      has(o, 'env BAR=x y');
      has(o, 'cwd=/work');
      has(o, 'uid=1000 gid=3456');
      has(o, 'arg[1]=from-flag');
    },
  },
  { name: 'shaped: --entrypoint', config: { Entrypoint: ['/nonexistent'], Cmd: ['x'] }, flags: ['--entrypoint', '["/probe","ep"]'], expect: (o) => has(o, 'arg[1]=ep') },
  {
    name: 'shaped: --mount bind (read-only) is visible and refuses writes',
    config: { Cmd: ['/probe'] },
    flags: (c) => ['--mount', `type=bind,src=${c.hostDir},dst=/from-host,ro`, ...sh('cat /from-host/marker; echo x > /from-host/new 2>/dev/null || echo bind-ro')],
    expect: (o) => {
      has(o, 'from the host');
      has(o, 'bind-ro');
    },
    skip: noShell,
  },
  {
    name: 'shaped: --mount tmpfs is mounted with its size and writable',
    config: { Cmd: ['/probe'] },
    flags: ['--mount', 'type=tmpfs,dst=/scratch,size=2m', ...sh('cat /proc/mounts | while read d m t o r; do [ "$m" = /scratch ] && echo "$t $o"; done; echo ok > /scratch/f && cat /scratch/f')],
    expect: (o) => {
      assert.match(o, /^tmpfs rw,nosuid,nodev,relatime,size=2048k/m);
      has(o, 'ok');
    },
    skip: noShell,
  },
  {
    name: 'shaped: --readonly-rootfs refuses writes to /',
    config: { Cmd: ['/probe'] },
    flags: ['--readonly-rootfs', ...sh('echo x > /written 2>/dev/null && echo WROTE || echo root-ro')],
    expect: (o) => has(o, 'root-ro'),
    skip: noShell,
  },
  {
    name: 'shaped: --net host sees the host interfaces',
    config: { Cmd: ['/probe'] },
    flags: ['--net', 'host', ...sh('ls /sys/class/net')],
    expect: (o) => assert.deepEqual(o.trim().split(/\s+/).sort(), readdirSync('/sys/class/net').sort()),
    skip: noShell,
  },
  {
    // sysfs cannot be mounted in a user namespace without its own network namespace: /sys is a bind.
    name: 'shaped: --net host with --uid-map/--gid-map sees the host interfaces',
    config: { Cmd: ['/probe'] },
    flags: ['--uid-map', '0:1337:65535', '--gid-map', '0:8888:65535', '--net', 'host', ...sh('ls /sys/class/net')],
    expect: (o) => assert.deepEqual(o.trim().split(/\s+/).sort(), readdirSync('/sys/class/net').sort()),
    skip: noShell,
  },
  {
    name: 'shaped: without --net host only loopback',
    config: { Cmd: ['/probe'] },
    flags: sh('ls /sys/class/net'),
    expect: (o) => assert.deepEqual(o.trim().split(/\s+/), ['lo']),
    skip: noShell,
  },
  { name: 'shaped: --hostname', config: { Cmd: ['/probe'] }, flags: ['--hostname', 'shaped-box', ...sh('uname -n')], expect: (o) => has(o, 'shaped-box'), skip: noShell },
  {
    name: 'shaped: --config-patch applied last',
    config: { Cmd: ['/probe'] },
    flags: (c) => {
      const p = join(c.dir, 'patch.json');
      writeFileSync(p, JSON.stringify({ process: { env: ['PATCHED=yes'], args: ['/probe', 'patched'] } }));
      return ['--env', 'LOST=1', '--config-patch', p];
    },
    expect: (o) => {
      has(o, 'env PATCHED=yes');
      has(o, 'arg[1]=patched');
      assert.doesNotMatch(o, /LOST/);
    },
  },
];

test('bundles from ocibundle unpack run under runc and crun', { skip }, async (t) => {
  const dir = scratchDir('runtimes');
  chmodSync(dir, 0o711); // the mapped-root case needs every parent of its bundle searchable
  try {
    const probe = buildProbe(join(dir, 'cache'));
    assert.ok(probe, 'probe compiled');
    const tags: ProbeTag[] = cases.map((c, i) => ({ tag: `case${i}`, config: c.config }));
    const layout = join(dir, 'layout');
    writeProbeImage(layout, probe, tags);
    const hostDir = join(dir, 'host-dir');
    mkdirSync(hostDir, { mode: 0o755 });
    writeFileSync(join(hostDir, 'marker'), 'from the host\n');
    const ctx: Ctx = { hostDir, dir };
    for (const [i, c] of cases.entries()) {
      await t.test(c.name, { skip: c.skip ?? false }, async (tc) => {
        const bundle = join(dir, `bundle${i}`);
        const flags = typeof c.flags === 'function' ? c.flags(ctx) : (c.flags ?? []);
        const image = `${layout}:case${i}`;
        const steps = c.split
          ? [['raw', 'unpack', '--image', image, join(bundle, 'rootfs')], ['raw', 'runtime-config', '--image', image, join(bundle, 'config.json')]]
          : [['unpack', '--image', image, ...flags, bundle]];
        for (const step of steps) {
          const u = runCli(step);
          assert.equal(u.status, 0, u.stderr);
          assert.doesNotMatch(u.stderr, /warning/);
        }
        if (c.split) assert.ok(!readFileSync(join(bundle, 'config.json'), 'utf8').includes('HOME='), 'no HOME without a passwd to read');
        for (const rt of RUNTIMES) {
          await tc.test(rt.name, { skip: rt.skip }, () => {
            const r = rt.run(bundle, `ocibundle-test-${process.pid}-${i}-${rt.name}`);
            assert.equal(r.status, 0, `${rt.name} failed: ${r.stderr}`);
            c.expect(r.stdout);
          });
        }
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
