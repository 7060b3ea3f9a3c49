// The mtree text form: vis encoding round trips for any name, go-mtree's own output (with
// /set defaults, relative dirs, "..") parses to the right model, our output parses back to
// the same model, and hostile mtrees are refused with EBUNDLE.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { unvis, vis } from '../../src/build/mtree-vis.js';
import { formatMtree, parseMtree, type Mtree } from '../../src/build/mtree-spec.js';

test('vis: names round trip and match go-mtree encoding', async (t) => {
  const cases: [string, string, string][] = [
    ['plain', 'bin/busybox', 'bin/busybox'],
    ['space and tab', 'a b\tc', 'a\\040b\\011c'],
    ['newline', 'x\ny', 'x\\012y'],
    ['glob characters', 'a*b?c[d#e', 'a\\052b\\077c\\133d\\043e'],
    ['backslash', 'back\\slash', 'back\\\\slash'],
    ['utf-8 bytes', 'ü', '\\303\\274'],
    ['equals stays', 'k=v', 'k=v'],
  ];
  for (const [name, input, encoded] of cases) {
    await t.test(name, () => {
      assert.equal(vis(input), encoded);
      assert.equal(unvis(encoded), input);
    });
  }
  await t.test('every byte value', () => {
    const all = Buffer.from(Array.from({ length: 255 }, (_, i) => i + 1));
    const s = all.toString('latin1');
    const enc = vis(Buffer.from(s, 'latin1'));
    assert.ok(!/[\s]/.test(enc), 'no white space in the encoding');
  });
  await t.test('other writers: C-style escapes', () => assert.equal(unvis('a\\sb\\nc'), 'a b\nc'));
  await t.test('malformed escape', () => assert.equal(unvis('bad\\'), null));
});

const GO_MTREE = `#          user: root
#      keywords: size,type,uid,gid,mode,link,nlink,tar_time,sha256digest,xattr

# .
/set type=file nlink=1 mode=0664 uid=0 gid=0
. size=4096 type=dir mode=0755 nlink=4 tar_time=1600000000.000000000
    linuxrc size=11 type=link mode=0777 link=bin/busybox tar_time=1600000001.000000000

# bin
bin size=4096 type=dir mode=0755 nlink=2 tar_time=1600000002.000000000
    busybox size=3 mode=04755 tar_time=1600000003.000000000 sha256digest=ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
    my\\040file size=0 mode=0644 tar_time=1 sha256digest=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 xattr.user.a=aGk=
..

# home/user
/set type=file nlink=1 mode=0664 uid=1000 gid=1000
home size=4096 type=dir mode=0755 nlink=3 tar_time=5.000000000 uid=0 gid=0
user size=4096 type=dir mode=0750 nlink=2 tar_time=6.000000000
    f size=0 type=fifo mode=0600 tar_time=7.000000000
..
..

..
`;

test('parses go-mtree output: /set defaults, relative dirs, "..", vis names, xattrs', () => {
  const m = parseMtree(GO_MTREE);
  assert.deepEqual([...m.keys()], ['.', 'linuxrc', 'bin', 'bin/busybox', 'bin/my file', 'home', 'home/user', 'home/user/f']);
  assert.deepEqual(m.get('bin/busybox'), { type: 'file', mode: 0o4755, uid: 0, gid: 0, nlink: 1, size: 3, tarTime: 1600000003, sha256: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad', xattrs: new Map() });
  assert.equal(m.get('linuxrc')!.link, 'bin/busybox');
  assert.deepEqual(m.get('bin/my file')!.xattrs, new Map([['user.a', 'aGk=']]));
  assert.equal(m.get('home/user')!.uid, 1000);
  assert.equal(m.get('home')!.uid, 0);
  assert.equal(m.get('home/user/f')!.type, 'fifo');
});

test('our output parses back to the same model', () => {
  const m: Mtree = parseMtree(GO_MTREE);
  const again = parseMtree([...formatMtree(m, { tree: '/x/rootfs', date: new Date(0) })].join(''));
  assert.deepEqual(again, m);
});

test('large trees come out in pieces of about 64 KiB, byte for byte the same text', () => {
  const file = (i: number) => ({ type: 'file' as const, mode: 0o644, uid: i % 7, gid: 0, size: i, tarTime: 1600000000 + i, sha256: i.toString(16).padStart(64, '0'), xattrs: new Map<string, string>() });
  const m: Mtree = new Map([['.', { type: 'dir', mode: 0o755, uid: 0, gid: 0, xattrs: new Map() }]]);
  // one directory of 3000 files (pieces end inside it), then 40 small ones, and odd names
  for (let i = 0; i < 3000; i++) m.set(`big/f${i}`, file(i));
  m.set('big', { type: 'dir', mode: 0o755, uid: 0, gid: 0, xattrs: new Map() });
  for (let d = 0; d < 40; d++) {
    m.set(`d${d}`, { type: 'dir', mode: 0o700, uid: d, gid: d, xattrs: new Map([['user.k', 'dg==']]) });
    for (let i = 0; i < 30; i++) m.set(`d${d}/n ${i}\\ é*`, file(i));
  }
  const pieces = [...formatMtree(m, { tree: '/x/rootfs', date: new Date(0) })];
  const text = pieces.join('');
  assert.ok(pieces.length > 4, `${pieces.length} pieces`);
  for (const p of pieces) assert.ok(p.length < 64 * 1024 + 512, `a piece of ${p.length} characters`);
  assert.ok(/^[\x0a\x20-\x7e]*$/.test(text), 'the text is ASCII');
  assert.deepEqual(parseMtree(text), m);
  // the same text as formatting the same tree again (nothing kept between runs)
  assert.equal([...formatMtree(m, { tree: '/x/rootfs', date: new Date(0) })].join(''), text);
});

const hostile: [string, string][] = [
  ['no root entry', 'a size=1 type=file\n'],
  ['dot-dot name', '. type=dir\n.. type=file\n'.replace('.. type=file', '\\056\\056 type=file')],
  ['full path escaping the root', '. type=dir\n../etc/passwd type=file\n'],
  ['full path through ..', '. type=dir\na/../../x type=file\n'],
  ['duplicate entry', '. type=dir\na type=file\na type=file\n'],
  ['unknown type', '. type=dir\na type=door\n'],
  ['mode out of range', '. type=dir\na type=file mode=077777\n'],
  ['bad uid', '. type=dir\na type=file uid=-1\n'],
  ['bad digest', '. type=dir\na type=file sha256digest=xyz\n'],
  ['xattr not base64', '. type=dir\na type=file xattr.user.a=%%%\n'],
  ['NUL in a name', '. type=dir\na\\000b type=file\n'],
  ['entry before the root', 'a type=file\n. type=dir\n'],
  ['unknown special', '/frob x=1\n. type=dir\n'],
];

test('hostile mtrees are refused with EBUNDLE', async (t) => {
  for (const [name, text] of hostile) {
    await t.test(name, () => assert.throws(() => parseMtree(text), (e: { code?: string }) => e.code === 'EBUNDLE'));
  }
});
