// new, config, insert and raw add-layer through the CLI: config's result equals umoci 0.4.7's
// for each flag (differential, on copies of one layout); new makes an empty image umoci
// reads; insert adds files, trees (symlinks kept as links), whiteouts and opaque markers;
// raw add-layer takes a tar (and refuses what is not one); every command moves only its tag.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { writeRichImage } from '../../fixtures/images.js';
import { hasCommand, isRoot, runCli, scratchDir } from '../helpers/cli.js';

const skipUmoci = !hasCommand('umoci') ? 'umoci not installed' : false;

function ok(args: string[]): string {
  const r = runCli(args);
  assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

function blob(layout: string, digest: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(layout, 'blobs/sha256', digest.slice(7)), 'utf8'));
}

function image(layout: string, tag: string): { manifest: Record<string, unknown>; config: Record<string, unknown> } {
  const idx = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8'));
  const d = idx.manifests.find((m: { annotations?: Record<string, string> }) => m.annotations?.['org.opencontainers.image.ref.name'] === tag);
  assert.ok(d, `tag ${tag} in ${layout}`);
  const manifest = blob(layout, d.digest);
  return { manifest, config: blob(layout, (manifest['config'] as { digest: string }).digest) };
}

// Each case's flags go to both tools; what umoci 0.4.7 does differently on purpose is below.
const configCases: [string, string[]][] = [
  ['user', ['--config.user', '1000:100']],
  ['env added and replaced', ['--config.env', 'PATH=/x', '--config.env', 'NEW=1']],
  ['entrypoint', ['--config.entrypoint', '/bin/sh', '--config.entrypoint=-c']],
  ['cmd', ['--config.cmd', 'echo', '--config.cmd', 'hi']],
  ['workingdir', ['--config.workingdir', '/srv']],
  ['volumes', ['--config.volume', '/data', '--config.volume', '/cache']],
  ['exposed ports', ['--config.exposedports', '80/tcp', '--config.exposedports', '53/udp']],
  ['labels', ['--config.label', 'a=b', '--config.label', 'c=d=e']],
  ['stopsignal', ['--config.stopsignal', 'SIGINT']],
  ['author', ['--author', 'Someone <s@example.com>']],
  ['created', ['--created', '2021-02-03T04:05:06Z']],
  ['os and architecture', ['--os', 'freebsd', '--architecture', 'arm64']],
  ['manifest annotation', ['--manifest.annotation', 'org.example=1']],
  ['clear env then set', ['--clear', 'config.env', '--config.env', 'ONLY=1']],
  ['clear cmd', ['--clear', 'config.cmd']],
  ['clear labels', ['--clear', 'config.labels']],
];

function comparable(img: { manifest: Record<string, unknown>; config: Record<string, unknown> }): unknown {
  const { history, created, ...config } = img.config as { history?: { created_by?: string }[]; created?: string };
  void created;
  // umoci 0.4.7 writes empty annotations on the manifest as {} and names itself in created_by
  const annotations = (img.manifest['annotations'] as Record<string, string> | undefined) ?? {};
  return { config, annotations, historyLength: history?.length ?? 0 };
}

