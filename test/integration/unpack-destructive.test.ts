// Issue 9, "destructive paths": `--force` replaces only what an unpack could have made. Each
// case runs the real CLI in a scratch world (its own cwd, $HOME, source layout and archive,
// all with canary files) and checks the one-line refusal and that nothing changed. Never
// uses `/` or a real home directory: the child's HOME is a temp dir.
import assert from 'node:assert/strict';
import { bundleNames, BUNDLE_NAMES } from '../helpers/cli.js';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { ociArchiveOf } from '../../fixtures/archives.js';
import { writeLayout } from '../../fixtures/layout.js';
import { gzip, makeTar } from '../../fixtures/tar.js';
import { fingerprint, fingerprintDiff, listPaths, makeArea, oneErrorLine, removeAll, runCli, type Area } from '../helpers/unpack-env.js';

const root = process.getuid?.() === 0;
let area: Area;
before(() => {
  area = makeArea('unpack-destructive-', 512);
});
after(() => area?.cleanup());

interface World {
  dir: string;
  cwd: string;
  home: string;
  layout: string;
  image: string;
  archive: string;
  mounts: string[];
}

const LAYER = () => gzip(makeTar([{ name: 'etc/passwd', content: 'root:x:0:0::/:/bin/sh\n' }, { name: 'bin/sh', content: '#!\n', mode: 0o755 }]));

function canary(dir: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'canary'), `canary in ${dir}\n`);
}

function layoutAt(dir: string): void {
  writeLayout(dir, { images: [{ tag: 'latest', layers: [LAYER()], config: { config: { Cmd: ['/bin/sh'] } } }] });
}

function world(): World {
  const dir = area.fresh('world');
  const cwd = join(dir, 'work', 'cwd');
  const home = join(dir, 'home');
  canary(cwd);
  canary(home);
  canary(join(dir, 'src'));
  const layout = join(dir, 'src', 'layout');
  layoutAt(layout);
  const archive = join(dir, 'arch', 'image.tar');
  canary(dirname(archive));
  writeFileSync(archive, ociArchiveOf(layout));
  return { dir, cwd, home, layout, image: `${layout}:latest`, archive, mounts: [] };
}

