// A rootfs built from the store (`raw unpack --store`, no overlay) skips copying file content a
// higher layer replaces or removes, and still equals the flattened unpack entry by entry: an
// image whose upper layers replace, white out, make opaque and retype lower paths, with a
// hardlink group whose first name is replaced above. Cold store and warm store, as root or rootless.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { gzip, makeTar, type FixtureEntry } from '../../fixtures/tar.js';
import { writeLayout } from '../../fixtures/layout.js';
import { isRoot, runCli, scratchDir } from '../helpers/cli.js';
import { diffTrees, listTree, unpackTimeDirs } from '../helpers/tree.js';

const KB = (n: number, c: string) => c.repeat(n * 1024);
const LOW: FixtureEntry[] = [
  { name: 'etc/', type: 'dir', mode: 0o755 },
  { name: 'etc/replaced', content: KB(8, 'a') },
  { name: 'etc/kept', content: KB(4, 'k') },
  { name: 'etc/whited', content: KB(8, 'w') },
  { name: 'gone/', type: 'dir', mode: 0o755 },
  { name: 'gone/deep/', type: 'dir', mode: 0o700 },
  { name: 'gone/deep/file', content: KB(16, 'g') },
  { name: 'opq/', type: 'dir', mode: 0o755 },
  { name: 'opq/old', content: KB(8, 'o') },
  { name: 'todir', content: KB(8, 't') },
  { name: 'tofile/', type: 'dir', mode: 0o755 },
  { name: 'tofile/inner', content: KB(8, 'i') },
  { name: 'links/', type: 'dir', mode: 0o755 },
  { name: 'links/first', content: KB(8, 'l') },
  { name: 'links/second', type: 'hardlink', linkname: 'links/first' },
  { name: 'keep/', type: 'dir', mode: 0o755 },
  { name: 'keep/shared', content: KB(8, 's') },
  { name: 'imp/f', content: KB(8, 'p') }, // imp/ is made up here and above
  { name: 'imp2/only', content: KB(8, 'q') }, // imp2/ is made up only for this file, whited out above
  { name: 'imp3/sub/f', content: KB(8, 'r') }, // made up; the file replaced above, imp3/sub kept
];
const MID: FixtureEntry[] = [
  { name: 'etc/replaced', content: KB(4, 'b') },
  { name: 'etc/.wh.whited', content: '' },
  { name: '.wh.gone', content: '' },
  { name: 'opq/', type: 'dir', mode: 0o750 },
  { name: 'opq/.wh..wh..opq', content: '' },
  { name: 'opq/new', content: 'new\n' },
  { name: 'todir/', type: 'dir', mode: 0o755 },
  { name: 'todir/x', content: 'x\n' },
  { name: 'tofile', content: KB(2, 'f') },
  { name: 'links/first', content: 'replaced first\n' },
  { name: 'gone/', type: 'dir', mode: 0o755 },
  { name: 'gone/again', content: KB(8, 'r') },
  { name: 'imp/f', content: 'imp\n' },
  { name: '.wh.imp2', content: '' },
];
const TOP: FixtureEntry[] = [
  { name: 'etc/replaced', content: 'top\n' },
  { name: 'keep/shared', content: KB(1, 'z') },
  { name: 'keep/link-to-shared', type: 'hardlink', linkname: 'keep/shared' },
  { name: 'imp3/sub/f', content: 'top\n' },
];

const skipRoot = isRoot() ? [] : ['--rootless'];
let dir = '';
let image = '';
before(() => {
  dir = scratchDir('store-copy');
  writeLayout(join(dir, 'img'), { images: [{ tag: 'latest', layers: [LOW, MID, TOP].map((l) => gzip(makeTar(l))) }] });
  image = `${join(dir, 'img')}:latest`;
});
after(() => rmSync(dir, { recursive: true, force: true }));

function json(args: string[]): { store?: { copiedBytes?: number; skippedBytes?: number; skippedEntries?: number; layers: string[] } } {
  const r = runCli([...args, '--json']);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as { store?: { copiedBytes?: number; skippedBytes?: number; skippedEntries?: number; layers: string[] } };
}

test('a rootfs from the store skips hidden content and equals the flattened unpack', async (t) => {
  const flat = join(dir, 'flat');
  json(['raw', 'unpack', ...skipRoot, '--image', image, flat]);
  const reference = listTree(flat);
  const ignore = (p: string, f: string) => unpackTimeDirs(reference)(p, f) || (p === '.' && f === 'mtime');
  const store = join(dir, 'store');
  for (const [name, want] of [['cold store', 'extracted'], ['warm store', 'hit']] as const) {
    await t.test(name, () => {
      const out = join(dir, name.replace(' ', '-'));
      const s = json(['raw', 'unpack', ...skipRoot, `--store=${store}`, '--image', image, out]).store!;
      assert.deepEqual(s.layers, [want, want, want]);
      // hidden: etc/replaced twice (8 KiB + 4 KiB), etc/whited 8, gone/deep/file 16, opq/old 8,
      // todir 8, tofile/inner 8, keep/shared 8, imp/f, imp2/only, imp3/sub/f 8 each; links/first
      // is replaced but links/second keeps it
      assert.equal(s.skippedBytes, (8 + 4 + 8 + 16 + 8 + 8 + 8 + 8 + 24) * 1024);
      // those 11 files and the directories gone/deep/ (gone/ is whited out and made again, so an
      // opaque gone/ merges with the lower one) and tofile/ (now a file)
      assert.equal(s.skippedEntries, 13);
      const diffs = diffTrees(reference, listTree(out), ignore);
      assert.deepEqual(diffs, [], diffs.slice(0, 30).join('\n'));
    });
  }
});
