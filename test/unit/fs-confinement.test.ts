// RootFS confinement, for both resolvers: hostile symlinks (to '/', to '..', chains, loops,
// absolute host paths) must resolve inside the rootfs, and a sentinel tree beside the rootfs
// must stay byte- and metadata-identical whatever the case does.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RootFS, type Meta } from '../../src/fs/rootfs.js';
import { RESOLVERS, makeSandbox, type Sandbox, code } from '../helpers/fs-sandbox.js';

const NEEDS_ROOT = process.getuid?.() !== 0 && 'needs root';
const T = { sec: 1234567890, nsec: 123456789 };
const META: Meta = { uid: 4242, gid: 4343, mode: 0o777, atime: T, mtime: T };

function touch(fs: RootFS, path: string): void {
  const fd = fs.createFile(path, 0o644);
  fs.finishFile(fd, { uid: 0, gid: 0, mode: 0o644, atime: T, mtime: T });
}

/** The sentinel's absolute path, mirrored inside the rootfs (rootfs/<abs sentinel path>). */
function mirror(sb: Sandbox): string {
  const inside = join(sb.root, sb.sentinel);
  mkdirSync(inside, { recursive: true });
  writeFileSync(join(inside, 'victim'), 'inside copy\n');
  return inside;
}

interface Case {
  name: string;
  skip?: string | false;
  run(fs: RootFS, sb: Sandbox): void;
}