function mountTmpfs(w: World, dir: string): void {
  mkdirSync(dir, { recursive: true });
  assert.equal(spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', dir]).status, 0);
  w.mounts.push(dir);
  canary(dir);
}

/** What a refusal must leave exactly as it was (file atimes aside: the source is read). */
function snapshot(w: World): Map<string, string> {
  const fp = fingerprint(w.dir);
  for (const [k, v] of fp) fp.set(k, v.replace(/ atime=\d+/, ''));
  return fp;
}

interface Case {
  name: string;
  /** Returns the CLI arguments (after preparing the world) and the path the message must name. */
  run: (w: World) => { args: string[]; names?: string };
  code: 'EUSAGE' | 'EEXIST';
  needsRoot?: boolean;
}

const raw = (w: World, target: string, image = w.image) => ['raw', 'unpack', '--force', '--image', image, target];
const bundleCmd = (w: World, target: string, image = w.image) => ['unpack', '--force', '--image', image, target];

const cases: Case[] = [
  { name: 'raw unpack --force with an empty ROOTFS', run: (w) => ({ args: raw(w, '') }), code: 'EUSAGE' },
  { name: "raw unpack --force with ROOTFS '-'", run: (w) => ({ args: raw(w, '-') }), code: 'EUSAGE' },
  { name: "raw unpack --force with ROOTFS '.' (the current directory)", run: (w) => ({ args: raw(w, '.'), names: w.cwd }), code: 'EUSAGE' },
  { name: 'raw unpack --force with ROOTFS .. (an ancestor of the current directory)', run: (w) => ({ args: raw(w, '..'), names: dirname(w.cwd) }), code: 'EUSAGE' },
  { name: 'raw unpack --force with ROOTFS $HOME', run: (w) => ({ args: raw(w, w.home), names: w.home }), code: 'EUSAGE' },
  { name: 'raw unpack --force with ROOTFS an ancestor of $HOME', run: (w) => ({ args: raw(w, dirname(w.home)), names: dirname(w.home) }), code: 'EUSAGE' },
  {
    name: 'unpack --force with an empty BUNDLE (the cwd holds rootfs and config.json)',
    run: (w) => {
      canary(join(w.cwd, 'rootfs'));
      writeFileSync(join(w.cwd, 'config.json'), '{"canary":true}');
      return { args: bundleCmd(w, '') };
    },
    code: 'EUSAGE',
  },
  { name: 'raw unpack --force onto the source layout (L:latest L)', run: (w) => ({ args: raw(w, w.layout), names: w.layout }), code: 'EUSAGE' },
  { name: 'raw unpack --force inside the source layout (L/blobs)', run: (w) => ({ args: raw(w, join(w.layout, 'blobs')), names: join(w.layout, 'blobs') }), code: 'EUSAGE' },
  { name: 'raw unpack --force onto a directory that contains the source layout', run: (w) => ({ args: raw(w, dirname(w.layout)), names: dirname(w.layout) }), code: 'EUSAGE' },
  { name: 'raw unpack without --force to a new ROOTFS inside the source layout', run: (w) => ({ args: ['raw', 'unpack', '--image', w.image, join(w.layout, 'new')] }), code: 'EUSAGE' },
  {
    name: 'unpack --force onto a bundle whose rootfs is the source layout',
    run: (w) => {
      const b = join(w.dir, 'bundle');
      layoutAt(join(b, 'rootfs'));
      writeFileSync(join(b, 'config.json'), '{"canary":true}');
      return { args: bundleCmd(w, b, `${join(b, 'rootfs')}:latest`), names: join(b, 'rootfs') };
    },
    code: 'EUSAGE',
  },
  {
    name: 'unpack without --force onto a bundle whose lone rootfs (no config.json) is the source layout',
    run: (w) => {
      const b = join(w.dir, 'bundle');
      layoutAt(join(b, 'rootfs'));
      return { args: ['unpack', '--image', `${join(b, 'rootfs')}:latest`, b], names: join(b, 'rootfs') };
    },
    code: 'EUSAGE',
  },
  { name: 'raw unpack --force onto the oci-archive it reads', run: (w) => ({ args: raw(w, w.archive, `oci-archive:${w.archive}:latest`), names: w.archive }), code: 'EUSAGE' },
  { name: 'raw unpack --force onto the directory holding the oci-archive it reads', run: (w) => ({ args: raw(w, dirname(w.archive), `oci-archive:${w.archive}:latest`), names: dirname(w.archive) }), code: 'EUSAGE' },
  {
    name: 'raw unpack --force onto another OCI layout (oci-layout at its top)',
    run: (w) => {
      const other = join(w.dir, 'other');
      layoutAt(other);
      return { args: raw(w, other), names: other };
    },
    code: 'EEXIST',
  },
  {
    name: 'raw unpack --force onto a directory with index.json at its top',
    run: (w) => {
      const d = join(w.dir, 'indexed');
      canary(d);
      writeFileSync(join(d, 'index.json'), '{}');
      return { args: raw(w, d), names: d };
    },
    code: 'EEXIST',
  },
  {
    name: 'raw runtime-config --force onto a file of the source layout (L/index.json)',
    run: (w) => ({ args: ['raw', 'runtime-config', '--force', '--image', w.image, join(w.layout, 'index.json')], names: join(w.layout, 'index.json') }),
    code: 'EUSAGE',
  },
  { name: 'raw runtime-config --force with an empty CONFIG', run: (w) => ({ args: ['raw', 'runtime-config', '--force', '--image', w.image, ''] }), code: 'EUSAGE' },
  {
    name: 'raw unpack --force onto a mount point',
    needsRoot: true,
    run: (w) => {
      const m = join(w.dir, 'mnt');
      mountTmpfs(w, m);
      return { args: raw(w, m), names: m };
    },
    code: 'EUSAGE',
  },
  {
    name: 'unpack --force onto a bundle whose rootfs is a mount point',
    needsRoot: true,
    run: (w) => {
      const b = join(w.dir, 'bundle');
      mountTmpfs(w, join(b, 'rootfs'));
      writeFileSync(join(b, 'config.json'), '{"canary":true}');
      return { args: bundleCmd(w, b), names: join(b, 'rootfs') };
    },
    code: 'EUSAGE',
  },
];

test('--force refuses what an unpack could not have made, naming the path, and changes nothing', async (t) => {
  for (const c of cases) {
    await t.test(c.name, { skip: c.needsRoot && !root ? 'needs root (tmpfs mount)' : false }, () => {
      const w = world();
      try {
        const { args, names } = c.run(w);
        const was = snapshot(w);
        const r = runCli(args, 60_000, { cwd: w.cwd, env: { HOME: w.home } });
        assert.equal(r.status, c.code === 'EUSAGE' ? 2 : 5, `status ${r.status}: ${r.stderr}`);
        assert.deepEqual(oneErrorLine(r.stderr), { lines: 1, code: c.code }, r.stderr);
        if (names !== undefined) assert.ok(r.stderr.includes(names), `the message names ${names}: ${r.stderr}`);
        assert.equal(r.stdout, '');
        assert.deepEqual(fingerprintDiff(was, snapshot(w)), [], 'nothing changed');
      } finally {
        for (const m of w.mounts.reverse()) spawnSync('umount', [m]);
        removeAll(w.dir);
      }
    });
  }
});

test('--force still replaces what an unpack made', async (t) => {
  await t.test('raw unpack --force over an earlier raw unpack', () => {
    const w = world();
    const target = join(w.dir, 'rootfs');
    for (let i = 0; i < 2; i++) {
      const r = runCli(raw(w, target), 60_000, { cwd: w.cwd, env: { HOME: w.home } });
      assert.equal(r.status, 0, r.stderr);
    }
    assert.deepEqual(listPaths(target), ['bin', 'bin/sh', 'etc', 'etc/passwd']);
    assert.deepEqual(readdirSync(w.dir).filter((n) => n.startsWith('.ocibundle-')), []);
    removeAll(w.dir);
  });
  await t.test('unpack --force over an earlier bundle, BUNDLE given as . from inside it', () => {
    const w = world();
    const b = join(w.dir, 'bundle');
    assert.equal(runCli(bundleCmd(w, b), 60_000, { cwd: w.cwd, env: { HOME: w.home } }).status, 0);
    const r = runCli(bundleCmd(w, '.'), 60_000, { cwd: b, env: { HOME: w.home } });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(bundleNames(b), BUNDLE_NAMES);
    removeAll(w.dir);
  });
});
