// End to end, rootless: an unprivileged user unpacks with --rootless and runs the bundle with
// runc and with crun as itself (no root in the path: the runtime maps container root to that
// user). CI runs as root, so the test makes a system user with useradd when it is missing and
// drops to it with runuser. Skips with a reason where the machine or the kernel refuses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildProbe, busyboxStatic, writeProbeImage } from '../../fixtures/images.js';
import { BIN, hasCommand, isRoot, scratchDir } from '../helpers/cli.js';
import { RUNTIMES } from '../helpers/runtimes.js';
import { asUser, run, TEST_USER, testUser } from '../helpers/test-user.js';

const USER = TEST_USER;

function whyNot(): string | false {
  if (!isRoot()) return 'needs root to create and switch to the unprivileged test user';
  for (const c of ['runuser', 'useradd', 'unshare', 'cc']) if (!hasCommand(c)) return `${c} is missing`;
  if (RUNTIMES.every((r) => r.skip)) return 'neither runc nor crun is installed';
  const u = testUser();
  if (typeof u === 'string') return u;
  const ns = asUser(['unshare', '-U', '-r', 'true']);
  if (ns.status !== 0) return `the kernel refuses unprivileged user namespaces: ${ns.stderr.trim()}`;
  return false;
}

const skip = whyNot();
const noShell = busyboxStatic() === null ? 'needs a static /bin/busybox for the shell (apt-get install busybox-static)' : false;
const sh = (script: string) => ['--args', JSON.stringify(['/bin/sh', '-c', script])];

interface Case {
  name: string;
  flags: (hostDir: string) => string[];
  expect: (out: string, ids: { uid: number; gid: number }) => void;
  skip?: string | false;
}

const lines = (o: string) => o.split('\n');
const cases: Case[] = [
  {
    name: 'container root is the user; env from the flag',
    flags: () => ['--env', 'ROOTLESS=yes'],
    expect: (o) => {
      assert.ok(lines(o).includes('uid=0 gid=0'), o);
      assert.ok(lines(o).includes('env ROOTLESS=yes'), o);
    },
  },
  {
    name: 'the uid map maps container root to the user',
    flags: () => sh('cat /proc/self/uid_map /proc/self/gid_map'),
    expect: (o, ids) => assert.deepEqual(o.trim().split('\n').map((l) => l.trim().split(/\s+/)), [['0', String(ids.uid), '1'], ['0', String(ids.gid), '1']]),
    skip: noShell,
  },
  {
    name: 'bind mount read-only, tmpfs, read-only rootfs',
    flags: (hostDir) => [
      '--mount', `type=bind,src=${hostDir},dst=/from-host,ro`,
      '--mount', 'type=tmpfs,dst=/scratch',
      '--readonly-rootfs',
      ...sh('cat /from-host/marker; echo x > /from-host/n 2>/dev/null || echo bind-ro; echo t > /scratch/t && echo tmpfs-rw; echo x > /w 2>/dev/null || echo root-ro'),
    ],
    expect: (o) => {
      for (const l of ['from the host', 'bind-ro', 'tmpfs-rw', 'root-ro']) assert.ok(lines(o).includes(l), `missing ${l} in:\n${o}`);
    },
    skip: noShell,
  },
];

/**
 * Unpack as the user when it can read this checkout; otherwise (a clone under a 0700 home, as
 * in some CI runs) as root with --rootless and the user's ids as the maps, then hand the
 * bundle to the user: --rootless writes every file as the caller, so this is the same tree.
 */
function unpackRootless(image: string, flags: string[], bundle: string, ids: { uid: number; gid: number }): { status: number | null; stderr: string; how: string } {
  if (asUser([process.execPath, BIN, '--version']).status === 0) {
    return { ...asUser([process.execPath, BIN, 'unpack', '--rootless', '--image', image, ...flags, bundle]), how: `unpacked by ${USER}` };
  }
  const maps = ['--uid-map', `0:${ids.uid}:1`, '--gid-map', `0:${ids.gid}:1`];
  const u = run([process.execPath, BIN, 'unpack', '--rootless', ...maps, '--image', image, ...flags, bundle]);
  if (u.status !== 0) return { ...u, how: 'unpacked by root' };
  const c = run(['chown', '-R', `${ids.uid}:${ids.gid}`, bundle]);
  return { status: c.status, stderr: c.stderr, how: `unpacked by root with --rootless (${USER} cannot read this checkout), then chowned to ${USER}` };
}

test('rootless bundles unpacked and run by an unprivileged user', { skip }, async (t) => {
  const ids = testUser() as { uid: number; gid: number };
  const dir = scratchDir('rootless');
  chmodSync(dir, 0o711);
  try {
    const probe = buildProbe(join(dir, 'cache'));
    assert.ok(probe, 'probe compiled');
    const layout = join(dir, 'layout');
    writeProbeImage(layout, probe, [{ tag: 'latest', config: { Cmd: ['/probe'] } }]);
    assert.equal(run(['chmod', '-R', 'a+rX', layout]).status, 0);
    const hostDir = join(dir, 'host-dir');
    mkdirSync(hostDir, { mode: 0o755 });
    writeFileSync(join(hostDir, 'marker'), 'from the host\n');
    const work = join(dir, 'work');
    mkdirSync(work, { mode: 0o700 });
    chownSync(work, ids.uid, ids.gid);
    for (const [i, c] of cases.entries()) {
      await t.test(c.name, { skip: c.skip ?? false }, async (tc) => {
        const bundle = join(work, `bundle${i}`);
        const u = unpackRootless(`${layout}:latest`, c.flags(hostDir), bundle, ids);
        assert.equal(u.status, 0, u.stderr);
        tc.diagnostic(u.how);
        for (const rt of RUNTIMES) {
          await tc.test(rt.name, { skip: rt.skip }, () => {
            const r = rt.run(bundle, `ocibundle-rl-${process.pid}-${i}-${rt.name}`, { user: USER, stateDir: join(work, `state-${rt.name}`) });
            assert.equal(r.status, 0, `${rt.name} as ${USER} failed: ${r.stderr}`);
            c.expect(r.stdout, ids);
          });
        }
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
