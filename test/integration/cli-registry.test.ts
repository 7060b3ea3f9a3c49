// The whole seed workflow through the CLI against Debian's docker-registry on 127.0.0.1:
// `copy docker://... oci:DIR:TAG` then `unpack --image DIR:TAG`, and `unpack` straight from
// docker://, giving the same rootfs as the layout the image was pushed from; with basic auth,
// the password never appears on stderr.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeRichImage } from '../../fixtures/images.js';
import { haveHtpasswd, haveRegistry, pushImage, startRegistry, type RunningRegistry } from '../helpers/registry-server.js';
import { diffTrees, listTree, unpackTimeDirs } from '../helpers/tree.js';
import { isRoot, runCli, scratchDir } from '../helpers/cli.js';

const skip = !haveRegistry ? 'docker-registry not installed (apt-get install docker-registry)' : !haveHtpasswd ? 'htpasswd not installed (apt-get install apache2-utils)' : !isRoot() ? 'needs root (owners, devices)' : false;
const USER = 'alice';
const PASS = 's3cret-Pa55';

test('copy and unpack from a registry through the CLI', { skip }, async (t) => {
  const dir = scratchDir('cli-registry');
  let reg: RunningRegistry | undefined;
  try {
    const layout = join(dir, 'src');
    const built = writeRichImage(layout, 'v1');
    reg = await startRegistry(join(dir, 'reg'), { user: USER, pass: PASS });
    const auth = `Basic ${Buffer.from(`${USER}:${PASS}`).toString('base64')}`;
    const img = built.images[0]!;
    await pushImage(reg.host, layout, 'team/rich', img.manifest.digest, img.manifest.mediaType, 'v1', auth);
    const name = `docker://${reg.host}/team/rich:v1`;
    const creds = ['--tls-verify=false', '--creds', `${USER}:${PASS}`];
    const base = join(dir, 'base');
    assert.equal(runCli(['raw', 'unpack', '--image', `${layout}:v1`, base]).status, 0);
    const reference = listTree(base);
    const implicit = unpackTimeDirs(reference);

    await t.test('copy docker:// -> oci:, then unpack the copy', () => {
      const r = runCli(['copy', ...creds, name, `oci:${join(dir, 'copy')}:latest`]);
      assert.equal(r.status, 0, r.stderr);
      const u = runCli(['raw', 'unpack', '--image', `${join(dir, 'copy')}:latest`, join(dir, 'from-copy')]);
      assert.equal(u.status, 0, u.stderr);
      assert.deepEqual(diffTrees(reference, listTree(join(dir, 'from-copy')), implicit), []);
    });
    await t.test('unpack straight from docker://', () => {
      const u = runCli(['unpack', ...creds, '--image', name, join(dir, 'bundle')]);
      assert.equal(u.status, 0, u.stderr);
      assert.deepEqual(diffTrees(reference, listTree(join(dir, 'bundle', 'rootfs')), implicit), []);
    });
    await t.test('a wrong password: exit 3, one line, no secret', () => {
      const r = runCli(['unpack', '--tls-verify=false', '--creds', `${USER}:wrong-${PASS}`, '--image', name, join(dir, 'b2')]);
      assert.equal(r.status, 3);
      assert.match(r.stderr, /^ocibundle: EAUTH: /);
      assert.equal(r.stderr.trim().split('\n').length, 1);
      assert.ok(!r.stderr.includes(PASS), 'the password is not printed');
    });
    await t.test('--cache-dir: a second pull takes the layers from the cache', () => {
      const cache = join(dir, 'cache');
      const first = runCli(['raw', 'unpack', ...creds, '--cache-dir', cache, '--image', name, join(dir, 'c1')]);
      assert.equal(first.status, 0, first.stderr);
      // Take the layer blobs away from the registry's storage (manifest and config stay).
      for (const l of img.layers) {
        const hex = l.digest.slice('sha256:'.length);
        rmSync(join(dir, 'reg', 'data', 'docker', 'registry', 'v2', 'blobs', 'sha256', hex.slice(0, 2), hex), { recursive: true, force: true });
      }
      const second = runCli(['raw', 'unpack', ...creds, '--cache-dir', cache, '--image', name, join(dir, 'c2')]);
      assert.equal(second.status, 0, second.stderr);
      assert.deepEqual(diffTrees(reference, listTree(join(dir, 'c2')), implicit), []);
      const uncached = runCli(['raw', 'unpack', ...creds, '--image', name, join(dir, 'c3')]);
      assert.notEqual(uncached.status, 0, 'without the cache the layers are gone');
    });
  } finally {
    await reg?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
