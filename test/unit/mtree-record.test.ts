// The mtree recorder's compact model against the plain Map model the formatter also takes:
// for each sequence of applier events (puts, directories over directories, hardlinks and
// their counts, removals of trees, implicit directories, files replaced), the recorded
// model gives the same entries by path and the same mtree text as the expected Map; sizes
// and link counts past their compact slots too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EMPTY_SHA256, MtreeRecorder } from '../../src/build/mtree-record.js';
import { formatMtree, type Mtree, type MtreeEntry } from '../../src/build/mtree-spec.js';
import { RootFS } from '../../src/fs/rootfs.js';
import type { Applied } from '../../src/layer/observer.js';

const T = { sec: 1700000000, nsec: 5 };
const NOX = new Map<string, Buffer>();
const dir = (mode = 0o755, xattrs = NOX): Applied => ({ kind: 'dir', mode, uid: 0, gid: 0, mtime: T, xattrs });
const file = (size: number, uid = 0): Applied => ({ kind: 'file', mode: 0o644, uid, gid: 0, mtime: T, xattrs: NOX, size });
const sym = (link: string): Applied => ({ kind: 'symlink', mode: 0o777, uid: 0, gid: 0, mtime: T, xattrs: NOX, link });
const fifo: Applied = { kind: 'fifo', mode: 0o600, uid: 0, gid: 0, mtime: T, xattrs: NOX };

const D = (mode = 0o755, xattrs = new Map<string, string>()): MtreeEntry => ({ type: 'dir', mode, uid: 0, gid: 0, tarTime: T.sec, xattrs });
const F = (size: number, sha256: string, nlink = 1, uid = 0): MtreeEntry => ({ type: 'file', mode: 0o644, uid, gid: 0, tarTime: T.sec, xattrs: new Map(), nlink, size, sha256 });

type Event = ['put', string, Applied, string?] | ['link', string, string] | ['remove', string] | ['implicit', string];

const hello = Buffer.from('hello\n');
const helloSha = '5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03';

const cases: [string, Event[], [string, MtreeEntry][]][] = [
  ['files, a symlink and a fifo', [['put', '.', dir(0o700)], ['put', 'etc', dir()], ['put', 'etc/hosts', file(6), 'hello'], ['put', 'etc/empty', file(0)], ['put', 'etc/link', sym('hosts')], ['put', 'etc/p', fifo]], [
    ['.', D(0o700)], ['etc', D()], ['etc/hosts', F(6, helloSha)], ['etc/empty', F(0, EMPTY_SHA256)],
    ['etc/link', { type: 'link', mode: 0o777, uid: 0, gid: 0, tarTime: T.sec, xattrs: new Map(), nlink: 1, size: 5, link: 'hosts' }],
    ['etc/p', { type: 'fifo', mode: 0o600, uid: 0, gid: 0, tarTime: T.sec, xattrs: new Map(), nlink: 1, size: 0 }],
  ]],
  ['a directory over a directory keeps its children, the new metadata wins', [['put', '.', dir()], ['put', 'a', dir()], ['put', 'a/f', file(0)], ['put', 'a', dir(0o711, new Map([['user.x', Buffer.from('v')]]))]], [
    ['.', D()], ['a', D(0o711, new Map([['user.x', 'dg==']]))], ['a/f', F(0, EMPTY_SHA256)],
  ]],
  ['hardlinks count their names; a removal takes one away', [['put', '.', dir()], ['put', 'a', file(6), 'hello'], ['link', 'b', 'a'], ['link', 'c', 'a'], ['remove', 'c']], [
    ['.', D()], ['a', F(6, helloSha, 2)], ['b', F(6, helloSha, 2)],
  ]],
  ['a file replacing a hardlinked name gets its own entry', [['put', '.', dir()], ['put', 'a', file(6), 'hello'], ['link', 'b', 'a'], ['put', 'a', file(0, 7)]], [
    ['.', D()], ['a', F(0, EMPTY_SHA256, 1, 7)], ['b', F(6, helloSha, 1)],
  ]],
  ['removing a directory removes its tree; a new one of the same name starts empty', [['put', '.', dir()], ['put', 'd', dir()], ['put', 'd/x', dir()], ['put', 'd/x/f', file(0)], ['remove', 'd'], ['put', 'd', dir(0o700)], ['put', 'd/g', file(0)]], [
    ['.', D()], ['d', D(0o700)], ['d/g', F(0, EMPTY_SHA256)],
  ]],
  ['a file over a directory drops the directory tree', [['put', '.', dir()], ['put', 'd', dir()], ['put', 'd/f', file(0)], ['put', 'd', file(0)]], [
    ['.', D()], ['d', F(0, EMPTY_SHA256)],
  ]],
  ['sorting: files before subdirectories, each by name', [['put', '.', dir()], ['put', 'b', dir()], ['put', 'a', dir()], ['put', 'z', file(0)], ['put', 'B', file(0)], ['put', 'a b', file(0)], ['put', 'b/é', file(0)], ['put', 'b/e', file(0)]], [
    ['.', D()], ['a', D()], ['b', D()], ['z', F(0, EMPTY_SHA256)], ['B', F(0, EMPTY_SHA256)], ['a b', F(0, EMPTY_SHA256)], ['b/é', F(0, EMPTY_SHA256)], ['b/e', F(0, EMPTY_SHA256)],
  ]],
  ['sizes at and past the 4-byte slots (4 GiB and up in a side map), replaced by a small one', [['put', '.', dir()], ['put', 'a', file(2 ** 32 - 3)], ['put', 'b', file(2 ** 32 - 2)], ['put', 'c', file(2 ** 32 - 1)], ['put', 'd', file(5 * 2 ** 40)], ['put', 'e', file(2 ** 32)], ['put', 'e', file(7)]], [
    ['.', D()], ['a', F(2 ** 32 - 3, EMPTY_SHA256)], ['b', F(2 ** 32 - 2, EMPTY_SHA256)], ['c', F(2 ** 32 - 1, EMPTY_SHA256)], ['d', F(5 * 2 ** 40, EMPTY_SHA256)], ['e', F(7, EMPTY_SHA256)],
  ]],
  // 65536 links make 65537 names (past the 2-byte slot); three removals bring it back under
  ['hardlink counts past 65535 and back', [['put', '.', dir()], ['put', 'a', file(6), 'hello'], ...Array.from({ length: 65536 }, (_, i): Event => ['link', `l${i}`, 'a']), ['remove', 'l0'], ['remove', 'l1'], ['remove', 'l2']], [
    ['.', D()], ['a', F(6, helloSha, 65534)], ...Array.from({ length: 65533 }, (_, i): [string, MtreeEntry] => [`l${i + 3}`, F(6, helloSha, 65534)]),
  ]],
  ['a hardlink count held past 65535', [['put', '.', dir()], ['put', 'a', file(0)], ...Array.from({ length: 70000 }, (_, i): Event => ['link', `l${i}`, 'a'])], [
    ['.', D()], ['a', F(0, EMPTY_SHA256, 70001)], ...Array.from({ length: 70000 }, (_, i): [string, MtreeEntry] => [`l${i}`, F(0, EMPTY_SHA256, 70001)]),
  ]],
];

