// The writer thread (src/fs/file-writer.ts, native/writer.c): content queued at offsets and
// each file's finishing steps land in order, also beyond its arena; the first failure is
// raised by the next call naming the file, and every handed-over fd is still closed;
// ENOSPC on a full tmpfs keeps its code. The applier with threadedWrites gives the same tree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileWriter } from '../../src/fs/file-writer.js';
import type { Meta } from '../../src/fs/rootfs.js';
import { makeSandbox, openFdCount } from '../helpers/fs-sandbox.js';

const isRoot = process.getuid?.() === 0;

function meta(mode: number, sec: number): Meta {
  return { uid: -1, gid: -1, mode, atime: { sec, nsec: 0 }, mtime: { sec, nsec: 123 }, chown: false };
}

function writer(): FileWriter {
  const w = FileWriter.create();
  assert.ok(w, 'OCIBUNDLE_THREADED_WRITES is not 0 here');
  return w;
}

test('file writer: content in pieces and whole, then mode and times, in order; more than its arena', () => {
  const sb = makeSandbox('writer');
  const w = writer();
  try {
    const fds = openFdCount();
    const big = randomBytes(40 * 1024 * 1024 + 17); // the arena holds 4 MiB
    const files = [
      // first, so the arena starts empty: four pieces of a quarter of it end exactly at its end, then one byte
      { name: 'exact', data: randomBytes(4 * 1024 * 1024 + 1), pieces: 1 },
      { name: 'big', data: big, pieces: 7 },
      { name: 'small', data: Buffer.from('small'), pieces: 1 },
      ...Array.from({ length: 600 }, (_, i) => ({ name: `f${i}`, data: Buffer.from(`file ${i}\n`.repeat(i)), pieces: 1 + (i % 3) })),
    ];
    for (const [i, f] of files.entries()) {
      const path = join(sb.root, f.name);
      const fd = openSync(path, 'wx', 0o600);
      const id = w.adopt(f.name);
      const step = Math.ceil(f.data.length / f.pieces) || 1;
      for (let off = 0; off < f.data.length; off += step) w.write(fd, id, f.data.subarray(off, off + step), off);
      w.finish(fd, id, meta(0o640 + (i % 2), 1_000_000 + i), -1);
    }
    // a sparse tail: the finish's truncate sets the size past the last write
    const sparse = openSync(join(sb.root, 'sparse'), 'wx', 0o600);
    const sid = w.adopt('sparse');
    w.write(sparse, sid, Buffer.from('head'), 0);
    w.finish(sparse, sid, meta(0o644, 5), 1 << 20);
    w.drain();
    for (const [i, f] of files.entries()) {
      const p = join(sb.root, f.name);
      assert.ok(readFileSync(p).equals(f.data), f.name);
      const st = statSync(p, { bigint: true });
      assert.equal(Number(st.mode & 0o7777n), 0o640 + (i % 2), `${f.name} mode`);
      assert.equal(st.mtimeNs, BigInt(1_000_000 + i) * 1_000_000_000n + 123n, `${f.name} mtime`);
    }
    assert.equal(statSync(join(sb.root, 'sparse')).size, 1 << 20);
    assert.equal(openFdCount(), fds, 'every fd handed over was closed');
  } finally {
    w.close();
    w.close();
    sb.cleanup();
  }
});

test('file writer: the first failure is raised by the next call, names the file, and fds are still closed', () => {
  const sb = makeSandbox('writer-fail');
  const w = writer();
  try {
    const fds = openFdCount();
    writeFileSync(join(sb.root, 'ro'), 'read only');
    const ro = openSync(join(sb.root, 'ro'), 'r'); // writes to it fail with EBADF
    const id = w.adopt('dir/ro');
    const later = openSync(join(sb.root, 'later'), 'wx');
    const lid = w.adopt('later');
    // the failure happens on the thread: whichever call comes next raises it
    assert.throws(
      () => {
        w.write(ro, id, Buffer.from('x'), 0);
        w.finish(ro, id, meta(0o644, 1), -1);
        w.drain();
        w.write(later, lid, Buffer.from('y'), 0);
      },
      (e: NodeJS.ErrnoException) => e.code === 'EBADF' && e.syscall === 'write' && e.path === 'dir/ro' && /dir\/ro/.test(e.message),
    );
    assert.throws(() => w.finish(later, lid, meta(0o644, 1), -1), { code: 'EBADF' }, 'the failure stays kept');
    assert.throws(() => w.drain(), { code: 'EBADF' });
    assert.equal(openFdCount(), fds, 'both fds closed by the thread despite the failure');
    assert.equal(readFileSync(join(sb.root, 'later'), 'utf8'), '', 'nothing written after the failure');
  } finally {
    w.close();
    sb.cleanup();
  }
});

