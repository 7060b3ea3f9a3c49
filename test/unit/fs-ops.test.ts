// RootFS operations and their contracts, for both resolvers: path assertion (EPATH), the
// root '.', lstat/stat/readdir/readFile results and limits, creation kinds, remove and rename,
// and errors that keep Node's shape while naming the rootfs-relative path.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RootFS } from '../../src/fs/rootfs.js';
import { RESOLVERS, makeSandbox, type Sandbox } from '../helpers/fs-sandbox.js';

const NEEDS_ROOT = process.getuid?.() !== 0 && 'needs root';
const T = { sec: 1, nsec: 2 };

function touch(fs: RootFS, path: string, mode = 0o644): void {
  fs.finishFile(fs.createFile(path, 0o600), { uid: 0, gid: 0, mode, atime: T, mtime: T, chown: false });
}

function withFs(resolver: 'openat2' | 'walk', body: (fs: RootFS, sb: Sandbox) => void): void {
  const sb = makeSandbox('ops');
  const fs = RootFS.open(sb.root, { resolver });
  try {
    body(fs, sb);
  } finally {
    fs.close();
    sb.cleanup();
  }
}

const BAD_PATHS = ['', '/', '/a', 'a/', 'a//b', '..', '../a', 'a/..', 'a/../b', './a', 'a/.', 'a/./b', 'a\0b', '.a/../b'];

describe('rootfs resolver choice', () => {
  it('auto picks openat2 on this kernel, and each forced resolver is reported', () => {
    const sb = makeSandbox('ops');
    try {
      for (const [want, got] of [['auto', 'openat2'], ['openat2', 'openat2'], ['walk', 'walk']] as const) {
        const fs = RootFS.open(sb.root, { resolver: want });
        assert.equal(fs.resolver, got);
        fs.close();
      }
      assert.throws(() => RootFS.open(join(sb.dir, 'missing')), { code: 'ENOENT' });
    } finally {
      sb.cleanup();
    }
  });
});

