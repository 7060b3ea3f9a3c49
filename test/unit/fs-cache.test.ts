// The parent-directory fd cache of RootFS, for both resolvers: entries are invalidated when
// remove/rename/replacement changes what a path resolves to (also through symlink aliases),
// it stays bounded, eviction never closes an fd in use, and close() releases every fd.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, renameSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { RootFS, type RootFSOptions } from '../../src/fs/rootfs.js';
import { RESOLVERS, makeSandbox, openFdCount, type Sandbox, code } from '../helpers/fs-sandbox.js';

const T = { sec: 1, nsec: 2 };

function touch(fs: RootFS, path: string): void {
  fs.finishFile(fs.createFile(path, 0o644), { uid: 0, gid: 0, mode: 0o644, atime: T, mtime: T, chown: false });
}

interface Case {
  name: string;
  opts?: RootFSOptions;
  run(fs: RootFS, sb: Sandbox): void;
}

const cases: Case[] = [
  {
    name: 'a cached dir replaced by a symlink to a host path: creation lands inside',
    run(fs, sb) {
      fs.mkdir('a', 0o755);
      fs.mkdir('a/b', 0o755);
      touch(fs, 'a/b/f1'); // caches a/b
      assert.equal(fs.remove('a'), true);
      fs.symlink(sb.sentinel, 'a');
      assert.equal(code(() => touch(fs, 'a/b/f2')), 'ENOENT');
      mkdirSync(join(sb.root, sb.sentinel, 'b'), { recursive: true });
      touch(fs, 'a/b/f2');
      assert.ok(existsSync(join(sb.root, sb.sentinel, 'b/f2')));
    },
  },
  {
    name: 'a cached dir replaced by a symlink to /: creation lands at the root',
    run(fs, sb) {
      fs.mkdir('a', 0o755);
      fs.mkdir('a/etc', 0o755);
      touch(fs, 'a/etc/x'); // caches a/etc
      fs.remove('a');
      fs.mkdir('etc', 0o755);
      fs.symlink('/', 'a');
      touch(fs, 'a/etc/y');
      assert.ok(existsSync(join(sb.root, 'etc/y')));
      assert.equal(fs.lstat('a')?.kind, 'symlink');
      assert.ok(!existsSync('/etc/y'));
    },
  },
  {
    name: 'rename moves a cached dir away; the old name resolves afresh',
    run(fs, sb) {
      fs.mkdir('a', 0o755);
      fs.mkdir('a/b', 0o755);
      touch(fs, 'a/b/f');
      fs.rename('a', 'z');
      fs.mkdir('a', 0o755);
      fs.mkdir('a/b', 0o755);
      touch(fs, 'a/b/g');
      assert.ok(existsSync(join(sb.root, 'a/b/g')));
      assert.ok(!existsSync(join(sb.root, 'z/b/g')));
      touch(fs, 'z/b/h');
      assert.ok(existsSync(join(sb.root, 'z/b/h')));
    },
  },
  {
    name: 'rename over a cached empty dir',
    run(fs, sb) {
      fs.mkdir('x', 0o755);
      fs.mkdir('x/y', 0o755);
      assert.equal(fs.lstat('x/y/nothing'), null); // caches x/y
      fs.mkdir('n', 0o755);
      fs.mkdir('n/y', 0o755);
      touch(fs, 'n/y/marker');
      fs.rename('n/y', 'x/y');
      touch(fs, 'x/y/f');
      assert.ok(existsSync(join(sb.root, 'x/y/f')));
      assert.ok(existsSync(join(sb.root, 'x/y/marker')));
    },
  },
  {
    name: 'a change through the real path drops entries cached through an alias',
    run(fs, sb) {
      fs.mkdir('a', 0o755);
      fs.mkdir('a/b', 0o755);
      fs.symlink('a', 'x');
      touch(fs, 'x/b/f'); // caches x/b (aliased)
      fs.remove('a/b');
      fs.mkdir('a/b', 0o755);
      touch(fs, 'x/b/g');
      assert.ok(existsSync(join(sb.root, 'a/b/g')));
    },
  },
  {
    name: 'a change through an alias drops entries cached by their real path',
    run(fs, sb) {
      fs.mkdir('a', 0o755);
      fs.mkdir('a/b', 0o755);
      touch(fs, 'a/b/f'); // caches a/b
      fs.symlink('a', 'x');
      fs.remove('x/b');
      fs.mkdir('a/b', 0o755);
      touch(fs, 'a/b/g');
      assert.ok(existsSync(join(sb.root, 'a/b/g')));
      fs.rename('x/b', 'x/c');
      touch(fs, 'a/c/h');
      assert.ok(existsSync(join(sb.root, 'a/c/h')));
    },
  },
  {
    name: 'a host-side swap behind our back may go stale but never escapes',
    run(fs, sb) {
      fs.mkdir('a', 0o755);
      fs.mkdir('a/b', 0o755);
      touch(fs, 'a/b/f'); // caches a/b
      renameSync(join(sb.root, 'a'), join(sb.root, 'old'));
      symlinkSync(sb.sentinel, join(sb.root, 'a'));
      try {
        touch(fs, 'a/b/g');
      } catch (e) {
        assert.equal((e as { code?: string }).code, 'ENOENT');
      }
      assert.ok(!existsSync(join(sb.sentinel, 'b')));
    },
  },
  {
    name: 'the cache stays bounded',
    run(fs) {
      fs.mkdir('d', 0o755);
      for (let i = 0; i < 300; i++) {
        fs.mkdir(`d/${i}`, 0o755);
        touch(fs, `d/${i}/f`);
      }
      assert.ok(fs.cachedDirs <= 128, `cached ${fs.cachedDirs}`);
      assert.equal(fs.readdir('d').length, 300);
    },
  },
  {
    name: 'eviction never closes a parent fd still in use (cache of 2)',
    opts: { cacheSize: 2 },
    run(fs, sb) {
      for (let i = 0; i < 6; i++) {
        fs.mkdir(`d${i}`, 0o755);
        fs.mkdir(`d${i}/s`, 0o755);
        touch(fs, `d${i}/s/f`);
      }
      for (let i = 0; i < 6; i++) {
        fs.link(`d${i}/s/f`, `d${(i + 3) % 6}/s/l${i}`);
        fs.rename(`d${i}/s/f`, `d${(i + 1) % 6}/s/r${i}`);
      }
      assert.ok(fs.cachedDirs <= 2);
      for (let i = 0; i < 6; i++) {
        assert.ok(existsSync(join(sb.root, `d${(i + 3) % 6}/s/l${i}`)));
        assert.ok(existsSync(join(sb.root, `d${(i + 1) % 6}/s/r${i}`)));
      }
    },
  },
];

