// The host-path guard (src/host/guard.ts) on its own: the checks refuse without touching
// anything, so even `/` is safe to ask about here. Also: the dead-temp clearing of
// src/host/temp.ts leaves a stale temp name alone when the guard refuses it (a mount point).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { assertOutsideSources, assertPathArg, assertReplaceable, hostPath, isMountPoint, isWithinHost } from '../../src/host/guard.js';
import { clearDeadTemps } from '../../src/host/temp.js';

function scratch(): string {
  return mkdtempSync(join('/dev/shm', 'ocibundle-guard-'));
}

test('guard: refusals, named after the case', async (t) => {
  const dir = scratch();
  const oldHome = process.env['HOME'];
  try {
    mkdirSync(join(dir, 'home', 'me'), { recursive: true });
    mkdirSync(join(dir, 'layout', 'blobs'), { recursive: true });
    mkdirSync(join(dir, 'other'));
    writeFileSync(join(dir, 'other', 'oci-layout'), '{}');
    symlinkSync(join(dir, 'layout'), join(dir, 'link-to-layout'));
    process.env['HOME'] = join(dir, 'home', 'me');
    const cases: [string, () => void, RegExp | null][] = [
      ['empty path', () => assertPathArg('', 'rootfs'), /cannot be empty/],
      ["'-'", () => assertPathArg('-', 'rootfs'), /cannot be empty or '-'/],
      ['/', () => assertReplaceable('/', { what: 'rootfs' }), /root directory/],
      ['the cwd', () => assertReplaceable(process.cwd(), { what: 'rootfs' }), /current directory/],
      ['an ancestor of the cwd', () => assertReplaceable(join(process.cwd(), '..'), { what: 'rootfs' }), /current directory/],
      ['$HOME', () => assertReplaceable(join(dir, 'home', 'me'), { what: 'rootfs' }), /\$HOME/],
      ['an ancestor of $HOME', () => assertReplaceable(join(dir, 'home'), { what: 'rootfs' }), /\$HOME/],
      ['a mount point', () => assertReplaceable('/proc', { what: 'rootfs' }), /mount point|current directory/],
      ['the source', () => assertReplaceable(join(dir, 'layout'), { what: 'rootfs', sources: [join(dir, 'layout')] }), /overlaps the image source/],
      ['inside the source', () => assertReplaceable(join(dir, 'layout', 'blobs'), { what: 'rootfs', sources: [join(dir, 'layout')] }), /overlaps/],
      ['contains the source (an archive file)', () => assertReplaceable(join(dir, 'other'), { what: 'rootfs', sources: [join(dir, 'other', 'oci-layout')] }), /overlaps/],
      ['the source named through a symlink', () => assertReplaceable(join(dir, 'layout'), { what: 'rootfs', sources: [join(dir, 'link-to-layout')] }), /overlaps/],
      ['a layout', () => assertReplaceable(join(dir, 'other'), { what: 'rootfs', notLayout: true }), /looks like an OCI layout/],
      ['writing inside the source', () => assertOutsideSources(join(dir, 'layout', 'new'), 'rootfs', [join(dir, 'layout')]), /inside the image source/],
      ['a symlink to the source is only a link: allowed', () => assertReplaceable(join(dir, 'link-to-layout'), { what: 'rootfs', sources: [join(dir, 'layout')] }), null],
      ['a plain directory: allowed', () => assertReplaceable(join(dir, 'other'), { what: 'rootfs' }), null],
    ];
    for (const [name, run, re] of cases) {
      await t.test(name, () => {
        if (re === null) run();
        else assert.throws(run, (e: { code?: string; message?: string }) => (e.code === 'EUSAGE' || e.code === 'EEXIST') && re.test(e.message ?? ''));
      });
    }
  } finally {
    if (oldHome === undefined) delete process.env['HOME'];
    else process.env['HOME'] = oldHome;
    rmSync(dir, { recursive: true, force: true });
  }
});

test('guard helpers: path containment, final symlinks kept, mount points', () => {
  assert.ok(isWithinHost('/a/b', '/a'));
  assert.ok(isWithinHost('/a', '/a'));
  assert.ok(!isWithinHost('/ab', '/a'));
  assert.ok(isWithinHost('/anything', '/'));
  const dir = scratch();
  try {
    symlinkSync('/', join(dir, 'root-link'));
    assert.equal(hostPath(join(dir, 'root-link')), join(dir, 'root-link'), 'a final symlink is not followed');
    assert.equal(hostPath(join(dir, 'root-link', 'x')), '/x', 'a symlinked parent is');
    assert.ok(isMountPoint('/proc'));
    assert.ok(isMountPoint('/'));
    assert.ok(!isMountPoint(dir));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('clearDeadTemps leaves a dead temp dir that is a mount point, removes one that is not', { skip: process.getuid?.() !== 0 && 'needs root (tmpfs mount)' }, async () => {
  const dir = scratch();
  const dead = spawnSync('true').pid!;
  const mounted = join(dir, `.ocibundle-rootfs-${dead}-aaaa.tmp`);
  const plain = join(dir, `.ocibundle-rootfs-${dead}-bbbb.tmp`);
  mkdirSync(mounted);
  mkdirSync(plain);
  assert.equal(spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mounted]).status, 0);
  try {
    writeFileSync(join(mounted, 'canary'), 'x');
    const removed = await clearDeadTemps(dir);
    assert.deepEqual(removed, [`.ocibundle-rootfs-${dead}-bbbb.tmp`]);
    assert.ok(existsSync(join(mounted, 'canary')), 'the mounted file system keeps its files');
  } finally {
    spawnSync('umount', [mounted]);
    rmSync(dir, { recursive: true, force: true });
  }
});
