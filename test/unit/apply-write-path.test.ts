// The applier's file-write path: a file whose content arrives in one piece is created,
// written and finished in one native call (writeFileAt); one whose content comes in pieces,
// with holes or none at all takes the separate calls; with threadedWrites, content and
// finishing go to the writer thread. Every way must give the same tree (content, mode, owner,
// times, xattrs, replaced entries) and the same file digests for the mtree, hashed natively
// where the bytes are written or in JS. Also writeFileAt's own contract.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RootFS } from '../../src/fs/rootfs.js';
import { native } from '../../src/fs/native.js';
import { Applier } from '../../src/layer/apply.js';
import { MtreeRecorder } from '../../src/build/mtree-record.js';
import { TarParser } from '../../src/layer/tar.js';
import { makeTar, type FixtureEntry } from '../../fixtures/tar.js';
import { makeSandbox } from '../helpers/fs-sandbox.js';
import { listTree } from '../helpers/tree.js';

const isRoot = process.getuid?.() === 0;

function entries(): FixtureEntry[][] {
  const lower: FixtureEntry[] = [
    { name: 'etc/', type: 'dir', mode: 0o755, mtime: 1_000_000 },
    { name: 'etc/replaced', content: 'old content of a lower layer', mode: 0o600 },
    { name: 'etc/dir-then-file/', type: 'dir' },
    { name: 'etc/dir-then-file/child', content: 'goes away' },
    { name: 'etc/link-then-file', type: 'symlink', linkname: '/etc/replaced' },
  ];
  const upper: FixtureEntry[] = [
    { name: 'etc/empty', content: '', mode: 0o640, uid: 12, gid: 34, mtime: { sec: 1_234_567, nsec: 890 } },
    { name: 'etc/small', content: 'small file\n', mode: 0o4755, uid: 1000, gid: 1000, mtime: 2_000_000 },
    { name: 'etc/big', content: randomBytes(300_000), mode: 0o644, mtime: 3_000_000 },
    { name: 'etc/replaced', content: 'new content', mode: 0o644 },
    { name: 'etc/dir-then-file', content: 'a file where a directory was' },
    { name: 'etc/link-then-file', content: 'a file where a symlink was' },
    { name: 'etc/xattr', content: 'with an xattr', xattrs: { 'user.test': 'value' } },
    { name: 'etc/hard', type: 'hardlink', linkname: 'etc/small' },
    { name: 'etc/sparse', content: Buffer.concat([Buffer.alloc(8192), Buffer.from('tail')]), sparse: { format: 'pax-1.0', map: [[8192, 4]] } },
    // from 1 MiB on, files go to the writer thread (threadedWrites)
    { name: 'etc/large', content: randomBytes(2_500_000), mode: 0o755, uid: 7, gid: 8, mtime: 4_000_000 },
    { name: 'etc/large-sparse', content: Buffer.concat([Buffer.from('head'), Buffer.alloc(2 * 1024 * 1024)]), sparse: { format: 'pax-1.0', map: [[0, 4]] } },
    { name: 'etc/large-xattr', content: randomBytes(1_100_000), xattrs: { 'user.big': 'stays on the main thread' } },
  ];
  return [lower, upper];
}

/** Applies the layers feeding the parser `piece` bytes at a time (0: all at once). */
function applyLayers(root: string, layers: Buffer[], piece: number, threadedWrites: boolean, observer?: MtreeRecorder): void {
  const fs = RootFS.open(root);
  const applier = new Applier(fs, { diskPath: root, threadedWrites, ...(observer ? { observer } : {}) });
  for (const tar of layers) {
    const handler = applier.layer();
    const parser = new TarParser(handler);
    if (piece === 0) parser.write(tar);
    else for (let i = 0; i < tar.length; i += piece) parser.write(tar.subarray(i, i + piece));
    parser.end();
    handler.flush();
  }
  applier.finish();
  observer?.finish(fs);
  fs.close();
}

test('files written in one call, in pieces and byte by byte give the same tree', { skip: !isRoot && 'needs root (owners)' }, () => {
  const layers = entries().map((l) => makeTar(l));
  const sb = makeSandbox('write-path');
  try {
    const runs = [0, 1000, 1].flatMap((piece) => [false, true].map((threaded) => ({ piece, threaded })));
    const trees = runs.map(({ piece, threaded }) => {
      const root = join(sb.dir, `piece-${piece}${threaded ? '-threaded' : ''}`);
      mkdirSync(root);
      applyLayers(root, layers, piece, threaded);
      // the root directory is not in the layers: its mtime is the time of the run
      return listTree(root, { xattrs: true }).filter((e) => e.path !== '.');
    });
    for (const [i, r] of runs.entries()) assert.deepEqual(trees[i], trees[0], `${r.piece}-byte pieces${r.threaded ? ', writer thread' : ''}`);
    const root = join(sb.dir, 'piece-0');
    const st = statSync(join(root, 'etc/small'));
    assert.equal(st.mode & 0o7777, 0o4755, 'setuid kept after the chown');
    assert.equal(st.uid, 1000);
    assert.equal(st.nlink, 2, 'the hardlink names the file written in one call');
    assert.equal(readFileSync(join(root, 'etc/replaced'), 'utf8'), 'new content');
    assert.equal(readFileSync(join(root, 'etc/dir-then-file'), 'utf8'), 'a file where a directory was');
    assert.equal(statSync(join(root, 'etc/empty')).mtimeMs, 1_234_567_000.00089);
    assert.equal(statSync(join(root, 'etc/sparse')).size, 8196);
    assert.equal(statSync(join(root, 'etc/large-sparse')).size, 4 + 2 * 1024 * 1024, 'a trailing hole keeps the size');
  } finally {
    sb.cleanup();
  }
});

