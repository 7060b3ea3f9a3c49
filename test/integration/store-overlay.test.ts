// Differential tests of the layer store: the mounted rootfs of an overlay bundle, and a rootfs
// built from the store without overlay, equal the flattened unpack of the same image entry by
// entry (type, mode, owner, size, content, link target, hardlink group, device, xattrs, mtime),
// on the rich fixture image and on every image of ../shared/bench this machine has (big ones
// with OCIBUNDLE_TEST_BIG=1). Root only
// (overlay mounts); every mount is undone in finally before anything is deleted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeRichImage } from '../../fixtures/images.js';
import { diffTrees, listTree, unpackTimeDirs, type TreeEntry } from '../helpers/tree.js';
import { isRoot, scratchDir } from '../helpers/cli.js';
import { benchImages, isMountPoint, ok, unmountAllUnder } from '../helpers/store-env.js';

const skip = isRoot() ? false : 'needs root (overlay mounts, owners, devices)';

/**
 * Hardlink groups as the visible paths partition them. Overlayfs reports a lower inode's own
 * st_nlink, which still counts links a whiteout hid, so a lone survivor looks linked.
 */
function visibleLinks(tree: TreeEntry[]): TreeEntry[] {
  const size = new Map<string, number>();
  for (const e of tree) if (e.hardlinkGroup) size.set(e.hardlinkGroup, (size.get(e.hardlinkGroup) ?? 0) + 1);
  return tree.map((e) => {
    if (!e.hardlinkGroup || size.get(e.hardlinkGroup)! > 1) return e;
    const { hardlinkGroup: _, ...rest } = e;
    return rest;
  });
}

/** Flattened, from-store and overlay trees of `ref` must agree; returns the entry count. */
function compareAll(dir: string, ref: string, tag: string): number {
  const store = join(dir, 'store');
  const flat = join(dir, `${tag}-flat`);
  const copied = join(dir, `${tag}-copied`);
  const bundle = join(dir, `${tag}-overlay`);
  ok(['raw', 'unpack', '--image', ref, flat]);
  ok(['unpack', `--store=${store}`, '--overlay', '--image', ref, bundle]);
  assert.ok(isMountPoint(join(bundle, 'rootfs')), 'the overlay bundle rootfs is a mount point');
  ok(['raw', 'unpack', `--store=${store}`, '--image', ref, copied]);
  const reference = listTree(flat);
  const ignore = (p: string, f: string) => unpackTimeDirs(reference)(p, f) || (p === '.' && f === 'mtime');
  for (const [name, other] of [['overlay', join(bundle, 'rootfs')], ['from store', copied]] as const) {
    const diffs = diffTrees(visibleLinks(reference), visibleLinks(listTree(other)), ignore);
    assert.deepEqual(diffs, [], `${name} differs from the flattened unpack:\n${diffs.slice(0, 40).join('\n')}`);
  }
  ok(['umount', bundle]);
  assert.ok(!isMountPoint(join(bundle, 'rootfs')));
  return reference.length;
}

test('overlay and from-store rootfs equal the flattened unpack: rich fixture', { skip }, () => {
  const dir = scratchDir('store-rich');
  try {
    const layout = join(dir, 'rich');
    writeRichImage(layout, 'latest');
    const n = compareAll(dir, `${layout}:latest`, 'rich');
    assert.ok(n > 20, `compared ${n} entries`);
  } finally {
    unmountAllUnder(dir);
    rmSync(dir, { recursive: true, force: true });
  }
});

// big and big-zstd (700 MB each, minutes on a shared machine) only with OCIBUNDLE_TEST_BIG=1
const images = benchImages().filter((i) => process.env['OCIBUNDLE_TEST_BIG'] === '1' || !i.name.startsWith('big'));
test('overlay and from-store rootfs equal the flattened unpack: bench images', { skip: skip || (images.length === 0 ? 'no images under /tmp/ocibundle-images' : false), timeout: 3_600_000 }, async (t) => {
  for (const img of images) {
    await t.test(img.name, () => {
      const dir = scratchDir(`store-${img.name}`);
      try {
        const n = compareAll(dir, img.ref, img.name);
        t.diagnostic(`${img.name}: ${n} entries equal`);
      } finally {
        unmountAllUnder(dir);
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
