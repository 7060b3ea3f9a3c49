// The ocibundle_native addon on its own: Node-shaped errors, argument validation (NUL bytes,
// id and time ranges, single-component names where /proc paths are built), openat2 scoping,
// fchmodat2 on symlinks, getdents and the xattr calls.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { native } from '../../src/fs/native.js';
import { makeSandbox, type Sandbox } from '../helpers/fs-sandbox.js';

const n = native();
const c = n.constants;

function withDir(body: (dirfd: number, sb: Sandbox) => void): void {
  const sb = makeSandbox('native');
  const fd = n.openat(c.AT_FDCWD, sb.root, c.O_PATH | c.O_DIRECTORY | c.O_CLOEXEC, 0);
  try {
    body(fd, sb);
  } finally {
    n.close(fd);
    sb.cleanup();
  }
}

describe('native addon', () => {
  it('throws errors shaped like Node fs errors', () => {
    assert.throws(
      () => n.openat(c.AT_FDCWD, '/definitely/not/here', c.O_RDONLY, 0),
      (e: NodeJS.ErrnoException) => {
        assert.ok(e instanceof Error);
        assert.equal(e.code, 'ENOENT');
        assert.equal(e.errno, -2);
        assert.equal(e.syscall, 'openat');
        assert.equal(e.path, '/definitely/not/here');
        assert.equal(e.message, "ENOENT: no such file or directory, openat '/definitely/not/here'");
        return true;
      },
    );
    assert.throws(() => n.close(1 << 30), { code: 'EBADF', syscall: 'close' });
  });

  const BAD_ARGS: { name: string; call: (dirfd: number) => unknown }[] = [
    { name: 'a NUL byte in a path', call: (d) => n.mkdirat(d, 'a\0b', 0o755) },
    { name: 'a NUL byte in a Buffer path', call: (d) => n.mkdirat(d, Buffer.from('a\0b'), 0o755) },
    { name: 'a path of PATH_MAX bytes', call: (d) => n.mkdirat(d, 'x'.repeat(c.PATH_MAX), 0o755) },
    { name: 'uid -2', call: (d) => n.fchownat(d, '.', -2, 0, 0) },
    { name: 'uid 2^32', call: (d) => n.fchownat(d, '.', 2 ** 32, 0, 0) },
    { name: 'a fractional gid', call: (d) => n.fchownat(d, '.', 0, 1.5, 0) },
    { name: 'nsec 1e9', call: (d) => n.utimensat(d, '.', 0, 1e9, 0, 0, 0) },
    { name: 'nsec -5', call: (d) => n.utimensat(d, '.', 0, 0, 0, -5, 0) },
    { name: 'sec beyond 2^53', call: (d) => n.utimensat(d, '.', 2 ** 60, 0, 0, 0, 0) },
    { name: 'a string fd', call: () => n.close('3' as unknown as number) },
    { name: 'too few arguments', call: (d) => (n.mkdirat as unknown as (a: number) => void)(d) },
    { name: 'a multi-component entry for a /proc xattr path', call: (d) => n.lsetxattrat(d, 'a/b', 'user.x', Buffer.alloc(1), 0) },
    { name: "'..' as an entry for a /proc xattr path", call: (d) => n.llistxattrat(d, '..') },
    { name: 'a multi-component name for setMetaAt', call: (d) => n.setMetaAt(d, '../x', -1, -1, -1, null, null, 0, 0, 0, 0) },
    { name: 'a multi-component name for rmtreeat', call: (d) => n.rmtreeat(d, 'a/b') },
    { name: 'a string xattr value', call: (d) => n.lsetxattrat(d, 'x', 'user.x', 'v' as unknown as Buffer, 0) },
  ];
  for (const b of BAD_ARGS) {
    it(`rejects ${b.name} before any syscall`, () =>
      withDir((d) => {
        assert.throws(() => b.call(d), (e: Error & { code?: string }) => e instanceof TypeError || e.code === 'ENAMETOOLONG');
        const dfd = n.openat(d, '.', c.O_RDONLY | c.O_DIRECTORY | c.O_CLOEXEC, 0);
        try {
          assert.deepEqual(n.getdents(dfd), [], 'nothing was created');
        } finally {
          n.close(dfd);
        }
      }),
    );
  }

  it('openat2 RESOLVE_IN_ROOT clamps absolute targets and ..; NO_SYMLINKS refuses them', () =>
    withDir((d, sb) => {
      mkdirSync(join(sb.root, 'etc'));
      writeFileSync(join(sb.root, 'etc', 'passwd'), 'inside\n');
      symlinkSync('/../../etc', join(sb.root, 'up'));
      const fd = n.openat2(d, 'up/passwd', c.O_PATH | c.O_CLOEXEC, 0, c.RESOLVE_IN_ROOT | c.RESOLVE_NO_MAGICLINKS);
      assert.equal(n.fstat(fd).size, 'inside\n'.length);
      n.close(fd);
      assert.throws(() => n.openat2(d, 'up/passwd', c.O_PATH, 0, c.RESOLVE_BENEATH | c.RESOLVE_NO_SYMLINKS), { code: 'ELOOP', syscall: 'openat2' });
      assert.throws(() => n.openat2(d, '../x', c.O_PATH, 0, c.RESOLVE_BENEATH), { code: 'EXDEV' });
    }),
  );

  it('fchmodat with AT_SYMLINK_NOFOLLOW: a symlink is EOPNOTSUPP, a file is changed', () =>
    withDir((d, sb) => {
      writeFileSync(join(sb.root, 'f'), '');
      symlinkSync('f', join(sb.root, 'l'));
      assert.throws(() => n.fchmodat(d, 'l', 0o600, c.AT_SYMLINK_NOFOLLOW), { code: 'EOPNOTSUPP' });
      n.fchmodat(d, 'f', 0o4711, c.AT_SYMLINK_NOFOLLOW);
      assert.equal(n.fstatat(d, 'f', c.AT_SYMLINK_NOFOLLOW).mode & 0o7777, 0o4711);
    }),
  );

  it('fstatat reports exact numbers; getdents lists every name', () =>
    withDir((d, sb) => {
      for (let i = 0; i < 3000; i++) writeFileSync(join(sb.root, `file-with-a-long-name-${i}`), '');
      const dfd = n.openat(d, '.', c.O_RDONLY | c.O_DIRECTORY | c.O_CLOEXEC, 0);
      try {
        assert.equal(n.getdents(dfd).length, 3000);
        assert.equal(n.getdents(dfd).length, 3000, 'getdents rewinds');
      } finally {
        n.close(dfd);
      }
      n.utimensat(d, 'file-with-a-long-name-0', 2 ** 34, 999999999, -7, 1, 0);
      const st = n.fstatat(d, 'file-with-a-long-name-0', 0);
      assert.deepEqual([st.atimeSec, st.atimeNsec, st.mtimeSec, st.mtimeNsec], [2 ** 34, 999999999, -7, 1]);
      assert.equal(typeof st.ino, 'bigint');
      assert.equal(st.mode & c.S_IFMT, c.S_IFREG);
    }),
  );

  it('xattrs by fd and by /proc path are byte-exact; missing ones are ENODATA', () =>
    withDir((d, sb) => {
      writeFileSync(join(sb.root, 'f'), '');
      const value = Buffer.from([0, 1, 255, 0]);
      n.lsetxattrat(d, 'f', 'user.bin', value, 0);
      assert.deepEqual(n.llistxattrat(d, 'f'), ['user.bin']);
      assert.deepEqual(n.lgetxattrat(d, 'f', 'user.bin'), value);
      const fd = n.openat(d, 'f', c.O_RDONLY | c.O_CLOEXEC, 0);
      try {
        assert.deepEqual(n.fgetxattr(fd, 'user.bin'), value);
        n.fsetxattr(fd, 'user.empty', Buffer.alloc(0), 0);
        assert.deepEqual(n.flistxattr(fd).sort(), ['user.bin', 'user.empty']);
        assert.throws(() => n.fgetxattr(fd, 'user.none'), (e: NodeJS.ErrnoException & { xattr?: string }) => e.code === 'ENODATA' && e.xattr === 'user.none');
      } finally {
        n.close(fd);
      }
      assert.throws(() => n.lsetxattrat(d, 'f', 'user.bin', value, c.XATTR_CREATE), { code: 'EEXIST' });
    }),
  );
});