test('the observer gets the digest of each file whichever way it was written (one call, pieces, writer thread; native or JS hashing)', { skip: !isRoot && 'needs root (owners)' }, () => {
  const layers = entries();
  // what each path holds at the end: the last layer's entry for it (hardlinks share their target's)
  const want = new Map<string, string>();
  for (const l of layers) for (const e of l) if ((e.type ?? 'file') === 'file') want.set(e.name, createHash('sha256').update(e.content ?? '').digest('hex'));
  want.set('etc/hard', want.get('etc/small')!);
  want.delete('etc/dir-then-file/child');
  const tars = layers.map((l) => makeTar(l));
  const sb = makeSandbox('write-path-digests');
  const before = process.env['OCIBUNDLE_NATIVE_SHA256'];
  try {
    for (const hashing of ['native', 'js'] as const) {
      if (hashing === 'js') process.env['OCIBUNDLE_NATIVE_SHA256'] = '0';
      for (const piece of [0, 1000]) {
        for (const threaded of [false, true]) {
          const name = `${hashing} hashing, ${piece === 0 ? 'whole' : `${piece}-byte pieces`}${threaded ? ', writer thread' : ''}`;
          const root = join(sb.dir, name.replace(/[^a-z0-9]+/g, '-'));
          mkdirSync(root);
          const rec = new MtreeRecorder();
          applyLayers(root, tars, piece, threaded, rec);
          assert.equal(rec.lost, null, `${name}: the model is complete`);
          for (const [path, hex] of want) assert.equal(rec.get(path)?.sha256, hex, `${name}: ${path}`);
          assert.equal(rec.get('etc/hard')?.nlink, 2, `${name}: hardlink count`);
        }
      }
    }
  } finally {
    if (before === undefined) delete process.env['OCIBUNDLE_NATIVE_SHA256'];
    else process.env['OCIBUNDLE_NATIVE_SHA256'] = before;
    sb.cleanup();
  }
});

test('writeFileAt: creates exclusively, never through a symlink, writes the range, sets owner, mode and times', () => {
  const sb = makeSandbox('write-file-at');
  const n = native();
  const c = n.constants;
  const dfd = n.openat(c.AT_FDCWD, sb.root, c.O_PATH | c.O_DIRECTORY | c.O_CLOEXEC, 0);
  try {
    const data = Buffer.from('..hello world..');
    n.writeFileAt(dfd, 'f', 0o600, data, 2, 11, -1, -1, 0o640, null, null, 10, 5, 20, 7, null);
    const p = join(sb.root, 'f');
    const st = statSync(p, { bigint: true });
    assert.equal(readFileSync(p, 'utf8'), 'hello world');
    assert.equal(Number(st.mode & 0o7777n), 0o640);
    assert.equal(st.mtimeNs, 20_000_000_007n);
    assert.equal(st.atimeNs, 10_000_000_005n);
    // an existing name, a symlink to a victim outside: EEXIST, nothing written anywhere
    writeFileSync(join(sb.root, 'exists'), 'keep');
    symlinkSync(join(sb.sentinel, 'victim'), join(sb.root, 'link'));
    const before = sb.snapshot();
    for (const name of ['exists', 'link']) {
      assert.throws(() => n.writeFileAt(dfd, name, 0o644, data, 0, data.length, -1, -1, 0o644, null, null, 0, 0, 0, 0, null), { code: 'EEXIST', syscall: 'openat' });
    }
    assert.equal(readFileSync(join(sb.root, 'exists'), 'utf8'), 'keep');
    assert.equal(sb.snapshot(), before, 'the victim outside the rootfs is untouched');
    assert.throws(() => n.writeFileAt(dfd, 'g', 0o644, data, 10, 100, -1, -1, 0o644, null, null, 0, 0, 0, 0, null), /out of bounds/);
    assert.throws(() => n.writeFileAt(dfd, 'a/b', 0o644, data, 0, 1, -1, -1, 0o644, null, null, 0, 0, 0, 0, null), /single path component/);
    // the content's digest, from the same call, when asked for (the mtree's)
    if (n.sha256Ready()) {
      const digest = Buffer.alloc(40, 0xee);
      n.writeFileAt(dfd, 'h', 0o644, data, 2, 11, -1, -1, 0o644, null, null, 0, 0, 0, 0, digest);
      assert.equal(digest.toString('hex', 0, 32), createHash('sha256').update('hello world').digest('hex'));
      assert.equal(digest.toString('hex', 32), 'ee'.repeat(8), 'nothing written past the 32 bytes');
      const untouched = Buffer.alloc(32, 0xaa);
      assert.throws(() => n.writeFileAt(dfd, 'exists', 0o644, data, 0, 1, -1, -1, 0o644, null, null, 0, 0, 0, 0, untouched), { code: 'EEXIST' });
      assert.ok(untouched.equals(Buffer.alloc(32, 0xaa)), 'no digest for a file that was not written');
      assert.throws(() => n.writeFileAt(dfd, 'i', 0o644, data, 0, 1, -1, -1, 0o644, null, null, 0, 0, 0, 0, Buffer.alloc(31)), /32 bytes/);
      assert.equal(existsSync(join(sb.root, 'i')), false, 'a short digest buffer is refused before anything is created');
    }
  } finally {
    n.close(dfd);
    sb.cleanup();
  }
});
