// RootFS metadata, for both resolvers: nanosecond times, large ids, setuid/setgid/sticky
// surviving chown, byte-exact binary xattrs, chown:false, and the kernel's refusal of user.*
// xattrs on symlinks surfacing as a coded error rather than a crash.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeSync } from 'node:fs';
import { RootFS, type Meta, type Time } from '../../src/fs/rootfs.js';
import { RESOLVERS, capabilityValue, makeSandbox } from '../helpers/fs-sandbox.js';

const NEEDS_ROOT = process.getuid?.() !== 0 && 'needs root';

function meta(over: Partial<Meta> = {}): Meta {
  return { uid: 0, gid: 0, mode: 0o644, atime: { sec: 1, nsec: 0 }, mtime: { sec: 2, nsec: 0 }, ...over };
}

function withFs(resolver: 'openat2' | 'walk', body: (fs: RootFS) => void): void {
  const sb = makeSandbox('meta');
  const fs = RootFS.open(sb.root, { resolver });
  try {
    body(fs);
  } finally {
    fs.close();
    sb.cleanup();
  }
}

/** Creates `path` as the given kind with default metadata; returns nothing. */
type Maker = (fs: RootFS, path: string, m: Meta) => void;
const MAKERS: Record<'file' | 'dir' | 'symlink' | 'fifo', Maker> = {
  file: (fs, p, m) => {
    const fd = fs.createFile(p, 0o600);
    writeSync(fd, 'data');
    fs.finishFile(fd, m);
  },
  dir: (fs, p, m) => {
    fs.mkdir(p, 0o700);
    fs.setMeta(p, m);
  },
  symlink: (fs, p, m) => {
    fs.symlink('target', p);
    fs.setMeta(p, m);
  },
  fifo: (fs, p, m) => {
    fs.mknod(p, 'fifo', 0o600, 0, 0);
    fs.setMeta(p, m);
  },
};

const TIMES: { name: string; atime: Time; mtime: Time }[] = [
  { name: 'nanoseconds at both ends', atime: { sec: 1700000000, nsec: 1 }, mtime: { sec: 1700000000, nsec: 999999999 } },
  { name: 'past 2^32 seconds', atime: { sec: 2 ** 33 + 5, nsec: 123456789 }, mtime: { sec: 2 ** 40, nsec: 987654321 } },
  { name: 'the epoch', atime: { sec: 0, nsec: 0 }, mtime: { sec: 0, nsec: 0 } },
  { name: 'before the epoch', atime: { sec: -86400, nsec: 500 }, mtime: { sec: -1, nsec: 999999999 } },
];

