// `ocibundle raw runtime-config` and the config.json written by `unpack`, through the real
// CLI: named users need --rootfs, flags reach the document, existing files need --force, and
// the conversion fields equal umoci 0.4.7's (minus its documented bugs) on the same layout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzip, makeTar } from '../../fixtures/tar.js';
import { writeLayout } from '../../fixtures/layout.js';
import { diffUmociConfig } from '../helpers/spec-umoci.js';
import { BIN, hasCommand, runCli, scratchDir } from '../helpers/cli.js';
import type { RuntimeSpec } from '../../src/spec/index.js';

const PASSWD = 'root:x:0:0:root:/root:/bin/sh\nalice:x:1234:2345:Alice:/home/alice:/bin/sh\n';
const GROUP = 'root:x:0:\nalicegrp:x:2345:\nextra:x:3456:alice\n';

const images: Record<string, Record<string, unknown>> = {
  named: { User: 'alice', Cmd: ['/bin/true'], Env: ['A=1'], WorkingDir: '/srv', Volumes: { '/data': {}, '/cache': {} }, ExposedPorts: { '80/tcp': {}, '53/udp': {} }, Labels: { 'org.example': 'x' } },
  numeric: { User: '1000:1000', Entrypoint: ['/probe'], Cmd: ['-v'], StopSignal: 'SIGTERM' },
  plain: { Cmd: ['sh'] },
};

function layoutWithUsers(dir: string): string {
  const layout = join(dir, 'layout');
  const layer = gzip(makeTar([
    { name: 'etc/', type: 'dir' },
    { name: 'etc/passwd', content: PASSWD },
    { name: 'etc/group', content: GROUP },
  ]));
  writeLayout(layout, { images: Object.entries(images).map(([tag, config]) => ({ tag, layers: [layer], config: { config, author: 'someone', created: '2024-01-02T03:04:05Z' } })) });
  return layout;
}

