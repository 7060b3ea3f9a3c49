// The warm overlay path (src/cli/overlay-warm.ts): after a full `unpack --overlay`, the next
// bundle of the same image and command line is made from the store's recipe, and it is the same
// bundle (config.json bytes, record, mounted tree, warnings); a retagged image, a changed blob or
// any other command line is served by the full CLI; `store gc` drops recipes of removed layers.
// Root only (overlay mounts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeLayout, corruptBlob } from '../../fixtures/layout.js';
import { gzip, makeTar } from '../../fixtures/tar.js';
import { BIN, isRoot, scratchDir } from '../helpers/cli.js';
import { diffTrees, listTree } from '../helpers/tree.js';
import { ok, unmountAllUnder } from '../helpers/store-env.js';

const skip = isRoot() ? false : 'needs root (overlay mounts)';

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  /** The run took the warm path (its trace step). */
  warm: boolean;
}

function run(dir: string, args: string[]): Run {
  const trace = join(dir, `trace-${Math.random().toString(36).slice(2)}`);
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, OCIBUNDLE_TEST_TRACE: trace } });
  const warm = existsSync(trace) && readFileSync(trace, 'utf8').split('\n').some((l) => l.startsWith('overlay-warm '));
  rmSync(trace, { force: true });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, warm };
}

/** A layout with two images sharing a layer: `latest` (a user db, User svc, a setuid file) and `other` (etc/ re-moded, etc/group whited out). */
function twoImages(layout: string): { latest: string; other: string; otherConfig: string } {
  const one = gzip(makeTar([{ name: 'etc/', type: 'dir', mode: 0o755 }, { name: 'etc/passwd', content: 'root:x:0:0:root:/root:/bin/sh\nsvc:x:7:7::/:/bin/sh\n' }, { name: 'etc/group', content: 'root:x:0:\nsvc:x:7:\n' }, { name: 'bin/', type: 'dir', mode: 0o755 }, { name: 'bin/tool', content: 'one', mode: 0o4755 }]));
  const two = gzip(makeTar([{ name: 'usr/', type: 'dir', mode: 0o755 }, { name: 'usr/lib/', type: 'dir', mode: 0o755 }, { name: 'usr/lib/marker', content: 'image two' }]));
  const third = gzip(makeTar([{ name: 'etc/', type: 'dir', mode: 0o700 }, { name: 'etc/.wh.group' }]));
  const built = writeLayout(layout, {
    images: [
      { tag: 'latest', layers: [one, two], config: { config: { User: 'svc', Env: ['A=1'] } } },
      { tag: 'other', layers: [one, third], config: { config: { User: 'root' } } },
    ],
  });
  return { latest: built.images[0]!.manifest.digest, other: built.images[1]!.manifest.digest, otherConfig: built.images[1]!.config.digest };
}