test('file writer: a full file system is ENOSPC naming the file', { skip: !isRoot && 'needs root (mounts a tmpfs)' }, () => {
  const sb = makeSandbox('writer-full');
  const mnt = join(sb.dir, 'small');
  mkdirSync(mnt);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt]);
  const w = writer();
  try {
    const fd = openSync(join(mnt, 'f'), 'wx');
    const id = w.adopt('var/f');
    let handedOver = false;
    const fill = () => {
      for (let i = 0; i < 3; i++) w.write(fd, id, Buffer.alloc(1024 * 1024, 1), i * 1024 * 1024);
      w.finish(fd, id, meta(0o644, 1), -1);
      handedOver = true;
      w.drain();
    };
    assert.throws(fill, (e: NodeJS.ErrnoException) => e.code === 'ENOSPC' && e.path === 'var/f');
    if (!handedOver) closeSync(fd); // raised before its finish was queued: still the caller's fd
  } finally {
    w.close();
    execFileSync('umount', [mnt]);
    sb.cleanup();
  }
});

/** Pieces of a file for the writer: [offset, bytes]; gaps between them are holes. */
type Piece = [number, Buffer];

const hashedCases: { name: string; size: number; pieces: Piece[] }[] = [
  { name: 'one piece', size: 5, pieces: [[0, Buffer.from('hello')]] },
  { name: 'many pieces past the arena', size: 9 * 1024 * 1024 + 3, pieces: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((i): Piece => [i * 1024 * 1024, randomBytes(i === 9 ? 3 : 1024 * 1024)]) },
  { name: 'holes inside', size: 3 * 1024 * 1024, pieces: [[0, Buffer.from('head')], [1024 * 1024, randomBytes(1000)], [3 * 1024 * 1024 - 4, Buffer.from('tail')]] },
  { name: 'a hole at the start and at the end', size: 2 * 1024 * 1024 + 100, pieces: [[70_000, randomBytes(5000)]] },
  { name: 'holes only', size: 1024 * 1024, pieces: [] },
  { name: 'empty', size: 0, pieces: [] },
];

/** The file's content as a reader sees it: the pieces at their offsets, zeros elsewhere. */
function logical(size: number, pieces: Piece[]): Buffer {
  const b = Buffer.alloc(size);
  for (const [at, data] of pieces) data.copy(b, at);
  return b;
}

test('file writer: hashed files report the digest of their content, holes as zeros, at the drain after their finish', () => {
  const sb = makeSandbox('writer-hash');
  const got = new Map<number, string>();
  const w = FileWriter.create((token, sha256) => {
    assert.ok(!got.has(token), `token ${token} reported once`);
    got.set(token, sha256);
  });
  assert.ok(w, 'OCIBUNDLE_THREADED_WRITES is not 0 here');
  try {
    const want = new Map<number, string>();
    // two rounds with a drain between them (ids start again), unhashed files in between
    for (const round of [0, 1]) {
      for (const [i, c] of hashedCases.entries()) {
        const token = 100 * round + i;
        const fd = openSync(join(sb.root, `h${token}`), 'wx', 0o600);
        const id = w.adopt(`h${token}`, token);
        for (const [at, data] of c.pieces) w.write(fd, id, data, at);
        const end = c.pieces.length === 0 ? 0 : c.pieces.at(-1)![0] + c.pieces.at(-1)![1].length;
        w.finish(fd, id, meta(0o644, 1), end < c.size ? c.size : -1);
        want.set(token, createHash('sha256').update(logical(c.size, c.pieces)).digest('hex'));
        const plain = openSync(join(sb.root, `p${token}`), 'wx', 0o600);
        const pid = w.adopt(`p${token}`);
        w.write(plain, pid, Buffer.from('not hashed'), 0);
        w.finish(plain, pid, meta(0o644, 1), -1);
      }
      assert.equal(got.size, round * hashedCases.length, 'nothing reported before the drain');
      w.drain();
      assert.equal(got.size, (round + 1) * hashedCases.length);
    }
    for (const [token, hex] of want) assert.equal(got.get(token), hex, `${hashedCases[token % 100]!.name} (token ${token})`);
    for (const [i, c] of hashedCases.entries()) assert.ok(readFileSync(join(sb.root, `h${i}`)).equals(logical(c.size, c.pieces)), `${c.name}: content on disk`);
  } finally {
    w.close();
    sb.cleanup();
  }
});

test('file writer: content of a hashed file out of order is a failure (EINVAL, sha256) naming it', () => {
  const sb = makeSandbox('writer-hash-order');
  const w = FileWriter.create(() => assert.fail('no digest for a file whose content came out of order'))!;
  try {
    const fd = openSync(join(sb.root, 'f'), 'wx', 0o600);
    const id = w.adopt('usr/f', 0);
    // the failure happens on the thread: whichever call comes next raises it (a queued finish hands the fd over)
    let handedOver = false;
    assert.throws(
      () => {
        w.write(fd, id, Buffer.from('second'), 100);
        w.write(fd, id, Buffer.from('first'), 0);
        handedOver = true;
        w.finish(fd, id, meta(0o644, 1), -1);
        w.drain();
      },
      (e: NodeJS.ErrnoException) => e.code === 'EINVAL' && e.syscall === 'sha256' && e.path === 'usr/f',
    );
    if (!handedOver) closeSync(fd);
  } finally {
    w.close();
    sb.cleanup();
  }
});
