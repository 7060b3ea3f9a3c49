// The bench images as archives (../shared/bench's copies/: busybox and debian saved by
// skopeo as docker-archive and oci-archive) must raw-unpack to the same tree as their OCI
// layouts. Skips with a reason when the bench images are absent (CI does not build them).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, scratchDir, isRoot } from '../helpers/cli.js';
import { diffTrees, listTree, unpackTimeDirs } from '../helpers/tree.js';

const IMAGES = process.env['OCIBUNDLE_IMAGES'] ?? '/tmp/ocibundle-images';
const COPIES = join(IMAGES, 'copies');

for (const name of ['busybox', 'debian']) {
  const layout = join(IMAGES, name);
  const files = { docker: join(COPIES, `${name}.docker.tar`), oci: join(COPIES, `${name}.oci.tar`) };
  const absent = !existsSync(join(layout, 'index.json')) || !existsSync(files.docker) || !existsSync(files.oci);
  const skip = absent ? `bench images absent (${COPIES}; build with ../shared/bench/build-all.sh)` : !isRoot() && 'needs root';
  test(`${name}: docker-archive and oci-archive unpack like the layout`, { skip }, async (t) => {
    const dir = scratchDir(`source-bench-${name}`);
    try {
      const ref = join(dir, 'layout');
      const r0 = runCli(['raw', 'unpack', '--image', `${layout}:latest`, ref], { timeout: 120_000 });
      assert.equal(r0.status, 0, r0.stderr);
      const want = listTree(ref, { xattrs: false });
      rmSync(ref, { recursive: true, force: true });
      for (const [kind, src] of [['docker-archive', `docker-archive:${files.docker}`], ['oci-archive', `oci-archive:${files.oci}:latest`]] as const) {
        await t.test(kind, () => {
          const out = join(dir, kind);
          const r = runCli(['raw', 'unpack', '--image', src, out], { timeout: 120_000 });
          assert.equal(r.status, 0, r.stderr);
          assert.deepEqual(diffTrees(want, listTree(out, { xattrs: false }), unpackTimeDirs(want)), []);
          rmSync(out, { recursive: true, force: true });
        });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
