// A layout on a small tmpfs filled to the last byte (root only: it mounts one): the lock file
// cannot hold its owner's pid there, yet no empty lock is left behind for later commands to
// wait on, gc still runs and frees space, and a copy to a new path leaves no layout behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { addBlob, writeLayout } from '../../fixtures/layout.js';
import { runCli, tmpDir } from '../helpers/layout-env.js';
import { isRoot } from '../helpers/cli.js';
import { LOCK_NAME } from '../../src/image/store.js';

const t = tmpDir('layout-full-');
test.after(t.cleanup);

/** Writes zeros to `path` until the file system says ENOSPC. */
function fill(path: string): void {
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(4096);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
  } finally {
    closeSync(fd);
  }
}

function timed(args: string[]): { status: number | null; stderr: string; ms: number } {
  const t0 = performance.now();
  const r = runCli(args);
  return { status: r.status, stderr: r.stderr, ms: performance.now() - t0 };
}

test('a lock file that could not be written (ENOSPC) leaves no empty lock: later tag/rm/gc take ms, gc runs on a full disk', { skip: !isRoot() && 'needs root to mount a small tmpfs', timeout: 120_000 }, async () => {
  const mnt = join(t.dir, 'mnt');
  mkdirSync(mnt);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt]);
  try {
    const d = join(mnt, 'layout');
    writeLayout(d, { images: [{ tag: 'latest' }] });
    const stray = addBlob(d, Buffer.alloc(64 * 1024, 9));
    fill(join(mnt, 'filler'));
    const tag = timed(['tag', '--image', `${d}:latest`, 'v1']);
    assert.equal(tag.status, 6, 'there is no room for a new index.json');
    assert.match(tag.stderr, /^ocibundle: ENOSPC: .*no space left on device[^\n]*\n$/);
    assert.equal(existsSync(join(d, LOCK_NAME)), false, 'no lock left behind');
    const rm = timed(['rm', '--image', `${d}:nope`]);
    assert.equal(rm.status, 0, rm.stderr);
    const gc = timed(['gc', '--layout', d, '--json']);
    assert.equal(gc.status, 0, gc.stderr);
    console.log(`full disk: tag failed in ${tag.ms.toFixed(0)} ms, rm ${rm.ms.toFixed(0)} ms, gc ${gc.ms.toFixed(0)} ms (each was 10 s after an empty lock)`);
    assert.ok(rm.ms < 8000 && gc.ms < 8000, 'no 10 s wait on a lock');
    assert.equal(existsSync(join(d, 'blobs', 'sha256', stray.digest.slice(7))), false, 'gc freed the unreachable blob');
    assert.equal(existsSync(join(d, LOCK_NAME)), false);

    // a failed copy to a new path leaves no empty layout, also when the disk is full
    fill(join(mnt, 'filler2'));
    const fresh = join(mnt, 'fresh');
    const copy = timed(['copy', `${d}:latest`, `${fresh}:x`]);
    assert.equal(copy.status, 6, copy.stderr);
    assert.match(copy.stderr, /^ocibundle: ENOSPC: .*no space left on device/);
    assert.equal(existsSync(fresh), false, `no half-made layout: ${copy.stderr}`);
  } finally {
    execFileSync('umount', [mnt]);
  }
});
