// shadowedEntries: which file contents of a layer stack a higher layer hides (so a rootfs built
// from the store need not copy them), and which it must keep: a table of small stacks.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LayerManifest, ManifestEntry } from '../../src/store/manifest.js';
import { shadowedEntries } from '../../src/store/shadowed.js';

const OPQ = 'trusted.overlay.opaque';
const file = (p: string, s = 4, more: Partial<ManifestEntry> = {}): ManifestEntry => ({ p, k: 'file', m: 0o644, u: 0, g: 0, s, t: '0.0', ...more });
const dir = (p: string, more: Partial<ManifestEntry> = {}): ManifestEntry => ({ p, k: 'dir', m: 0o755, u: 0, g: 0, s: 0, t: '0.0', ...more });
const whiteout = (p: string): ManifestEntry => ({ p, k: 'char', m: 0, u: 0, g: 0, s: 0, t: '0.0', d: '0:0' });
const symlink = (p: string, l: string): ManifestEntry => ({ p, k: 'symlink', m: 0o777, u: 0, g: 0, s: l.length, t: '0.0', l });
const opaque = (p: string): ManifestEntry => dir(p, { x: { [OPQ]: 'eQ==' } });
const layer = (entries: ManifestEntry[], implicit: string[] = []): LayerManifest => ({ version: 1, diffId: 'sha256:x', implicit, rootDeclared: false, entries });

const cases: { name: string; layers: LayerManifest[]; want: string[][]; keepDirlinks?: boolean }[] = [
  { name: 'a single layer hides nothing', layers: [layer([dir('a'), file('a/f')])], want: [[]] },
  { name: 'the same path in a higher layer', layers: [layer([file('f'), file('g')]), layer([file('f')])], want: [['f'], []] },
  { name: 'a whiteout of the file', layers: [layer([file('f'), file('g')]), layer([whiteout('f')])], want: [['f'], []] },
  { name: 'a whiteout of an ancestor directory', layers: [layer([dir('d'), dir('d/e'), file('d/e/f'), file('x')]), layer([whiteout('d')])], want: [['d', 'd/e', 'd/e/f'], []] },
  { name: 'an opaque directory above', layers: [layer([dir('d'), file('d/f'), file('e')]), layer([opaque('d'), file('d/new')])], want: [['d/f'], []] },
  { name: 'an opaque root hides every lower file', layers: [layer([file('a'), dir('b'), file('b/c')]), layer([dir('.', { x: { [OPQ]: 'eQ==' } }), file('z')])], want: [['a', 'b', 'b/c'], []] },
  { name: 'a directory replaced by a file or symlink', layers: [layer([dir('d'), file('d/f'), dir('s'), file('s/g')]), layer([file('d'), symlink('s', '/x')])], want: [['d', 'd/f', 's', 's/g'], []] },
  { name: 'a file replaced by a directory', layers: [layer([file('p')]), layer([dir('p'), file('p/q')])], want: [['p'], []] },
  { name: 'an implicit parent in a higher layer hides nothing', layers: [layer([dir('d'), file('d/f')]), layer([dir('d'), file('d/g')], ['d'])], want: [[], []] },
  { name: 'an implicit directory at a file path is left to the applier', layers: [layer([file('p')]), layer([dir('p'), file('p/q')], ['p'])], want: [[], []] },
  { name: 'a hardlinked file keeps its content', layers: [layer([file('a'), file('b', 4, { n: 'a' })]), layer([file('a')])], want: [[], []] },
  { name: 'a file a higher layer links to keeps its content', layers: [layer([file('a'), file('c')]), layer([file('c'), file('x', 4, { n: 'a' })]), layer([file('a')])], want: [['c'], [], []] },
  { name: 'an empty file, a symlink, a device replaced at the same path', layers: [layer([file('e', 0), symlink('l', 'x'), { p: 'c', k: 'char', m: 0o600, u: 0, g: 0, s: 0, t: '0.0', d: '1:3' }]), layer([file('e'), file('l'), whiteout('c')])], want: [['c', 'e', 'l'], []] },
  { name: 'a directory under a higher directory merges', layers: [layer([dir('d', { m: 0o700 }), file('d/f')]), layer([dir('d'), file('d/g')])], want: [[], []] },
  { name: 'a directory under a higher opaque one merges, its content is hidden', layers: [layer([dir('d'), dir('d/e'), file('d/e/f')]), layer([opaque('d')])], want: [['d/e', 'd/e/f'], []] },
  { name: 'a linked file under a removed directory is kept, the directory is not', layers: [layer([dir('d'), file('d/f'), file('g', 4, { n: 'd/f' })]), layer([whiteout('d')])], want: [['d'], []] },
  { name: 'removed two layers up, re-created in between', layers: [layer([file('f')]), layer([file('f')]), layer([whiteout('f')])], want: [['f'], ['f'], []] },
  { name: 'a sibling with a common prefix is not an ancestor', layers: [layer([dir('ab'), file('ab/f')]), layer([whiteout('a')])], want: [[], []] },
  { name: 'a symlink under a higher directory is replaced', layers: [layer([symlink('a', 'b'), dir('b')]), layer([dir('a'), file('a/x')])], want: [['a'], []] },
  { name: 'with --keep-dirlinks the symlink stays', keepDirlinks: true, layers: [layer([symlink('a', 'b'), dir('b')]), layer([dir('a'), file('a/x')])], want: [[], []] },
  { name: 'with --keep-dirlinks a symlink under a higher file is still replaced', keepDirlinks: true, layers: [layer([symlink('a', 'b')]), layer([file('a')])], want: [['a'], []] },
  { name: 'the top layer is never hidden', layers: [layer([file('f')]), layer([file('f'), file('g')])], want: [['f'], []] },
];

test('shadowedEntries', async (t) => {
  for (const c of cases) {
    await t.test(c.name, () => {
      assert.deepEqual(shadowedEntries(c.layers, OPQ, c.keepDirlinks ?? false).map((s) => [...s].sort()), c.want);
    });
  }
});
