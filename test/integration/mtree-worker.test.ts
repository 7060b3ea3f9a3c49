// The mtree of a bundle unpacked through the layer worker, whose file digests are taken where
// each file is written (small files in the one-call native write, files from 1 MiB on the
// writer thread, files across ring pieces on the main thread, sparse files with their holes),
// records the same tree as a walk of its rootfs: with native hashing and with the JS fallback
// (OCIBUNDLE_NATIVE_SHA256=0).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { readBundleMeta } from '../../src/build/bundle-meta.js';
import { walkMtree } from '../../src/build/mtree-walk.js';
import { RootFS } from '../../src/fs/rootfs.js';
import { makeTar, type FixtureEntry } from '../../fixtures/tar.js';
import { gzip, writeLayout } from '../../fixtures/layout.js';
import { isRoot, runCli, scratchDir } from '../helpers/cli.js';

const MiB = 1024 * 1024;
const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

/** Layers over the worker threshold (random data does not compress), with every kind of file. */
function layers(): FixtureEntry[][] {
  const sparse = Buffer.concat([Buffer.from('a'), Buffer.alloc(300_000), Buffer.from('b')]);
  const bigSparse = Buffer.concat([randomBytes(10), Buffer.alloc(2 * MiB), randomBytes(5), Buffer.alloc(MiB)]);
  return [
    [
      { name: 'big1', content: randomBytes(3 * 1024 * 1024 + 7) }, // spans ring pieces (2 MiB)
      { name: 'dir/', type: 'dir' },
      ...Array.from({ length: 200 }, (_, i): FixtureEntry => ({ name: `dir/small${i}`, content: `file ${i}\n`.repeat(i) })),
      { name: 'empty', content: '' },
      { name: 'link', type: 'symlink', linkname: 'big1' },
      { name: 'hard', type: 'hardlink', linkname: 'dir/small5' },
      { name: 'holes', content: sparse, sparse: { format: 'pax-1.0', map: [[0, 1], [300_001, 1]] } },
      // from 1 MiB on the writer thread hashes: holes inside and at the end, a hardlink made before its digest is in
      { name: 'big-holes', content: bigSparse, sparse: { format: 'pax-1.0', map: [[0, 10], [2 * MiB + 10, 5]] } },
      { name: 'big-hard', type: 'hardlink', linkname: 'big1' },
    ],
    [
      { name: 'dir/.wh.small7', content: '' },
      { name: 'dir/small8', content: 'replaced in layer 2' },
      { name: 'big2', content: randomBytes(2 * 1024 * 1024 + 3) },
    ],
  ];
}

const hashing = [
  { name: 'native hashing', env: {} },
  { name: 'JS hashing (OCIBUNDLE_NATIVE_SHA256=0)', env: { OCIBUNDLE_NATIVE_SHA256: '0' } },
];

for (const h of hashing) test(`a bundle unpacked through the worker records the mtree a walk sees: ${h.name}`, { skip: !isRoot() ? 'needs root (owners)' : false }, () => {
  const dir = scratchDir('mtree-worker-bundle');
  try {
    writeLayout(join(dir, 'layout'), { images: [{ tag: 'latest', layers: layers().map((l) => gzip(makeTar(l))) }] });
    const bundle = join(dir, 'b');
    const r = runCli(['unpack', '--image', `${join(dir, 'layout')}:latest`, bundle], { env: { ...process.env, ...h.env } });
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
    assert.equal(mtree.get('hard')!.sha256, mtree.get('dir/small5')!.sha256);
    assert.equal(mtree.get('big-hard')!.sha256, mtree.get('big1')!.sha256);
    assert.equal(mtree.get('big-hard')!.nlink, 2);
    assert.ok(!mtree.has('dir/small7'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
