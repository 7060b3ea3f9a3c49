// Xattrs the kernel refuses must cost a warning, not the unpack: user.* on a symlink (EPERM
// from the kernel, even for root), on a FIFO, and on a file system without user xattrs; each
// file that loses security.capability is named (WCAPABILITY).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readlinkSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { unpack } from '../../src/unpack.js';
import { RootFS } from '../../src/fs/rootfs.js';
import { gzip, makeTar } from '../../fixtures/tar.js';
import { writeLayout } from '../../fixtures/layout.js';
import { isRoot, scratchDir } from '../helpers/cli.js';
import type { Warning } from '../../src/errors.js';

test('refused xattrs warn once per kind and the rest of the entry is applied', { skip: isRoot() ? false : 'needs root (mknod, owners)' }, async (t) => {
  const dir = scratchDir('xattr');
  try {
    const layer = gzip(makeTar([
      { name: 'l', type: 'symlink', linkname: 'target', uid: 7, gid: 8, mtime: 1234567890, xattrs: { 'user.a': 'x' } },
      { name: 'l2', type: 'symlink', linkname: 'target2', xattrs: { 'user.b': 'y' } },
      { name: 'p', type: 'fifo', mode: 0o640, xattrs: { 'user.c': 'z' } },
      { name: 'f', content: 'kept', xattrs: { 'user.d': 'w' } },
    ]));
    writeLayout(join(dir, 'layout'), { images: [{ tag: 'latest', layers: [layer] }] });
    const warnings: Warning[] = [];
    const out = join(dir, 'rootfs');
    await unpack({ image: `${join(dir, 'layout')}:latest`, bundle: out, rootfsOnly: true, onWarning: (w) => warnings.push(w) });
    await t.test('symlinks and the fifo exist with their other metadata', () => {
      assert.equal(readlinkSync(join(out, 'l')), 'target');
      const fs = RootFS.open(out);
      try {
        const st = fs.lstat('l')!;
        assert.equal(st.uid, 7);
        assert.equal(st.gid, 8);
        assert.equal(st.mtime.sec, 1234567890);
        assert.equal(fs.lstat('p')!.mode, 0o640);
        assert.equal(fs.listXattrs('f').get('user.d')?.toString(), 'w');
      } finally {
        fs.close();
      }
    });
    await t.test('one warning per kind of refusal', () => {
      const x = warnings.filter((w) => w.code === 'WXATTR');
      assert.equal(x.length, 1, JSON.stringify(warnings));
      assert.match(x[0]!.message, /EPERM/);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a file system without xattrs (ramfs) costs one warning, and the unpack succeeds', { skip: isRoot() ? false : 'needs root to mount' }, async () => {
  const dir = scratchDir('noxattr');
  const mnt = join(dir, 'mnt');
  mkdirSync(mnt);
  execFileSync('mount', ['-t', 'ramfs', 'ramfs', mnt]);
  try {
    const layer = gzip(makeTar([
      { name: 'f', content: 'x', uid: 5, xattrs: { 'user.a': '1' } },
      { name: 'd/', type: 'dir', xattrs: { 'user.b': '2' } },
      { name: 'g', content: 'y', xattrs: { 'security.capability': Buffer.from('0100000200200000000000000000000000000000', 'hex') } },
      { name: 'bin/ping', content: 'z', xattrs: { 'security.capability': Buffer.from('0100000200200000000000000000000000000000', 'hex') } },
    ]));
    writeLayout(join(dir, 'layout'), { images: [{ tag: 'latest', layers: [layer] }] });
    const warnings: Warning[] = [];
    const out = join(mnt, 'rootfs');
    await unpack({ image: `${join(dir, 'layout')}:latest`, bundle: out, rootfsOnly: true, onWarning: (w) => warnings.push(w) });
    const x = warnings.filter((w) => w.code === 'WXATTR');
    assert.equal(x.length, 1, JSON.stringify(warnings));
    assert.match(x[0]!.message, /EOPNOTSUPP|ENOTSUP/);
    // each file that lost its capabilities is named
    assert.deepEqual(warnings.filter((w) => w.code === 'WCAPABILITY').map((w) => w.message.split(' ')[0]), ['g', 'bin/ping']);
    const fs = RootFS.open(out);
    try {
      assert.equal(fs.lstat('f')!.uid, 5);
      assert.equal(fs.lstat('d')!.kind, 'dir');
    } finally {
      fs.close();
    }
  } finally {
    execFileSync('umount', [mnt]);
    rmSync(dir, { recursive: true, force: true });
  }
});
