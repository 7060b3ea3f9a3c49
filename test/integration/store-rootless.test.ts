// Rootless overlay bundles: an unprivileged user (made with useradd; CI runs as root) gets a
// one-line EUSAGE naming fuse-overlayfs when it is not installed, with nothing left behind;
// with fuse-overlayfs installed, the user's overlay bundle mounts through fuse-overlayfs and
// fusermount3, reads like the flattened rootless unpack, and unmounts. Distributions make
// /dev/fuse 0666; where it is 0600 (this machine), that run happens in a private mount
// namespace whose /dev/fuse is the same device (10:229) with mode 0666, the host's untouched.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, rmSync } from 'node:fs';
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
const fuse = !hasCommand('fuse-overlayfs')
  ? 'fuse-overlayfs not installed (apt-get install fuse-overlayfs)'
  : !existsSync('/dev/fuse')
    ? 'no /dev/fuse on this machine (the fuse module is not loaded)'
    : !hasCommand('unshare') || !hasCommand('fusermount3')
      ? 'unshare or fusermount3 is missing'
      : false;

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Runs `script` (sh) in a private mount namespace where /dev/fuse is usable by everyone, as
 * distributions ship it: a 0666 node of the same device bound over it. Root only.
 */
function withUsableFuse(dir: string, script: string): { status: number | null; stdout: string; stderr: string } {
  const dev = join(dir, 'dev');
  mkdirSync(dev);
  const setup = `mount -t tmpfs -o mode=0755 ocibundle-test ${q(dev)} && mknod -m 0666 ${q(join(dev, 'fuse'))} c 10 229 && mount --bind ${q(join(dev, 'fuse'))} /dev/fuse`;
  const r = spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', `${setup} && ${script}`], { encoding: 'utf8', timeout: 300_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

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
    const user = (argv: string[]) => `runuser -u ${TEST_USER} -- ${argv.map(q).join(' ')}`;
    // type, mode, size and link target; a directory's size is the file system's own, left out
    const listing = (p: string) => ['find', p, '-mindepth', '1', '(', '-type', 'd', '-printf', '%P %y %m\\n', ')', '-o', '-printf', '%P %y %m %s %l\\n'];
    const list = (p: string) => user(listing(p));
    const cut = '=====cut=====';
    const r = withUsableFuse(dir, [
      user([process.execPath, BIN, 'unpack', '--rootless', `--store=${store}`, '--overlay', '--image', image, bundle]),
      `grep -q ' ${join(bundle, 'rootfs')} .* - fuse.fuse-overlayfs ' /proc/self/mountinfo`,
      `echo ${cut}`,
      list(join(bundle, 'rootfs')),
      `echo ${cut}`,
      user(['sh', '-c', `echo from-the-container > ${q(join(bundle, 'rootfs', 'written'))}`]),
      `test -f ${q(join(bundle, '.ocibundle', 'upper', 'written'))}`,
      user([process.execPath, BIN, 'umount', bundle]),
      `! grep -q ' ${join(bundle, 'rootfs')} ' /proc/self/mountinfo`,
    ].join(' && '));
    assert.equal(r.status, 0, r.stderr);
    const mounted = r.stdout.split(`${cut}\n`)[1]!;
    const r2 = asUser([process.execPath, BIN, 'raw', 'unpack', '--rootless', '--image', image, flat]);
    assert.equal(r2.status, 0, r2.stderr);
    const reference = asUser(listing(flat)).stdout;
    const sorted = (t: string) => t.split('\n').filter(Boolean).sort().join('\n');
    assert.ok(sorted(reference).split('\n').length > 10, 'the listing has the image');
    assert.equal(sorted(mounted), sorted(reference));
  } finally {
    unmountAllUnder(dir);
    rmSync(dir, { recursive: true, force: true });
  }
});