const cases: Case[] = [
  {
    name: "symlink a -> / then create a/etc/x lands in rootfs/etc/x",
    run(fs, sb) {
      fs.mkdir('etc', 0o755);
      fs.symlink('/', 'a');
      touch(fs, 'a/etc/x');
      fs.mkdir('a/etc/d', 0o755);
      assert.ok(existsSync(join(sb.root, 'etc/x')));
      assert.ok(lstatSync(join(sb.root, 'etc/d')).isDirectory());
    },
  },
  {
    name: 'a -> ../../.. clamps at the root',
    run(fs, sb) {
      fs.symlink('../../..', 'a');
      touch(fs, 'a/x');
      fs.mkdir('a/a2', 0o755);
      assert.ok(existsSync(join(sb.root, 'x')));
      assert.ok(existsSync(join(sb.root, 'a2')));
    },
  },
  {
    name: 'a chain of relative and absolute symlinks resolves to the root',
    run(fs, sb) {
      fs.mkdir('d', 0o755);
      fs.symlink('b', 'a');
      fs.symlink('/c/../..', 'b');
      fs.symlink('d/../../..', 'c');
      touch(fs, 'a/x');
      fs.mkdir('a/made', 0o755);
      assert.ok(existsSync(join(sb.root, 'x')));
      assert.ok(existsSync(join(sb.root, 'made')));
      assert.equal(fs.lstat('a/x')?.kind, 'file');
    },
  },
  {
    name: 'an absolute symlink naming a host path resolves inside (ENOENT until mirrored)',
    run(fs, sb) {
      fs.symlink(sb.sentinel, 'h');
      assert.equal(code(() => touch(fs, 'h/new')), 'ENOENT');
      assert.equal(code(() => fs.mkdir('h/etc/x', 0o755)), 'ENOENT');
      assert.equal(fs.lstat('h/victim'), null);
      const inside = mirror(sb);
      touch(fs, 'h/new');
      assert.ok(existsSync(join(inside, 'new')));
      assert.ok(!existsSync(join(sb.sentinel, 'new')));
    },
  },
  {
    name: 'a symlinked parent deep in the path cannot reach the host',
    run(fs) {
      fs.mkdir('usr', 0o755);
      fs.symlink(`../../../../../../../../..${'/..'.repeat(20)}/etc`, 'usr/etc');
      assert.equal(code(() => touch(fs, 'usr/etc/passwd')), 'ENOENT');
      fs.mkdir('etc', 0o755);
      touch(fs, 'usr/etc/passwd');
      assert.equal(fs.lstat('etc/passwd')?.kind, 'file');
    },
  },
  {
    name: 'remove through a symlinked parent removes the rootfs copy only',
    run(fs, sb) {
      const inside = mirror(sb);
      fs.symlink(sb.sentinel, 'h');
      assert.equal(fs.remove('h/victim'), true);
      assert.ok(!existsSync(join(inside, 'victim')));
      assert.equal(fs.remove('h/dir'), false);
      assert.equal(fs.remove('h/etc/passwd'), false);
    },
  },
  {
    name: 'remove of a symlink removes the link, not its target',
    run(fs, sb) {
      fs.mkdir('d', 0o755);
      touch(fs, 'd/f');
      fs.symlink('d', 'dl');
      fs.symlink(sb.sentinel, 'hl');
      fs.symlink(join(sb.sentinel, 'victim'), 'fl');
      fs.symlink('/', 'rl');
      for (const p of ['dl', 'hl', 'fl', 'rl']) assert.equal(fs.remove(p), true, p);
      assert.ok(existsSync(join(sb.root, 'd/f')));
      assert.deepEqual(fs.readdir('.'), ['d']);
    },
  },
  {
    name: 'remove of a tree does not descend into symlinks inside it',
    run(fs, sb) {
      fs.mkdir('keep', 0o755);
      touch(fs, 'keep/f');
      fs.mkdir('t', 0o755);
      fs.mkdir('t/sub', 0o755);
      touch(fs, 't/sub/f');
      fs.symlink(sb.sentinel, 't/out');
      fs.symlink('/', 't/root');
      fs.symlink('../keep', 't/sub/up');
      assert.equal(fs.remove('t'), true);
      assert.ok(!existsSync(join(sb.root, 't')));
      assert.ok(existsSync(join(sb.root, 'keep/f')));
    },
  },
  {
    name: 'link to an existing symlink links the symlink itself',
    run(fs, sb) {
      fs.symlink(join(sb.sentinel, 'victim'), 's');
      touch(fs, 'f');
      fs.symlink('f', 's2');
      fs.link('s', 'h');
      fs.link('s2', 'h2');
      for (const [link, orig] of [['h', 's'], ['h2', 's2']] as const) {
        const a = fs.lstat(link)!;
        assert.equal(a.kind, 'symlink');
        assert.equal(a.ino, fs.lstat(orig)!.ino);
        assert.equal(a.nlink, 2);
      }
      assert.equal(fs.lstat('f')!.nlink, 1);
    },
  },
  {
    name: 'hardlink and rename through a symlinked parent stay inside',
    run(fs, sb) {
      fs.symlink(sb.sentinel, 'h');
      assert.equal(code(() => fs.link('h/victim', 'stolen')), 'ENOENT');
      assert.equal(code(() => fs.rename('h/victim', 'stolen')), 'ENOENT');
      assert.equal(code(() => fs.rename('h', 'h/x')), 'ENOENT');
      assert.equal(fs.lstat('stolen'), null);
    },
  },
  {
    name: 'setMeta and setTimes on a symlink leave the target alone',
    skip: NEEDS_ROOT,
    run(fs, sb) {
      fs.symlink(join(sb.sentinel, 'victim'), 's');
      touch(fs, 'f');
      fs.symlink('f', 'sf');
      const before = fs.lstat('f')!;
      for (const p of ['s', 'sf']) {
        fs.setMeta(p, META);
        fs.setTimes(p, { sec: 99, nsec: 1 }, { sec: 77, nsec: 2 });
        const st = fs.lstat(p)!;
        assert.equal(st.kind, 'symlink');
        assert.deepEqual([st.uid, st.gid], [4242, 4343]);
        assert.deepEqual(st.mtime, { sec: 77, nsec: 2 });
      }
      assert.deepEqual(fs.lstat('f'), before);
    },
  },
  {
    name: 'readFile of etc/passwd -> /etc/shadow reads the rootfs file or nothing',
    run(fs, sb) {
      fs.mkdir('etc', 0o755);
      fs.symlink('/etc/shadow', 'etc/passwd');
      fs.symlink(join(sb.sentinel, 'etc/shadow'), 'etc/group');
      fs.symlink('../../../../../../etc/shadow', 'etc/gshadow');
      for (const p of ['etc/passwd', 'etc/group', 'etc/gshadow']) assert.equal(fs.readFile(p, 1 << 20), null, p);
      const fd = fs.createFile('etc/shadow', 0o600);
      fs.finishFile(fd, { uid: 0, gid: 0, mode: 0o600, atime: T, mtime: T });
      writeFileSync(join(sb.root, 'etc/shadow'), 'inside\n');
      assert.equal(fs.readFile('etc/passwd', 1 << 20)?.toString(), 'inside\n');
      assert.equal(fs.readFile('etc/gshadow', 1 << 20)?.toString(), 'inside\n');
      assert.equal(readFileSync('/etc/shadow').toString() === 'inside\n', false);
    },
  },
  {
    name: 'readFile refuses a FIFO, a device and a directory at once',
    skip: NEEDS_ROOT,
    run(fs, sb) {
      fs.mknod('fifo', 'fifo', 0o644, 0, 0);
      fs.mknod('null', 'char', 0o666, 1, 3);
      fs.symlink('fifo', 'to-fifo');
      fs.mkdir('dir', 0o755);
      // a blocked open() cannot be interrupted in-process: probe in a child with a deadline
      const rootfsModule = fileURLToPath(new URL('../../src/fs/rootfs.js', import.meta.url));
      const script = `
        const { RootFS } = await import(${JSON.stringify(rootfsModule)});
        const fs = RootFS.open(${JSON.stringify(sb.root)}, { resolver: ${JSON.stringify(fs.resolver)} });
        const out = [];
        for (const p of ['fifo', 'to-fifo', 'null', 'dir']) {
          try { fs.readFile(p, 100); out.push('read'); } catch (e) { out.push(e.code); }
        }
        console.log(JSON.stringify(out));`;
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { timeout: 10_000, encoding: 'utf8' });
      assert.equal(r.signal, null, `readFile blocked (killed by ${r.signal})`);
      assert.deepEqual(JSON.parse(r.stdout.trim()), ['EPATH', 'EPATH', 'EPATH', 'EPATH'], r.stderr);
    },
  },
  {
    name: 'a symlink loop fails with ELOOP instead of spinning',
    run(fs) {
      fs.symlink('b', 'a');
      fs.symlink('a', 'b');
      fs.symlink('self/x', 'self');
      assert.equal(code(() => touch(fs, 'a/x')), 'ELOOP');
      assert.equal(code(() => fs.mkdir('self/y', 0o755)), 'ELOOP');
      assert.equal(code(() => fs.readFile('a', 10)), 'ELOOP');
      assert.equal(fs.lstat('a')?.kind, 'symlink');
    },
  },
  {
    name: 'a chain of 40 symlinks resolves, 41 is ELOOP',
    run(fs, sb) {
      fs.mkdir('d', 0o755);
      fs.symlink('d', 'l0');
      for (let i = 1; i <= 40; i++) fs.symlink(`l${i - 1}`, `l${i}`);
      touch(fs, 'l39/x'); // 40 hops
      assert.ok(existsSync(join(sb.root, 'd/x')));
      assert.equal(code(() => touch(fs, 'l40/y')), 'ELOOP'); // 41 hops
    },
  },
  {
    name: 'mknod and symlink through a symlinked parent land inside',
    skip: NEEDS_ROOT,
    run(fs, sb) {
      fs.mkdir('dev', 0o755);
      fs.symlink('/dev', 'devlink');
      fs.mknod('devlink/null', 'char', 0o666, 1, 3);
      fs.symlink('/etc/shadow', 'devlink/sh');
      assert.equal(fs.lstat('dev/null')?.kind, 'char');
      assert.equal(fs.lstat('dev/sh')?.kind, 'symlink');
      assert.ok(lstatSync(join(sb.root, 'dev/null')).isCharacterDevice());
    },
  },
];

for (const resolver of RESOLVERS) {
  describe(`rootfs confinement (${resolver})`, () => {
    for (const c of cases) {
      it(c.name, { skip: c.skip ?? false }, () => {
        const sb = makeSandbox('conf');
        const before = sb.snapshot();
        const fs = RootFS.open(sb.root, { resolver });
        try {
          assert.equal(fs.resolver, resolver);
          c.run(fs, sb);
          assert.equal(sb.snapshot(), before, 'the sentinel outside the rootfs changed');
        } finally {
          fs.close();
          sb.cleanup();
        }
      });
    }
  });
}