function replay(rec: MtreeRecorder, events: Event[]): void {
  for (const ev of events) {
    if (ev[0] === 'put') {
      if (ev[3] !== undefined) rec.data(Buffer.from(`${ev[3]}\n`));
      rec.put(ev[1], ev[2]);
    } else if (ev[0] === 'link') rec.link(ev[1], ev[2]);
    else if (ev[0] === 'remove') rec.remove(ev[1]);
    else rec.implicitDir(ev[1]);
  }
}

const text = <H>(t: Mtree | Parameters<typeof formatMtree<H>>[0]) => [...formatMtree(t, { tree: '/b/rootfs', date: new Date(0) })].join('');

test('the recorded model equals the expected Map model', async (t) => {
  assert.equal(helloSha.length, 64);
  assert.equal(hello.length, 6);
  const tmp = mkdtempSync(join(tmpdir(), 'mtree-record-'));
  try {
    for (const [name, events, expected] of cases) {
      await t.test(name, () => {
        const rec = new MtreeRecorder();
        replay(rec, events);
        const fs = RootFS.open(tmp);
        let model;
        try {
          model = rec.finish(fs);
        } finally {
          fs.close();
        }
        assert.equal(rec.lost, null);
        const want: Mtree = new Map(expected);
        for (const [p, e] of want) assert.deepEqual(model.get(p), e, p);
        assert.equal(model.get('absent'), undefined);
        assert.equal(text(model), text(want));
      });
    }
    await t.test('an implicit directory is lstat-ed at the end', () => {
      mkdirSync(join(tmp, 'imp'), { mode: 0o751 });
      const rec = new MtreeRecorder();
      replay(rec, [['put', '.', dir()], ['implicit', 'imp'], ['put', 'imp/f', file(0)]]);
      const fs = RootFS.open(tmp);
      try {
        const model = rec.finish(fs);
        const e = model.get('imp');
        assert.equal(e?.type, 'dir');
        assert.equal(e?.mode, 0o751);
        assert.equal(e?.size, undefined);
        assert.match(text(model), /\nimp type=dir uid=\d+ gid=\d+ mode=0751 tar_time=\d+\.000000000\n {8}f size=0 type=file/);
      } finally {
        fs.close();
      }
    });
    await t.test('a hardlink to a name the model lacks makes it untracked', () => {
      const rec = new MtreeRecorder();
      replay(rec, [['put', '.', dir()], ['link', 'b', 'nowhere']]);
      assert.match(rec.lost ?? '', /hardlink b names nowhere/);
    });
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