test('config equals umoci config, flag by flag', { skip: skipUmoci }, async (t) => {
  const dir = scratchDir('config-umoci');
  try {
    const layout = join(dir, 'layout');
    writeRichImage(layout);
    for (const [name, flags] of configCases) {
      await t.test(name, () => {
        const a = join(dir, `ours-${name.replace(/\W+/g, '-')}`);
        const b = join(dir, `umoci-${name.replace(/\W+/g, '-')}`);
        cpSync(layout, a, { recursive: true });
        cpSync(layout, b, { recursive: true });
        ok(['config', '--image', `${a}:latest`, '--tag', 'new', ...flags]);
        execFileSync('umoci', ['config', '--image', `${b}:latest`, '--tag', 'new', ...flags], { stdio: 'pipe' });
        const mine = image(a, 'new');
        const theirs = image(b, 'new');
        assert.deepEqual(comparable(mine), comparable(theirs));
        if (flags.includes('--created')) assert.equal(mine.config['created'], theirs.config['created']);
        assert.ok(image(a, 'latest'), 'the old tag is still there');
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('config: bad values are usage errors and change nothing', async (t) => {
  const dir = scratchDir('config-bad');
  try {
    const layout = join(dir, 'layout');
    writeRichImage(layout);
    const before = readFileSync(join(layout, 'index.json'), 'utf8');
    for (const [name, flags] of [
      ['label without =', ['--config.label', 'nokey']],
      ['unknown --clear', ['--clear', 'config.everything']],
      ['bad --created', ['--created', 'yesterday']],
      ['bad --history.created', ['--history.created', 'now']],
    ] as [string, string[]][]) {
      await t.test(name, () => {
        const r = runCli(['config', '--image', `${layout}:latest`, ...flags]);
        assert.equal(r.status, 2, r.stderr);
        assert.match(r.stderr, /^ocibundle: EUSAGE: /);
        assert.equal(readFileSync(join(layout, 'index.json'), 'utf8'), before);
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('new: an empty image umoci can read and ocibundle can unpack', async () => {
  const dir = scratchDir('new');
  try {
    const layout = join(dir, 'layout');
    ok(['init', '--layout', layout]);
    ok(['new', '--image', `${layout}:base`]);
    const img = image(layout, 'base');
    assert.deepEqual((img.manifest['layers'] as unknown[]).length, 0);
    assert.equal(img.config['os'], 'linux');
    assert.deepEqual(img.config['rootfs'], { type: 'layers', diff_ids: [] });
    ok(['unpack', '--rootless', '--image', `${layout}:base`, join(dir, 'b')]);
    if (!skipUmoci) execFileSync('umoci', ['stat', '--image', `${layout}:base`], { stdio: 'pipe' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('insert and raw add-layer build an image that unpacks as expected (ours and umoci)', async () => {
  const dir = scratchDir('insert');
  try {
    const layout = join(dir, 'layout');
    writeRichImage(layout);
    const src = join(dir, 'src');
    mkdirSync(join(src, 'tree/sub'), { recursive: true });
    writeFileSync(join(src, 'tree/sub/file'), 'in a tree');
    symlinkSync('/etc/shadow', join(src, 'tree/escape'));
    writeFileSync(join(src, 'single'), 'one file');
    ok(['insert', '--image', `${layout}:latest`, '--tag', 'ins', join(src, 'tree'), '/opt/tree']);
    ok(['insert', '--image', `${layout}:ins`, join(src, 'single'), '/etc/single']);
    ok(['insert', '--image', `${layout}:ins`, '--whiteout', '/etc/passwd']);
    ok(['insert', '--image', `${layout}:ins`, '--opaque', join(src, 'tree'), '/usr/bin']);
    execFileSync('tar', ['-cf', join(dir, 'extra.tar'), '-C', src, 'single']);
    ok(['raw', 'add-layer', '--image', `${layout}:ins`, join(dir, 'extra.tar')]);
    const out = join(dir, 'out');
    ok(['unpack', '--rootless', '--image', `${layout}:ins`, out]);
    const root = join(out, 'rootfs');
    assert.equal(readFileSync(join(root, 'opt/tree/sub/file'), 'utf8'), 'in a tree');
    assert.equal(execFileSync('readlink', [join(root, 'opt/tree/escape')], { encoding: 'utf8' }).trim(), '/etc/shadow');
    assert.equal(readFileSync(join(root, 'etc/single'), 'utf8'), 'one file');
    assert.equal(readFileSync(join(root, 'single'), 'utf8'), 'one file');
    assert.ok(!existsSync(join(root, 'etc/passwd')), 'whited out');
    assert.deepEqual(readdirSync(join(root, 'usr/bin')).sort(), ['escape', 'sub'], 'opaque: only the inserted tree');
    assert.ok(image(layout, 'latest'), 'insert --tag left latest alone');
    assert.equal((image(layout, 'ins').config['history'] as unknown[]).length, (image(layout, 'latest').config['history'] as unknown[] | undefined ?? []).length + 5);
    if (!skipUmoci && isRoot()) {
      const u = join(dir, 'u');
      execFileSync('umoci', ['raw', 'unpack', '--image', `${layout}:ins`, u], { stdio: 'pipe' });
      assert.equal(readFileSync(join(u, 'opt/tree/sub/file'), 'utf8'), 'in a tree');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('raw add-layer refuses a file that is not a tar, leaving the tag', async () => {
  const dir = scratchDir('addlayer-bad');
  try {
    const layout = join(dir, 'layout');
    writeRichImage(layout);
    writeFileSync(join(dir, 'junk.tar'), Buffer.alloc(1024, 0x41));
    const before = readFileSync(join(layout, 'index.json'), 'utf8');
    const r = runCli(['raw', 'add-layer', '--image', `${layout}:latest`, join(dir, 'junk.tar')]);
    assert.equal(r.status, 4, r.stderr);
    assert.match(r.stderr, /^ocibundle: ETAR: /);
    assert.equal(readFileSync(join(layout, 'index.json'), 'utf8'), before);
    assert.deepEqual(readdirSync(layout).filter((n) => n.startsWith('.ocibundle-')), [], 'no temp left');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