function withArea(tag: string, fn: (dir: string, layout: string, ids: ReturnType<typeof twoImages>) => void) {
  return () => {
    const dir = scratchDir(tag);
    try {
      const layout = join(dir, 'layout');
      fn(dir, layout, twoImages(layout));
    } finally {
      unmountAllUnder(dir);
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

const recordOf = (bundle: string) => {
  const rec = JSON.parse(readFileSync(join(bundle, '.ocibundle', 'overlay.json'), 'utf8')) as Record<string, unknown>;
  delete rec['id'];
  return rec;
};

test('the next overlay bundle of an image comes from the recipe and is the same bundle', { skip }, withArea('store-warm', (dir, layout) => {
  const store = join(dir, 'store');
  const image = `${layout}:latest`;
  const args = (b: string) => ['unpack', `--store=${store}`, '--overlay', '--image', image, join(dir, b)];
  const first = run(dir, args('b1'));
  assert.equal(first.status, 0, first.stderr);
  assert.equal(first.warm, false, 'the first bundle takes the full path (it extracts the layers)');
  const second = run(dir, args('b2'));
  assert.equal(second.status, 0, second.stderr);
  assert.equal(second.warm, true, 'the second bundle is made from the recipe');
  assert.equal(second.stdout, first.stdout);
  assert.equal(second.stderr, first.stderr, 'the same warnings');
  assert.equal(readFileSync(join(dir, 'b2', 'config.json'), 'utf8'), readFileSync(join(dir, 'b1', 'config.json'), 'utf8'));
  assert.deepEqual(recordOf(join(dir, 'b2')), recordOf(join(dir, 'b1')));
  // (no layer declares the root: its mtime is when each bundle's upper dir was made)
  assert.deepEqual(diffTrees(listTree(join(dir, 'b1', 'rootfs')), listTree(join(dir, 'b2', 'rootfs')), (p, f) => p === '.' && f === 'mtime'), []);
  // the options in the argument order of the bench, and `--image=` spelled together, are warm too
  const third = run(dir, ['unpack', '--overlay', `--image=${image}`, `--store=${store}`, join(dir, 'b3')]);
  assert.equal(third.status, 0, third.stderr);
  assert.equal(third.warm, true);
  // refusals are the full command's: an existing bundle without --force
  const again = run(dir, args('b2'));
  assert.equal(again.status, 5, again.stderr);
  assert.match(again.stderr, /^ocibundle: EEXIST: .*rootfs exists \(use --force to replace it\)\n$/);
  const ls = JSON.parse(ok(['store', 'ls', '--store', store, '--json'])) as { id: string; bundles: number }[];
  for (const l of ls) assert.equal(l.bundles, 3, l.id);
}));

test('a retagged image, a changed blob or another command line is not served from the recipe', { skip }, withArea('store-warm-miss', (dir, layout, ids) => {
  const store = join(dir, 'store');
  const image = `${layout}:latest`;
  const args = (b: string) => ['unpack', `--store=${store}`, '--overlay', '--image', image, join(dir, b)];
  assert.equal(run(dir, args('b1')).status, 0);
  assert.equal(run(dir, args('b2')).warm, true);
  // another command line: the full path, and its option shows
  const tty = run(dir, [...args('b3'), '--tty']);
  assert.equal(tty.status, 0, tty.stderr);
  assert.equal(tty.warm, false);
  assert.equal((JSON.parse(readFileSync(join(dir, 'b3', 'config.json'), 'utf8')) as { process: { terminal: boolean } }).process.terminal, true);
  // `latest` now names the other image: the full path, and the bundle is the other image
  const indexPath = join(layout, 'index.json');
  const index = JSON.parse(readFileSync(indexPath, 'utf8')) as { manifests: { digest: string; annotations: Record<string, string> }[] };
  for (const m of index.manifests) m.annotations['org.opencontainers.image.ref.name'] = m.digest === ids.latest ? 'old' : 'latest';
  writeFileSync(indexPath, JSON.stringify(index));
  const retagged = run(dir, args('b4'));
  assert.equal(retagged.status, 0, retagged.stderr);
  assert.equal(retagged.warm, false);
  assert.ok(!existsSync(join(dir, 'b4', 'rootfs', 'usr', 'lib', 'marker')) && !existsSync(join(dir, 'b4', 'rootfs', 'etc', 'group')), 'the other image is mounted');
  assert.equal(run(dir, args('b5')).warm, true, 'and its recipe serves the next one');
  // a changed config blob: the full path, which refuses it as it would without a store
  corruptBlob(layout, ids.otherConfig);
  const bad = run(dir, args('b6'));
  const flat = run(dir, ['unpack', '--image', image, join(dir, 'flat')]);
  assert.equal(bad.warm, false);
  assert.notEqual(bad.status, 0);
  assert.equal(bad.status, flat.status);
  assert.equal(bad.stderr.split(': ')[1], flat.stderr.split(': ')[1], 'the same error code');
  assert.ok(!existsSync(join(dir, 'b6')), 'nothing left of the refused bundle');
}));

test('store gc drops the recipes of layers it removed', { skip }, withArea('store-warm-gc', (dir, layout) => {
  const store = join(dir, 'store');
  const args = (b: string) => ['unpack', `--store=${store}`, '--overlay', '--image', `${layout}:latest`, join(dir, b)];
  ok(args('b1'));
  assert.equal(readdirSync(join(store, 'recipes')).length, 1);
  ok(['umount', join(dir, 'b1')]);
  rmSync(join(dir, 'b1'), { recursive: true, force: true });
  const gc = JSON.parse(ok(['store', 'gc', '--store', store, '--json'])) as { removed: string[] };
  assert.ok(gc.removed.length >= 3, 'two layers and the stack entry');
  assert.deepEqual(readdirSync(join(store, 'recipes')), []);
  const after = run(dir, args('b2'));
  assert.equal(after.status, 0, after.stderr);
  assert.equal(after.warm, false, 'no recipe: the full path extracts again');
}));