for (const resolver of RESOLVERS) {
  describe(`rootfs metadata (${resolver})`, () => {
    for (const t of TIMES) {
      for (const kind of Object.keys(MAKERS) as (keyof typeof MAKERS)[]) {
        it(`times round-trip exactly: ${t.name} (${kind})`, { skip: kind === 'fifo' && NEEDS_ROOT }, () =>
          withFs(resolver, (fs) => {
            MAKERS[kind](fs, 'x', meta({ atime: t.atime, mtime: t.mtime }));
            const st = fs.lstat('x')!;
            assert.equal(st.kind, kind);
            assert.deepEqual(st.mtime, t.mtime);
            assert.deepEqual(st.atime, t.atime);
            fs.setTimes('x', t.mtime, t.atime);
            assert.deepEqual(fs.lstat('x')!.mtime, t.atime);
          }),
        );
      }
    }

    it('root itself: setMeta and setTimes on "."', { skip: NEEDS_ROOT }, () =>
      withFs(resolver, (fs) => {
        fs.setMeta('.', meta({ uid: 7, gid: 8, mode: 0o1751, mtime: { sec: 5, nsec: 6 } }));
        let st = fs.lstat('.')!;
        assert.deepEqual([st.kind, st.uid, st.gid, st.mode], ['dir', 7, 8, 0o1751]);
        assert.deepEqual(st.mtime, { sec: 5, nsec: 6 });
        fs.setTimes('.', { sec: 9, nsec: 10 }, { sec: 11, nsec: 12 });
        st = fs.lstat('.')!;
        assert.deepEqual(st.mtime, { sec: 11, nsec: 12 });
        fs.setMeta('.', meta({ mode: 0o755 }));
      }),
    );

    const SPECIAL: { name: string; mode: number; kind: 'file' | 'dir' }[] = [
      { name: 'setuid file', mode: 0o4755, kind: 'file' },
      { name: 'setgid file', mode: 0o2755, kind: 'file' },
      { name: 'setuid+setgid+sticky file', mode: 0o7777, kind: 'file' },
      { name: 'setgid dir', mode: 0o2775, kind: 'dir' },
      { name: 'sticky dir', mode: 0o1777, kind: 'dir' },
    ];
    for (const s of SPECIAL) {
      it(`mode bits survive chown: ${s.name}`, { skip: NEEDS_ROOT }, () =>
        withFs(resolver, (fs) => {
          MAKERS[s.kind](fs, 'x', meta({ uid: 1000, gid: 1000, mode: s.mode }));
          let st = fs.lstat('x')!;
          assert.equal(st.mode, s.mode);
          assert.deepEqual([st.uid, st.gid], [1000, 1000]);
          // applying again (a later layer) re-chowns, which the kernel answers by clearing
          // setuid/setgid; the mode must still come out exact
          fs.setMeta('x', meta({ uid: 2000, gid: 2000, mode: s.mode }));
          st = fs.lstat('x')!;
          assert.equal(st.mode, s.mode);
          assert.deepEqual([st.uid, st.gid], [2000, 2000]);
        }),
      );
    }

    const IDS = [0, 65534, 1_000_000, 2 ** 31, 2 ** 32 - 2];
    for (const id of IDS) {
      it(`uid/gid ${id} round-trips`, { skip: NEEDS_ROOT }, () =>
        withFs(resolver, (fs) => {
          MAKERS.file(fs, 'f', meta({ uid: id, gid: id }));
          MAKERS.symlink(fs, 'l', meta({ uid: id, gid: id }));
          for (const p of ['f', 'l']) assert.deepEqual([fs.lstat(p)!.uid, fs.lstat(p)!.gid], [id, id]);
        }),
      );
    }

    it('chown: false leaves the owner and still applies the mode', { skip: NEEDS_ROOT }, () =>
      withFs(resolver, (fs) => {
        MAKERS.file(fs, 'f', meta({ uid: 5, gid: 6 }));
        fs.setMeta('f', meta({ uid: 7, gid: 8, mode: 0o600, chown: false }));
        const st = fs.lstat('f')!;
        assert.deepEqual([st.uid, st.gid, st.mode], [5, 6, 0o600]);
      }),
    );

    const XATTRS: { name: string; kind: 'file' | 'dir' | 'fifo'; attrs: [string, Buffer][] }[] = [
      { name: 'security.capability with 0x00 and 0xff bytes on a file', kind: 'file', attrs: [['security.capability', capabilityValue()]] },
      { name: 'trusted.* binary value on a dir', kind: 'dir', attrs: [['trusted.bin', Buffer.from([0, 255, 0, 128, 10])]] },
      { name: 'user.* values, empty included, on a file', kind: 'file', attrs: [['user.a', Buffer.alloc(0)], ['user.b', Buffer.from('\u00ff\u0000x', 'latin1')]] },
      { name: 'user.* on a fifo is refused by the kernel', kind: 'fifo', attrs: [['user.x', Buffer.from('1')]] },
    ];
    for (const x of XATTRS) {
      it(`xattrs: ${x.name}`, { skip: NEEDS_ROOT }, () =>
        withFs(resolver, (fs) => {
          const m = meta({ uid: 1000, gid: 1000, mode: 0o755, xattrs: new Map(x.attrs) });
          if (x.kind === 'fifo') {
            fs.mknod('x', 'fifo', 0o600, 0, 0);
            assert.throws(() => fs.setMeta('x', m), (e: NodeJS.ErrnoException & { xattr?: string }) => {
              assert.equal(e.code, 'EPERM');
              assert.equal(e.syscall, 'lsetxattr');
              assert.equal(e.xattr, 'user.x');
              assert.match(e.message, /^EPERM: .*lsetxattr 'x' \(xattr 'user.x'\)$/);
              return true;
            });
            return;
          }
          MAKERS[x.kind](fs, 'x', m);
          const got = fs.listXattrs('x');
          for (const [k, v] of x.attrs) assert.deepEqual(got.get(k), v, k);
          // the file's capability must survive: xattrs are written after the chown
          assert.equal(fs.lstat('x')!.uid, 1000);
        }),
      );
    }

    it('user.* xattr on a symlink: EPERM from the kernel, reported with its code', { skip: NEEDS_ROOT }, () =>
      withFs(resolver, (fs) => {
        fs.symlink('nowhere', 'l');
        let err: (NodeJS.ErrnoException & { xattr?: string }) | undefined;
        try {
          fs.setMeta('l', meta({ xattrs: new Map([['user.note', Buffer.from('x')]]) }));
        } catch (e) {
          err = e as NodeJS.ErrnoException;
        }
        assert.ok(err, 'expected the kernel to refuse user.* on a symlink');
        assert.equal(err.code, 'EPERM');
        assert.equal(err.syscall, 'lsetxattr');
        assert.equal(err.path, 'l');
        // trusted.* on a symlink is allowed for root and must land on the link itself
        fs.setMeta('l', meta({ xattrs: new Map([['trusted.t', Buffer.from([1, 0, 2])]]) }));
        assert.deepEqual(fs.listXattrs('l').get('trusted.t'), Buffer.from([1, 0, 2]));
      }),
    );

    it('finishFile closes the fd even when a step fails, naming the path', { skip: NEEDS_ROOT }, () =>
      withFs(resolver, (fs) => {
        fs.mkdir('d', 0o755);
        const fd = fs.createFile('d/f', 0o600);
        assert.throws(
          () => fs.finishFile(fd, meta({ xattrs: new Map([['security.capability', Buffer.from([1, 2, 3])]]) })),
          (e: NodeJS.ErrnoException) => e.code === 'EINVAL' && e.syscall === 'fsetxattr' && e.path === 'd/f',
        );
        assert.throws(() => writeSync(fd, 'x'), { code: 'EBADF' });
      }),
    );
  });
}