for (const resolver of RESOLVERS) {
  describe(`rootfs operations (${resolver})`, () => {
    for (const p of BAD_PATHS) {
      it(`unclean path ${JSON.stringify(p)} is refused with EPATH before any syscall`, () =>
        withFs(resolver, (fs) => {
          const ops: [string, () => unknown][] = [
            ['lstat', () => fs.lstat(p)],
            ['stat', () => fs.stat(p)],
            ['mkdir', () => fs.mkdir(p, 0o755)],
            ['createFile', () => fs.createFile(p, 0o644)],
            ['symlink', () => fs.symlink('x', p)],
            ['link', () => fs.link(p, 'x')],
            ['remove', () => fs.remove(p)],
            ['rename', () => fs.rename('x', p)],
            ['readFile', () => fs.readFile(p, 10)],
            ['readdir', () => fs.readdir(p)],
            ['setTimes', () => fs.setTimes(p, T, T)],
            ['listXattrs', () => fs.listXattrs(p)],
          ];
          for (const [name, op] of ops) assert.throws(op, { code: 'EPATH' }, name);
        }),
      );
    }

    it("the root '.' cannot be created, linked, renamed or removed", () =>
      withFs(resolver, (fs) => {
        touch(fs, 'f');
        for (const op of [
          () => fs.createFile('.', 0o644),
          () => fs.symlink('x', '.'),
          () => fs.link('.', 'x'),
          () => fs.link('f', '.'),
          () => fs.mknod('.', 'fifo', 0o644, 0, 0),
          () => fs.remove('.'),
          () => fs.rename('.', 'x'),
          () => fs.rename('f', '.'),
        ]) {
          assert.throws(op, { code: 'EPATH' });
        }
        assert.throws(() => fs.mkdir('.', 0o755), { code: 'EEXIST' });
        assert.equal(fs.lstat('.')?.kind, 'dir');
      }),
    );

    it('lstat is null for a missing entry or a missing/non-directory parent', () =>
      withFs(resolver, (fs) => {
        touch(fs, 'f');
        fs.symlink('nowhere', 'dangling');
        for (const p of ['missing', 'missing/x', 'f/x', 'f/x/y', 'dangling/x']) assert.equal(fs.lstat(p), null, p);
        assert.equal(fs.lstat('dangling')?.kind, 'symlink');
        assert.equal(fs.stat('dangling'), null);
      }),
    );

    it('stat follows symlinks inside the root, lstat does not', () =>
      withFs(resolver, (fs) => {
        fs.mkdir('usr', 0o755);
        fs.mkdir('usr/lib', 0o755);
        fs.symlink('/usr/lib', 'lib');
        fs.symlink('../../../usr', 'usr/lib/up');
        assert.equal(fs.lstat('lib')?.kind, 'symlink');
        assert.equal(fs.stat('lib')?.kind, 'dir');
        assert.equal(fs.stat('lib')?.ino, fs.lstat('usr/lib')?.ino);
        assert.equal(fs.stat('lib/up')?.ino, fs.lstat('usr')?.ino);
      }),
    );

    it('mkdir and createFile: EEXIST propagates with the full path; a dangling symlink is not followed', () =>
      withFs(resolver, (fs) => {
        fs.mkdir('a', 0o755);
        fs.mkdir('a/b', 0o755);
        assert.throws(() => fs.mkdir('a/b', 0o755), (e: NodeJS.ErrnoException) => {
          assert.equal(e.code, 'EEXIST');
          assert.equal(e.errno, -17);
          assert.equal(e.syscall, 'mkdirat');
          assert.equal(e.path, 'a/b');
          assert.equal(e.message, "EEXIST: file exists, mkdirat 'a/b'");
          return true;
        });
        fs.symlink('/a/made-by-follow', 'a/dangling');
        assert.throws(() => fs.createFile('a/dangling', 0o644), { code: 'EEXIST' });
        assert.equal(fs.lstat('a/made-by-follow'), null);
        assert.throws(() => fs.mkdir('nope/x', 0o755), (e: NodeJS.ErrnoException) => e.code === 'ENOENT' && e.path === 'nope/x');
      }),
    );

    it('device nodes and fifos keep their numbers', { skip: NEEDS_ROOT }, () =>
      withFs(resolver, (fs) => {
        fs.mkdir('dev', 0o755);
        const NODES = [
          { p: 'dev/null', kind: 'char', major: 1, minor: 3 },
          { p: 'dev/big', kind: 'block', major: 4095, minor: 1048575 },
          { p: 'dev/fifo', kind: 'fifo', major: 0, minor: 0 },
        ] as const;
        for (const n of NODES) {
          fs.mknod(n.p, n.kind, 0o640, n.major, n.minor);
          const st = fs.lstat(n.p)!;
          assert.deepEqual([st.kind, st.rdevMajor, st.rdevMinor], [n.kind, n.major, n.minor], n.p);
        }
      }),
    );

    it('readFile: exact limit, one byte over, empty, absent', () =>
      withFs(resolver, (fs, sb) => {
        fs.mkdir('etc', 0o755);
        for (const [name, content] of [['ten', '0123456789'], ['empty', '']] as const) {
          touch(fs, `etc/${name}`);
          writeFileSync(join(sb.root, 'etc', name), content);
        }
        assert.equal(fs.readFile('etc/ten', 10)?.toString(), '0123456789');
        assert.throws(() => fs.readFile('etc/ten', 9), { code: 'ELIMIT' });
        assert.equal(fs.readFile('etc/empty', 0)?.length, 0);
        assert.equal(fs.readFile('etc/absent', 10), null);
        assert.equal(fs.readFile('nodir/absent', 10), null);
        assert.equal(fs.readFile('etc/ten/under-a-file', 10), null);
      }),
    );

    it('readdir: sorted names, the root, refuses to follow a symlink', () =>
      withFs(resolver, (fs) => {
        fs.mkdir('d', 0o755);
        for (const n of ['b', 'a', 'ünï 名', 'c.d']) touch(fs, `d/${n}`);
        fs.symlink('d', 'l');
        assert.deepEqual(fs.readdir('d'), ['a', 'b', 'c.d', 'ünï 名']);
        assert.deepEqual(fs.readdir('.'), ['d', 'l']);
        assert.throws(() => fs.readdir('l'), (e: NodeJS.ErrnoException) => e.code === 'ELOOP' || e.code === 'ENOTDIR');
      }),
    );

    it('remove: false when absent, deep and wide trees, files and symlinks', () =>
      withFs(resolver, (fs) => {
        assert.equal(fs.remove('absent'), false);
        assert.equal(fs.remove('absent/child'), false);
        let deep = 'deep';
        fs.mkdir(deep, 0o755);
        for (let i = 0; i < 120; i++) {
          deep += `/${i}`;
          fs.mkdir(deep, 0o700);
        }
        touch(fs, `${deep}/leaf`);
        fs.mkdir('wide', 0o755);
        for (let i = 0; i < 2500; i++) touch(fs, `wide/f${i}`);
        fs.mkdir('wide/ro', 0o755);
        touch(fs, 'wide/ro/f');
        fs.setMeta('wide/ro', { uid: 0, gid: 0, mode: 0o000, atime: T, mtime: T });
        assert.equal(fs.remove('deep'), true);
        assert.equal(fs.remove('wide'), true);
        assert.deepEqual(fs.readdir('.'), []);
      }),
    );

    it('rename: files, dirs, over an existing file, errors name both paths', () =>
      withFs(resolver, (fs) => {
        fs.mkdir('a', 0o755);
        touch(fs, 'a/f', 0o600);
        touch(fs, 'a/g', 0o644);
        fs.rename('a/f', 'a/g');
        assert.equal(fs.lstat('a/f'), null);
        assert.equal(fs.lstat('a/g')?.mode, 0o600);
        fs.rename('a', 'b');
        assert.equal(fs.lstat('b/g')?.kind, 'file');
        assert.throws(() => fs.rename('b/none', 'b/x'), (e: NodeJS.ErrnoException & { dest?: string }) => {
          return e.code === 'ENOENT' && e.path === 'b/none' && e.dest === 'b/x' && e.message.includes("'b/none' -> 'b/x'");
        });
      }),
    );

    it('link: shares the inode; a missing source is ENOENT', () =>
      withFs(resolver, (fs) => {
        fs.mkdir('x', 0o755);
        touch(fs, 'x/f');
        fs.link('x/f', 'h');
        assert.equal(fs.lstat('h')?.ino, fs.lstat('x/f')?.ino);
        assert.equal(fs.lstat('h')?.nlink, 2);
        assert.throws(() => fs.link('x/none', 'h2'), { code: 'ENOENT' });
      }),
    );
  });
}
