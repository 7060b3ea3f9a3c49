// The mtree's file digests computed by the layer worker (off the main thread): the worker
// reports each regular file's sha256 by its entry ordinal, matching the content the fixture
// wrote (small files in one piece, files across ring pieces, sparse files, empty files left
// out); and a bundle unpacked through the worker records the same mtree as a walk of its rootfs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { openImage } from '../../src/open-image.js';
import { layerStreams } from '../../src/pipeline/layer-stream.js';
import type { FileDigestList } from '../../src/pipeline/file-digests.js';
import { readBundleMeta } from '../../src/build/bundle-meta.js';
import { walkMtree } from '../../src/build/mtree-walk.js';
import { RootFS } from '../../src/fs/rootfs.js';
import { makeTar, type FixtureEntry } from '../../fixtures/tar.js';
import { gzip, writeLayout } from '../../fixtures/layout.js';
import { isRoot, runCli, scratchDir } from '../helpers/cli.js';

const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

/** Layers over the worker threshold (random data does not compress), with every kind of file. */
function layers(): FixtureEntry[][] {
  const sparse = Buffer.concat([Buffer.from('a'), Buffer.alloc(300_000), Buffer.from('b')]);
  return [
    [
      { name: 'big1', content: randomBytes(3 * 1024 * 1024 + 7) }, // spans ring pieces (2 MiB)
      { name: 'dir/', type: 'dir' },
      ...Array.from({ length: 200 }, (_, i): FixtureEntry => ({ name: `dir/small${i}`, content: `file ${i}\n`.repeat(i) })),
      { name: 'empty', content: '' },
      { name: 'link', type: 'symlink', linkname: 'big1' },
      { name: 'hard', type: 'hardlink', linkname: 'dir/small5' },
      { name: 'holes', content: sparse, sparse: { format: 'pax-1.0', map: [[0, 1], [300_001, 1]] } },
    ],
    [
      { name: 'dir/.wh.small7', content: '' },
      { name: 'dir/small8', content: 'replaced in layer 2' },
      { name: 'big2', content: randomBytes(2 * 1024 * 1024 + 3) },
    ],
  ];
}

/** The digests a correct worker reports: ordinal -> sha256 of every non-empty regular file. */
function expected(entries: FixtureEntry[]): Map<number, string> {
  const m = new Map<number, string>();
  entries.forEach((e, i) => {
    const c = e.content ?? '';
    if ((e.type ?? 'file') === 'file' && c.length > 0) m.set(i, sha(c));
  });
  return m;
}

test('the layer worker hashes file contents by entry ordinal', async () => {
  const dir = scratchDir('mtree-worker');
  try {
    const ls = layers();
    writeLayout(join(dir, 'layout'), { images: [{ tag: 'latest', layers: ls.map((l) => gzip(makeTar(l))) }] });
    const img = await openImage(join(dir, 'layout'));
    const got = ls.map(() => new Map<number, string>());
    const s = layerStreams(img, {
      worker: true,
      fileDigests: (layer: number, list: FileDigestList) => {
        for (let i = 0; i < list.length; i += 2) got[layer]!.set(list[i] as number, list[i + 1] as string);
      },
    });
    try {
      assert.equal(s.hashesFiles, true);
      for (let i = 0; i < ls.length; i++) for await (const _ of s.layer(i)) void _;
    } finally {
      await s.close();
    }
    ls.forEach((l, i) => assert.deepEqual(got[i], expected(l), `layer ${i}`));
    const inline = layerStreams(img, { worker: false, fileDigests: () => assert.fail('inline streams hash nothing') });
    assert.equal(inline.hashesFiles, false);
    await inline.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a bundle unpacked through the worker records the mtree a walk sees', { skip: !isRoot() ? 'needs root (owners)' : false }, () => {
  const dir = scratchDir('mtree-worker-bundle');
  try {
    writeLayout(join(dir, 'layout'), { images: [{ tag: 'latest', layers: layers().map((l) => gzip(makeTar(l))) }] });
    const bundle = join(dir, 'b');
    const r = runCli(['unpack', '--image', `${join(dir, 'layout')}:latest`, bundle]);
    assert.equal(r.status, 0, r.stderr);
    const { mtree } = readBundleMeta(bundle);
    const fs = RootFS.open(join(bundle, 'rootfs'));
    const walked = (() => {
      try {
        return walkMtree(fs);
      } finally {
        fs.close();
      }
    })();
    assert.deepEqual([...mtree.keys()].sort(), [...walked.keys()].sort());
    for (const [p, e] of mtree) {
      const w = walked.get(p)!;
      assert.equal(e.sha256, w.sha256, `${p}: sha256`);
      assert.equal(e.size, w.size, `${p}: size`);
      assert.equal(e.nlink, w.nlink, `${p}: nlink`);
    }
    assert.equal(mtree.get('dir/small8')!.sha256, sha('replaced in layer 2'));
    assert.ok(!mtree.has('dir/small7'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
