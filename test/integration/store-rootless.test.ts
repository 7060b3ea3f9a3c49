// Rootless overlay bundles: an unprivileged user (made with useradd; CI runs as root) gets a
// one-line EUSAGE naming fuse-overlayfs when it is not installed, with nothing left behind;
// where fuse-overlayfs is installed and /dev/fuse is usable by the user, the user's overlay
// bundle mounts, reads like the flattened rootless unpack, and unmounts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeRichImage } from '../../fixtures/images.js';
import { BIN, hasCommand, isRoot, scratchDir } from '../helpers/cli.js';
import { unmountAllUnder } from '../helpers/store-env.js';
import { asUser, TEST_USER, testUser } from '../helpers/test-user.js';

function whyNot(): string | false {
  if (!isRoot()) return 'needs root to create and switch to the unprivileged test user';
  if (!hasCommand('runuser') || !hasCommand('useradd')) return 'runuser or useradd is missing';
  const u = testUser();
  if (typeof u === 'string') return u;
  if (asUser([process.execPath, BIN, '--version']).status !== 0) return `${TEST_USER} cannot run this checkout (a 0700 parent directory)`;
  return false;
}
const skip = whyNot();
const fuse = !hasCommand('fuse-overlayfs') ? 'fuse-overlayfs not installed (apt-get install fuse-overlayfs)' : asUser(['sh', '-c', 'test -r /dev/fuse -a -w /dev/fuse']).status !== 0 ? `/dev/fuse is not usable by ${TEST_USER} on this machine` : false;

function area(): { dir: string; work: string; image: string } {
  const ids = testUser() as { uid: number; gid: number };
  const dir = scratchDir('store-rootless');
  chmodSync(dir, 0o711);
  const layout = join(dir, 'rich');
  writeRichImage(layout, 'latest');
  spawnSync('chmod', ['-R', 'a+rX', layout]);
  const work = join(dir, 'work');
  mkdirSync(work, { mode: 0o700 });
  chownSync(work, ids.uid, ids.gid);
  return { dir, work, image: `${layout}:latest` };
}

test('rootless --overlay without fuse-overlayfs: one line naming it, nothing left', { skip }, () => {
  const { dir, work, image } = area();
  try {
    const env = ['env', 'PATH=/nonexistent', `XDG_CACHE_HOME=${join(work, 'cache')}`];
    const r = asUser([...env, process.execPath, BIN, 'unpack', '--rootless', '--store', '--overlay', '--image', image, join(work, 'bundle')]);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /^ocibundle: EUSAGE: .*fuse-overlayfs \(Debian package fuse-overlayfs\)/);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.ok(!existsSync(join(work, 'bundle')), 'no bundle left');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('rootless overlay bundle through fuse-overlayfs equals the flattened rootless unpack', { skip: skip || fuse }, () => {
  const { dir, work, image } = area();
  try {
    const store = join(work, 'store');
    const bundle = join(work, 'bundle');
    const flat = join(work, 'flat');
    const r1 = asUser([process.execPath, BIN, 'unpack', '--rootless', `--store=${store}`, '--overlay', '--image', image, bundle]);
    assert.equal(r1.status, 0, r1.stderr);
    const r2 = asUser([process.execPath, BIN, 'raw', 'unpack', '--rootless', '--image', image, flat]);
    assert.equal(r2.status, 0, r2.stderr);
    const list = (p: string) => asUser(['find', p, '-mindepth', '1', '-printf', '%P %y %m %s\\n']).stdout.split('\n').sort().join('\n');
    assert.equal(list(join(bundle, 'rootfs')), list(flat));
    const u = asUser([process.execPath, BIN, 'umount', bundle]);
    assert.equal(u.status, 0, u.stderr);
    assert.deepEqual(readdirSync(join(bundle, 'rootfs')), []);
  } finally {
    unmountAllUnder(dir);
    rmSync(dir, { recursive: true, force: true });
  }
});

