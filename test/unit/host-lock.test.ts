// The lock file and the temp-file helper: an empty or garbage lock whose creator is gone costs
// milliseconds, a live holder that could not write its pid still holds, a lock path that is a
// FIFO or a symlink is ELOCK at once (never read, never followed); temp names carry the pid,
// are created exclusively without following planted names, and only dead owners' are cleared.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { acquireLock, tryLockSync } from '../../src/host/lock.js';
import { CREATE_EXCL, clearDeadTemps, createTempDirSync, createTempFile, parseTempName, tempName } from '../../src/host/temp.js';
import { rejectsWith, tmpDir } from '../helpers/layout-env.js';

const t = tmpDir('host-lock-');
let n = 0;
const fresh = () => {
  const d = join(t.dir, `d${++n}`);
  mkdirSync(d);
  return d;
};
// above any pid_max, so kill(pid, 0) says ESRCH
const DEAD_PID = 99999999;

test.after(t.cleanup);

const staleLocks: [string, string][] = [
  ['an empty lock whose creator is gone costs the next command a few ms', ''],
  ['an unreadable (garbage) lock whose creator is gone costs a few ms', '\u0000\u0001 not a token'],
  ['a lock naming a dead pid costs a few ms', `${DEAD_PID} somehost 1 abc\n`],
];
for (const [name, text] of staleLocks) {
  test(name, async () => {
    const lock = join(fresh(), 'x.lock');
    writeFileSync(lock, text);
    const t0 = performance.now();
    const release = await acquireLock(lock, 30_000);
    const ms = performance.now() - t0;
    console.log(`${name}: taken after ${ms.toFixed(1)} ms`);
    assert.ok(ms < 2000, `took ${ms} ms (was 10 s before the flock rule)`);
    assert.match(readFileSync(lock, 'utf8'), new RegExp(`^${process.pid} `));
    await release();
    assert.equal(existsSync(lock), false);
  });
}

test('a live holder whose lock stayed empty (no space for its pid) still holds the lock', async () => {
  const lock = join(fresh(), 'x.lock');
  const release = await acquireLock(lock);
  truncateSync(lock, 0);
  await rejectsWith(acquireLock(lock, 200), 'ELOCK', /wrote no pid/);
  await release();
  const again = await acquireLock(lock, 1000);
  await again();
});

test('the layout lock file path replaced by a FIFO is ELOCK at once, not a hang', { timeout: 20_000 }, async () => {
  const lock = join(fresh(), 'x.lock');
  execFileSync('mkfifo', [lock]);
  const t0 = performance.now();
  await rejectsWith(acquireLock(lock), 'ELOCK', /is a fifo/);
  assert.ok(performance.now() - t0 < 5000);
});

test('a lock path that is a symlink is ELOCK and its target is not touched', async () => {
  const d = fresh();
  const victim = join(d, 'victim');
  writeFileSync(victim, 'canary');
  symlinkSync(victim, join(d, 'x.lock'));
  await rejectsWith(acquireLock(join(d, 'x.lock'), 500), 'ELOCK', /symlink/);
  assert.equal(readFileSync(victim, 'utf8'), 'canary');
});

test('a free lock is taken at once without waiting; a held one is left to acquireLock', async () => {
  const lock = join(fresh(), 'x.lock');
  const release = tryLockSync(lock);
  assert.ok(release, 'free: taken');
  assert.match(readFileSync(lock, 'utf8'), new RegExp(`^${process.pid} `), 'with the owner token');
  assert.equal(tryLockSync(lock), null, 'held: not taken, and not waited for');
  let second = false;
  const waiting = acquireLock(lock, 30_000).then((r) => {
    second = true;
    return r;
  });
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(second, false, 'acquireLock waits for the holder');
  await release!();
  const next = await waiting;
  assert.equal(existsSync(lock), true, 'the waiter took it over');
  await next();
  assert.equal(existsSync(lock), false, 'released: the file is gone');
});

test('temp names carry the owner pid and are random', () => {
  const a = tempName('blob');
  assert.notEqual(a, tempName('blob'));
  assert.deepEqual(parseTempName(a), { kind: 'blob', pid: process.pid });
  assert.equal(parseTempName('.ocibundle-index.lock'), undefined);
  assert.equal(parseTempName('sha256'), undefined);
});

test('temp files never open a planted name: O_CREAT|O_EXCL|O_NOFOLLOW refuses a symlink there', async () => {
  const d = fresh();
  const victim = join(d, 'victim');
  writeFileSync(victim, 'canary');
  const planted = join(d, tempName('archive'));
  symlinkSync(victim, planted);
  assert.throws(() => openSync(planted, CREATE_EXCL, 0o644), { code: 'EEXIST' });
  const { path, fh } = await createTempFile(d, 'archive');
  await fh.writeFile('new');
  await fh.close();
  assert.notEqual(path, planted);
  assert.equal(readFileSync(victim, 'utf8'), 'canary');
});

test('clearing temps removes dead owners only, never follows a symlinked temp dir', async () => {
  const d = fresh();
  const outside = join(fresh(), 'outside');
  mkdirSync(outside);
  writeFileSync(join(outside, 'canary'), 'x');
  const deadFile = `.ocibundle-blob-${DEAD_PID}-ab12.tmp`;
  const deadDir = `.ocibundle-archive-${DEAD_PID}-cd34.tmp`;
  const deadLink = `.ocibundle-rootfs-${DEAD_PID}-ef56.tmp`;
  const deadPin = `.ocibundle-pin-${DEAD_PID}-aa11.tmp`;
  writeFileSync(join(d, deadFile), '');
  mkdirSync(join(d, deadDir));
  writeFileSync(join(d, deadDir, 'inner'), 'x');
  symlinkSync(outside, join(d, deadLink));
  writeFileSync(join(d, deadPin), '');
  const live = createTempDirSync(d, 'archive');
  writeFileSync(join(d, 'unrelated.tmp'), '');
  const removed = await clearDeadTemps(d);
  assert.deepEqual(new Set(removed), new Set([deadFile, deadDir, deadLink]));
  assert.ok(existsSync(live));
  assert.ok(existsSync(join(d, 'unrelated.tmp')));
  assert.ok(existsSync(join(d, deadPin)), 'pins have their own rule (flock), not the pid rule');
  assert.equal(readFileSync(join(outside, 'canary'), 'utf8'), 'x');
});
