// Bundle metadata written by unpack: the mtree recorded during extraction equals a walk of
// the finished rootfs entry by entry (as root, rootless, with id maps, and through the walk
// fallback when an entry goes through a symlinked parent); it agrees with umoci's own mtree
// of the same image; `umoci repack` accepts ocibundle bundles and adds no layer for an
// unchanged rootfs; --no-mtree writes none.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeRichImage } from '../../fixtures/images.js';
import { makeTar } from '../../fixtures/tar.js';
import { gzip, writeLayout } from '../../fixtures/layout.js';
import { readBundleMeta } from '../../src/build/bundle-meta.js';
import { parseMtree, type Mtree } from '../../src/build/mtree-spec.js';
import { walkMtree } from '../../src/build/mtree-walk.js';
import { RootFS } from '../../src/fs/rootfs.js';
import { parseRootlessXattr } from '../../src/layer/ids.js';
import { hasCommand, isRoot, runCli, scratchDir } from '../helpers/cli.js';

const skipRoot = !isRoot() ? 'needs root (devices, owners)' : false;
const skipUmoci = skipRoot || (!hasCommand('umoci') ? 'umoci not installed (apt-get install umoci)' : false);

function unpackBundle(image: string, bundle: string, extra: string[] = []): void {
  const r = runCli(['unpack', ...extra, '--image', image, bundle]);
  assert.equal(r.status, 0, r.stderr);
}

function walked(bundle: string): Mtree {
  const fs = RootFS.open(join(bundle, 'rootfs'));
  try {
    return walkMtree(fs);
  } finally {
    fs.close();
  }
}

/** user.rootlesscontainers by meaning (the owner it records), not by encoding. */
function owner([k, v]: [string, string]): [string, string] {
  if (k !== 'user.rootlesscontainers') return [k, v];
  const o = parseRootlessXattr(Buffer.from(v, 'base64'));
  return [k, `${o?.uid ?? 0}:${o?.gid ?? 0}`];
}

/** Differences between two mtrees, over the keywords both entries carry (as go-mtree compares). */
function mtreeDiffs(a: Mtree, b: Mtree, ignore: (path: string, key: string) => boolean = () => false): string[] {
  const out: string[] = [];
  for (const [p, e] of a) {
    const f = b.get(p);
    if (!f) {
      out.push(`${p}: only in the first`);
      continue;
    }
    for (const k of ['type', 'mode', 'uid', 'gid', 'size', 'nlink', 'tarTime', 'link', 'sha256'] as const) {
      if (e[k] !== undefined && f[k] !== undefined && e[k] !== f[k] && !ignore(p, k)) out.push(`${p}: ${k} ${String(e[k])} != ${String(f[k])}`);
    }
    const xa = JSON.stringify([...e.xattrs].map(owner).sort());
    const xb = JSON.stringify([...f.xattrs].map(owner).sort());
    if (xa !== xb && !ignore(p, 'xattrs')) out.push(`${p}: xattrs ${xa} != ${xb}`);
  }
  for (const p of b.keys()) if (!a.has(p)) out.push(`${p}: only in the second`);
  return out;
}

