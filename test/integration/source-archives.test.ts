// Archive sources end to end through the CLI: docker-archive (legacy and blobs layouts) and
// oci-archive built from the same image as an OCI layout twin must `raw unpack` to the same
// tree; `copy` of each into an OCI layout unpacks to that tree too, passes `validate`, and
// umoci reads it. Hostile docker archives fail with one clear line and the right exit code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeArchiveTwins, hostileDockerArchives } from '../../fixtures/archives.js';
import { runCli, scratchDir, isRoot } from '../helpers/cli.js';
import { hasUmoci, runUmoci } from '../helpers/layout-env.js';
import { diffTrees, listTree, unpackTimeDirs } from '../helpers/tree.js';
import { ERROR_CODES } from '../../src/errors.js';

const root = isRoot();

test('archive sources unpack and copy to the same tree as their layout twin', { skip: !root && 'needs root (devices and owners in the rich image)' }, async (t) => {
  const dir = scratchDir('source-archives');
  try {
    const tw = writeArchiveTwins(dir);
    const ref = join(dir, 'ref');
    const r0 = runCli(['raw', 'unpack', '--image', `${tw.layout}:latest`, ref]);
    assert.equal(r0.status, 0, r0.stderr);
    const want = listTree(ref);
    assert.ok(want.length > 5, 'reference tree has entries');
    const same = (a: ReturnType<typeof listTree>, b: ReturnType<typeof listTree>) => diffTrees(a, b, unpackTimeDirs(want));
    const sources = [
      { name: 'oci-archive', src: `oci-archive:${tw.ociArchive}:latest` },
      { name: 'oci-archive without a tag', src: `oci-archive:${tw.ociArchive}` },
      { name: 'docker-archive legacy, by repo tag', src: `docker-archive:${tw.dockerLegacy}:${tw.repoTag}` },
      { name: 'docker-archive legacy, only image', src: `docker-archive:${tw.dockerLegacy}` },
      { name: 'docker-archive blobs (gzip layers)', src: `docker-archive:${tw.dockerBlobs}:${tw.repoTag}` },
    ];
    for (const [i, s] of sources.entries()) {
      await t.test(`raw unpack: ${s.name}`, () => {
        const out = join(dir, `u${i}`);
        const r = runCli(['raw', 'unpack', '--image', s.src, out]);
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(same(want, listTree(out)), []);
      });
      await t.test(`copy then unpack: ${s.name}`, () => {
        const dest = join(dir, `c${i}`);
        const r = runCli(['copy', s.src, `oci:${dest}:copied`]);
        assert.equal(r.status, 0, r.stderr);
        const v = runCli(['validate', '--layout', dest]);
        assert.equal(v.status, 0, v.stderr + v.stdout);
        const out = join(dir, `cu${i}`);
        const u = runCli(['raw', 'unpack', '--image', `${dest}:copied`, out]);
        assert.equal(u.status, 0, u.stderr);
        assert.deepEqual(same(want, listTree(out)), []);
        if (hasUmoci()) {
          const ls = runUmoci(['ls', '--layout', dest]);
          assert.equal(ls.status, 0, ls.stderr);
          assert.match(ls.stdout, /^copied$/m);
          const ub = join(dir, `umoci${i}`);
          const uu = runUmoci(['unpack', '--image', `${dest}:copied`, ub]);
          assert.equal(uu.status, 0, uu.stderr);
          rmSync(ub, { recursive: true, force: true });
        }
      });
    }
    await t.test('stat reads a docker-archive', () => {
      const r = runCli(['stat', '--json', '--image', `docker-archive:${tw.dockerLegacy}`]);
      assert.equal(r.status, 0, r.stderr);
      const st = JSON.parse(r.stdout) as { manifest: { descriptor: { mediaType: string } } };
      assert.equal(st.manifest.descriptor.mediaType, 'application/vnd.oci.image.manifest.v1+json');
    });
    await t.test('copy to an oci-archive, then unpack from it', () => {
      const file = join(dir, 'out.tar');
      const r = runCli(['copy', `docker-archive:${tw.dockerBlobs}`, `oci-archive:${file}:v2`]);
      assert.equal(r.status, 0, r.stderr);
      const out = join(dir, 'from-archive');
      const u = runCli(['raw', 'unpack', '--image', `oci-archive:${file}:v2`, out]);
      assert.equal(u.status, 0, u.stderr);
      assert.deepEqual(same(want, listTree(out)), []);
    });
    await t.test('a tag the docker-archive lacks is ENOTAG listing the available ones', () => {
      const r = runCli(['raw', 'unpack', '--image', `docker-archive:${tw.dockerLegacy}:nope:v9`, join(dir, 'x')]);
      assert.equal(r.status, ERROR_CODES.ENOTAG, r.stderr);
      assert.match(r.stderr, /ENOTAG: tag nope:v9 not found .*available: example\.com\/rich:v1/);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('hostile docker archives fail with one clear line', async (t) => {
  const dir = scratchDir('source-hostile');
  try {
    for (const [i, h] of hostileDockerArchives().entries()) {
      await t.test(h.name, () => {
        const file = join(dir, `h${i}.tar`);
        writeFileSync(file, h.bytes);
        const r = runCli(['raw', 'unpack', '--image', `docker-archive:${file}`, join(dir, `out${i}`)]);
        assert.equal(r.status, ERROR_CODES[h.code as keyof typeof ERROR_CODES], r.stderr);
        const lines = r.stderr.trim().split('\n');
        assert.equal(lines.length, 1, r.stderr);
        assert.match(lines[0]!, new RegExp(`^ocibundle: ${h.code}: `));
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