for (const resolver of RESOLVERS) {
  describe(`rootfs dir cache (${resolver})`, () => {
    for (const c of cases) {
      it(c.name, () => {
        const sb = makeSandbox('cache');
        const before = sb.snapshot();
        const fs = RootFS.open(sb.root, { resolver, ...c.opts });
        try {
          c.run(fs, sb);
          assert.equal(sb.snapshot(), before, 'the sentinel outside the rootfs changed');
        } finally {
          fs.close();
          sb.cleanup();
        }
      });
    }

    it('close() releases every fd, and later calls fail cleanly', () => {
      const sb = makeSandbox('cache');
      try {
        const fdsBefore = openFdCount();
        const fs = RootFS.open(sb.root, { resolver });
        for (let i = 0; i < 20; i++) {
          fs.mkdir(`d${i}`, 0o755);
          fs.mkdir(`d${i}/e`, 0o755);
          touch(fs, `d${i}/e/f`);
        }
        fs.createFile('d0/e/unfinished', 0o600); // left open on purpose
        assert.ok(openFdCount() > fdsBefore);
        fs.close();
        fs.close();
        assert.equal(openFdCount(), fdsBefore);
        assert.throws(() => fs.lstat('d0'), { code: 'EIO' });
      } finally {
        sb.cleanup();
      }
    });
  });
}