test('raw runtime-config through the CLI', async (t) => {
  const dir = scratchDir('rtcfg');
  try {
    const layout = layoutWithUsers(dir);
    const rootfs = join(dir, 'rootfs');
    const u = runCli(['raw', 'unpack', '--image', `${layout}:named`, rootfs]);
    assert.equal(u.status, 0, u.stderr);

    await t.test('a named user without --rootfs is an error (exit 4, one line)', () => {
      const r = runCli(['raw', 'runtime-config', '--image', `${layout}:named`, join(dir, 'c0.json')]);
      assert.equal(r.status, 4);
      assert.match(r.stderr, /^ocibundle: ENOUSER: .*alice/);
      assert.equal(r.stderr.trim().split('\n').length, 1);
      assert.equal(r.stdout, '');
    });

    await t.test('a named user resolves through --rootfs', () => {
      const out = join(dir, 'c1.json');
      const r = runCli(['raw', 'runtime-config', '--image', `${layout}:named`, '--rootfs', rootfs, out]);
      assert.equal(r.status, 0, r.stderr);
      const c = JSON.parse(readFileSync(out, 'utf8')) as RuntimeSpec;
      assert.deepEqual(c.process.user, { uid: 1234, gid: 2345, additionalGids: [3456] });
      assert.equal(c.process.cwd, '/srv');
      assert.equal(c.process.terminal, false);
      assert.deepEqual(c.mounts.filter((m) => m.type === 'tmpfs' && ['/cache', '/data'].includes(m.destination)).map((m) => m.destination), ['/cache', '/data']);
      assert.equal(c.annotations?.['org.opencontainers.image.exposedPorts'], '53/udp,80/tcp');
    });

    await t.test('--tty and --no-volumes', () => {
      const out = join(dir, 'c2.json');
      const r = runCli(['raw', 'runtime-config', '--tty', '--no-volumes', '--image', `${layout}:named`, '--rootfs', rootfs, out]);
      assert.equal(r.status, 0, r.stderr);
      const c = JSON.parse(readFileSync(out, 'utf8')) as RuntimeSpec;
      assert.equal(c.process.terminal, true);
      assert.ok(!c.mounts.some((m) => m.destination === '/data'));
    });

    await t.test('an existing file needs --force (exit 5)', () => {
      const out = join(dir, 'c3.json');
      writeFileSync(out, 'keep');
      const r = runCli(['raw', 'runtime-config', '--image', `${layout}:plain`, out]);
      assert.equal(r.status, 5);
      assert.equal(readFileSync(out, 'utf8'), 'keep');
      assert.equal(runCli(['raw', 'runtime-config', '--force', '--image', `${layout}:plain`, out]).status, 0);
      assert.notEqual(readFileSync(out, 'utf8'), 'keep');
    });

    await t.test('unpack writes the same config.json as raw runtime-config --rootfs', () => {
      const bundle = join(dir, 'bundle');
      assert.equal(runCli(['unpack', '--image', `${layout}:named`, bundle]).status, 0);
      const viaUnpack = readFileSync(join(bundle, 'config.json'), 'utf8');
      assert.equal(viaUnpack, readFileSync(join(dir, 'c1.json'), 'utf8'));
    });

    await t.test('CONFIG - writes config.json to stdout, byte for byte the file; ./- is a file', () => {
      const file = join(dir, 'c-file.json');
      assert.equal(runCli(['raw', 'runtime-config', '--image', `${layout}:named`, '--rootfs', rootfs, file]).status, 0);
      const r = runCli(['raw', 'runtime-config', '--image', `${layout}:named`, '--rootfs', rootfs, '-']);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stderr, '');
      assert.equal(r.stdout, readFileSync(file, 'utf8'));
      const named = spawnSync(process.execPath, [BIN, 'raw', 'runtime-config', '--image', `${layout}:plain`, './-'], { cwd: dir, encoding: 'utf8' });
      assert.equal(named.status, 0, named.stderr);
      assert.equal(named.stdout, '');
      assert.equal((JSON.parse(readFileSync(join(dir, '-'), 'utf8')) as RuntimeSpec).process.args[0], 'sh');
    });

    await t.test("without --rootfs: no HOME (runc fills it in), env equal to umoci's", { skip: hasCommand('umoci') ? false : 'umoci not installed' }, () => {
      const ours = join(dir, 'ours-norootfs.json');
      const theirs = join(dir, 'umoci-norootfs.json');
      assert.equal(runCli(['raw', 'runtime-config', '--image', `${layout}:numeric`, ours]).status, 0);
      const r = spawnSync('umoci', ['raw', 'runtime-config', '--image', `${layout}:numeric`, theirs], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const env = (f: string) => (JSON.parse(readFileSync(f, 'utf8')) as RuntimeSpec).process.env;
      assert.ok(!env(ours).some((e) => e.startsWith('HOME=')), env(ours).join(' '));
      assert.deepEqual(env(ours), env(theirs));
    });

    for (const tag of Object.keys(images)) {
      await t.test(`conversion fields equal umoci's: ${tag}`, { skip: hasCommand('umoci') ? false : 'umoci not installed' }, () => {
        const ours = join(dir, `ours-${tag}.json`);
        const theirs = join(dir, `umoci-${tag}.json`);
        assert.equal(runCli(['raw', 'runtime-config', '--image', `${layout}:${tag}`, '--rootfs', rootfs, ours]).status, 0);
        const r = spawnSync('umoci', ['raw', 'runtime-config', '--image', `${layout}:${tag}`, '--rootfs', rootfs, theirs], { encoding: 'utf8' });
        assert.equal(r.status, 0, r.stderr);
        const image = { config: images[tag]!, author: 'someone', created: '2024-01-02T03:04:05Z', os: 'linux', architecture: 'amd64' };
        const diffs = diffUmociConfig(image, JSON.parse(readFileSync(theirs, 'utf8')), JSON.parse(readFileSync(ours, 'utf8')) as RuntimeSpec);
        assert.deepEqual(diffs, []);
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