test('recorded mtree equals a walk of the rootfs', { skip: skipRoot }, async (t) => {
  const dir = scratchDir('mtree-rec');
  try {
    const layout = join(dir, 'layout');
    writeRichImage(layout);
    const cases: [string, string[]][] = [
      ['root', []],
      ['rootless', ['--rootless']],
      ['id maps', ['--uid-map', '0:100000:65536', '--gid-map', '0:100000:65536']],
    ];
    for (const [name, flags] of cases) {
      await t.test(name, () => {
        const bundle = join(dir, `b-${name.replace(/ /g, '-')}`);
        unpackBundle(`${layout}:latest`, bundle, flags);
        const { mtree, meta } = readBundleMeta(bundle);
        assert.equal(meta.rootless, flags.includes('--rootless'));
        const diffs = mtreeDiffs(mtree, walked(bundle));
        assert.deepEqual(diffs, [], diffs.join('\n'));
        assert.ok(mtree.size > 30, 'the rich image has many entries');
        const f = mtree.get('etc/pair-b2')!;
        assert.equal(f.nlink, 1, 'pair-b1 got a new inode in layer 2: the link count fell back to 1');
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('sparse files: holes are hashed as the zeros they read as', { skip: skipRoot }, () => {
  const dir = scratchDir('mtree-sparse');
  try {
    const layout = join(dir, 'layout');
    const content = Buffer.concat([Buffer.from('a'), Buffer.alloc(200_000), Buffer.from('b'), Buffer.alloc(70_000)]);
    const tar = makeTar([
      { name: 'holes', content, sparse: { format: 'pax-1.0', map: [[0, 1], [200_001, 1]] } },
      { name: 'old-gnu', content, sparse: { format: 'gnu-old', map: [[0, 1], [200_001, 1]] } },
    ]);
    writeLayout(layout, { images: [{ tag: 'latest', layers: [gzip(tar)] }] });
    const bundle = join(dir, 'b');
    unpackBundle(`${layout}:latest`, bundle);
    const { mtree } = readBundleMeta(bundle);
    assert.deepEqual(mtreeDiffs(mtree, walked(bundle)), []);
    assert.equal(mtree.get('holes')!.size, content.length);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an entry through a symlinked parent: the mtree comes from a walk, still exact', { skip: skipRoot }, () => {
  const dir = scratchDir('mtree-link');
  try {
    const layout = join(dir, 'layout');
    const tar = makeTar([
      { name: 'real/', type: 'dir' },
      { name: 'alias', type: 'symlink', linkname: 'real' },
      { name: 'alias/inside', content: 'written through the link' },
    ]);
    writeLayout(layout, { images: [{ tag: 'latest', layers: [gzip(tar)] }] });
    const bundle = join(dir, 'b');
    unpackBundle(`${layout}:latest`, bundle);
    const { mtree } = readBundleMeta(bundle);
    assert.ok(mtree.has('real/inside'));
    assert.ok(!mtree.has('alias/inside'));
    assert.deepEqual(mtreeDiffs(mtree, walked(bundle)), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--no-mtree writes no bundle metadata; --force replaces stale metadata', { skip: skipRoot }, () => {
  const dir = scratchDir('mtree-none');
  try {
    const layout = join(dir, 'layout');
    writeRichImage(layout);
    const bundle = join(dir, 'b');
    unpackBundle(`${layout}:latest`, bundle, ['--no-mtree']);
    assert.deepEqual(readdirSync(bundle).sort(), ['config.json', 'rootfs']);
    unpackBundle(`${layout}:latest`, bundle, ['--force']);
    assert.equal(readdirSync(bundle).filter((n) => n.endsWith('.mtree')).length, 1);
    unpackBundle(`${layout}:latest`, bundle, ['--force', '--no-mtree']);
    assert.deepEqual(readdirSync(bundle).sort(), ['config.json', 'rootfs']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// umoci 0.4.7 leaves these directories with the time of its unpack (see unpack-umoci.test.ts).
const UMOCI_MTIME_BUGS = new Set(['.', 'var/cache', 'srv']);

test('ocibundle and umoci write the same mtree; umoci repack of our bundle adds no layer', { skip: skipUmoci }, async (t) => {
  const dir = scratchDir('mtree-umoci');
  try {
    const layout = join(dir, 'layout');
    writeRichImage(layout);
    for (const [name, flags] of [['root', []], ['rootless', ['--rootless']]] as [string, string[]][]) {
      await t.test(name, () => {
        const ours = join(dir, `ours-${name}`);
        const theirs = join(dir, `umoci-${name}`);
        unpackBundle(`${layout}:latest`, ours, flags);
        execFileSync('umoci', ['unpack', ...flags, '--image', `${layout}:latest`, theirs], { stdio: 'pipe' });
        const mtreeFile = (b: string) => join(b, readdirSync(b).find((n) => n.endsWith('.mtree'))!);
        assert.equal(readdirSync(ours).find((n) => n.endsWith('.mtree')), readdirSync(theirs).find((n) => n.endsWith('.mtree')));
        const a = parseMtree(readFileSync(mtreeFile(ours), 'utf8'));
        const b = parseMtree(readFileSync(mtreeFile(theirs), 'utf8'));
        // Directories no entry declares carry the time of each tool's own unpack.
        const implicit = new Set(['implicit', 'implicit/parents', 'new', 'new/deep', 'var', 'run', 'opt', 'absent', 'absent/dir']);
        const diffs = mtreeDiffs(a, b, (p, k) => k === 'tarTime' && (UMOCI_MTIME_BUGS.has(p) || implicit.has(p)));
        assert.deepEqual(diffs, [], diffs.join('\n'));
        const um = JSON.parse(readFileSync(join(theirs, 'umoci.json'), 'utf8'));
        const mine = JSON.parse(readFileSync(join(ours, 'umoci.json'), 'utf8'));
        assert.match(mine.ocibundle_mtree_ctime_ns, /^\d+$/, 'our one extra field (umoci ignores it)');
        delete mine.ocibundle_mtree_ctime_ns;
        assert.deepEqual(mine, um);

        execFileSync('umoci', ['repack', '--image', `${layout}:re-${name}`, ours], { stdio: 'pipe' });
        const stat = JSON.parse(execFileSync('umoci', ['stat', '--json', '--image', `${layout}:re-${name}`], { encoding: 'utf8' }));
        const last = stat.history[stat.history.length - 1];
        assert.equal(last.empty_layer, true, 'an unchanged rootfs gives no layer');
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the bundle keeps nothing else: metadata files are the mtree and umoci.json', { skip: skipRoot }, () => {
  const dir = scratchDir('mtree-files');
  try {
    const layout = join(dir, 'layout');
    writeRichImage(layout);
    const bundle = join(dir, 'b');
    unpackBundle(`${layout}:latest`, bundle);
    const names = readdirSync(bundle).sort();
    assert.equal(names.length, 4);
    assert.ok(existsSync(join(bundle, 'umoci.json')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
