// End to end: unpack fixture images with the CLI and run them with `runc run`, asserting what
// the container process sees (the probe prints ids, groups, cwd, args and environment).
// Needs root and runc (CI installs it); skips with a reason otherwise.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { buildProbe, writeProbeImage, type ProbeTag } from '../../fixtures/images.js';
import { hasCommand, isRoot, runCli, scratchDir } from '../helpers/cli.js';

const skip = !isRoot() ? 'needs root to run containers' : !hasCommand('runc') ? 'runc not installed (apt-get install runc)' : !hasCommand('cc') ? 'needs a C compiler for the probe' : false;

interface Case {
  name: string;
  config: Record<string, unknown>;
  expect: (out: string) => void;
  /** Extra unpack flags. */
  flags?: string[];
}

const has = (out: string, line: string) => assert.ok(out.split('\n').includes(line), `missing line ${JSON.stringify(line)} in:\n${out}`);

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
    name: '--uid-map/--gid-map bundle run by runc as root',
    config: { Cmd: ['/probe'], User: '1000:1000' },
    flags: ['--uid-map', '0:1337:65535', '--gid-map', '0:8888:65535'],
    expect: (o) => has(o, 'uid=1000 gid=1000'),
  },
];

test('bundles from ocibundle unpack run under runc', { skip }, async (t) => {
  const dir = scratchDir('runc');
  chmodSync(dir, 0o711); // the mapped-root case needs every parent of its bundle searchable
  try {
    const probe = buildProbe(join(dir, 'cache'));
    assert.ok(probe, 'probe compiled');
    const tags: ProbeTag[] = cases.map((c, i) => ({ tag: `case${i}`, config: c.config }));
    const layout = join(dir, 'layout');
    writeProbeImage(layout, probe, tags);
    for (const [i, c] of cases.entries()) {
      await t.test(c.name, () => {
        const bundle = join(dir, `bundle${i}`);
        const u = runCli(['unpack', '--image', `${layout}:case${i}`, ...(c.flags ?? []), bundle]);
        assert.equal(u.status, 0, u.stderr);
        assert.doesNotMatch(u.stderr, /warning/);
        const id = `ocibundle-test-${process.pid}-${i}`;
        const r = spawnSync('runc', ['run', '-b', bundle, id], { encoding: 'utf8', timeout: 30_000, stdio: ['ignore', 'pipe', 'pipe'] });
        spawnSync('runc', ['delete', '-f', id], { stdio: 'ignore' });
        assert.equal(r.status, 0, `runc failed: ${r.stderr}`);
        c.expect(r.stdout);
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
