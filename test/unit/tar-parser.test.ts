// Unit tests of the streaming tar reader (src/layer/tar.ts) over archives built by
// fixtures/tar.ts: formats, numbers, names, PAX, sparse, framing, hostile input, chunking.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeTar, type FixtureEntry, type TarOptions } from '../../fixtures/tar.js';
import { collect } from '../helpers/tar-collect.js';
import { OciBundleError } from '../../src/errors.js';
import { TarParser } from '../../src/layer/tar.js';

const CAP = Buffer.from('0100000200200000000000000000000000000000', 'hex'); // v2 file capability: NULs etc.
const BIN = Buffer.from([0x00, 0xff, 0x0a, 0x3d, 0x20, 0xc3, 0x28, 0x80]); // NUL, LF, '=', invalid UTF-8

function one(e: FixtureEntry, opts?: TarOptions) {
  const r = collect(makeTar([e], opts));
  assert.equal(r.entries.length, 1);
  return r.entries[0]!;
}

function fails(buf: Buffer, code: string, re: RegExp, opts?: { maxEntrySize?: number }) {
  assert.throws(
    () => collect(buf, buf.length || 1, opts),
    (e: unknown) => e instanceof OciBundleError && e.code === code && re.test(e.message),
  );
}

test('entry types and metadata', () => {
  const r = collect(
    makeTar([
      { name: 'd/', type: 'dir', mode: 0o1777, uid: 5, gid: 6, mtime: 1234567890 },
      { name: 'd/f', content: 'hello', mode: 0o4755, uid: 1000, gid: 100 },
      { name: 'd/l', type: 'symlink', linkname: '../etc/passwd' },
      { name: 'd/h', type: 'hardlink', linkname: 'd/f' },
      { name: 'd/c', type: 'char', devmajor: 1, devminor: 3 },
      { name: 'd/b', type: 'block', devmajor: 8, devminor: 1 },
      { name: 'd/p', type: 'fifo', mode: 0o600 },
      { name: 'd/empty', content: '' },
    ]),
  );
  const got = r.entries.map((e) => [e.name, e.type, e.size, e.mode.toString(8), e.uid, e.gid, e.linkname, e.devmajor, e.devminor, e.data.toString()]);
  assert.deepEqual(got, [
    ['d/', 'dir', 0, '1777', 5, 6, '', 0, 0, ''],
    ['d/f', 'file', 5, '4755', 1000, 100, '', 0, 0, 'hello'],
    ['d/l', 'symlink', 0, '777', 0, 0, '../etc/passwd', 0, 0, ''],
    ['d/h', 'hardlink', 0, '644', 0, 0, 'd/f', 0, 0, ''],
    ['d/c', 'char', 0, '644', 0, 0, '', 1, 3, ''],
    ['d/b', 'block', 0, '644', 0, 0, '', 8, 1, ''],
    ['d/p', 'fifo', 0, '600', 0, 0, '', 0, 0, ''],
    ['d/empty', 'file', 0, '644', 0, 0, '', 0, 0, ''],
  ]);
  assert.deepEqual(r.entries[0]!.mtime, { sec: 1234567890, nsec: 0 });
  assert.equal(r.entries[0]!.atime, null);
  assert.equal(r.finished, true);
  assert.equal(r.viewsOnly, true, 'file data must be delivered as views into the input');
});

const nameCases: { name: string; entry: FixtureEntry; want: { name: string; linkname?: string } }[] = [
  { name: 'ustar prefix', entry: { name: `${'p'.repeat(120)}/${'n'.repeat(90)}`, longNameStyle: 'ustar-prefix' }, want: { name: `${'p'.repeat(120)}/${'n'.repeat(90)}` } },
  { name: 'gnu long name', entry: { name: 'g/'.repeat(200) + 'file', longNameStyle: 'gnu' }, want: { name: 'g/'.repeat(200) + 'file' } },
  { name: 'gnu long link', entry: { name: 'ln', type: 'symlink', linkname: 't/'.repeat(300), longNameStyle: 'gnu' }, want: { name: 'ln', linkname: 't/'.repeat(300) } },
  { name: 'pax path and linkpath', entry: { name: 'é/'.repeat(80) + 'x', type: 'hardlink', linkname: 'ü'.repeat(90) }, want: { name: 'é/'.repeat(80) + 'x', linkname: 'ü'.repeat(90) } },
  { name: 'utf-8 name in the header', entry: { name: 'naïve-日本' }, want: { name: 'naïve-日本' } },
  { name: 'names are not normalised', entry: { name: './a/../../b//c' }, want: { name: './a/../../b//c' } },
  { name: 'pax path wins over gnu long name', entry: { name: 'x'.repeat(150), longNameStyle: 'gnu', pax: { path: 'from-pax' } }, want: { name: 'from-pax' } },
];
for (const c of nameCases) {
  test(`names: ${c.name}`, () => {
    const e = one(c.entry);
    assert.equal(e.name, c.want.name);
    if (c.want.linkname !== undefined) assert.equal(e.linkname, c.want.linkname);
  });
}

test('pax numbers, times with nanoseconds and negative times', () => {
  const e = one({ name: 'f', uid: 3_000_000_000, gid: 70_000_000, mtime: { sec: 1700000000, nsec: 123456789 }, atime: { sec: -2, nsec: 500_000_000 } });
  assert.equal(e.uid, 3_000_000_000);
  assert.equal(e.gid, 70_000_000);
  assert.deepEqual(e.mtime, { sec: 1700000000, nsec: 123456789 });
  assert.deepEqual(e.atime, { sec: -2, nsec: 500_000_000 });
  const raw = one({ name: 'g', pax: { mtime: '-1.25', atime: '12.0000000019' } });
  assert.deepEqual(raw.mtime, { sec: -2, nsec: 750_000_000 });
  assert.deepEqual(raw.atime, { sec: 12, nsec: 1 }, 'fraction digits beyond 9 are truncated');
});

test('xattrs are raw bytes (SCHILY) and base64-decoded (LIBARCHIVE)', () => {
  const e = one({
    name: 'bin/ping',
    content: 'x',
    xattrs: { 'security.capability': CAP, 'user.bin': BIN, 'user.text': 'hé' },
    pax: { 'LIBARCHIVE.xattr.user.b%3Dq': BIN.toString('base64'), 'LIBARCHIVE.xattr.trusted.x': 'AAE' },
  });
  assert.deepEqual([...e.xattrs.keys()].sort(), ['security.capability', 'trusted.x', 'user.b=q', 'user.bin', 'user.text']);
  assert.ok(e.xattrs.get('security.capability')!.equals(CAP));
  assert.ok(e.xattrs.get('user.bin')!.equals(BIN));
  assert.equal(e.xattrs.get('user.text')!.toString(), 'hé');
  assert.ok(e.xattrs.get('user.b=q')!.equals(BIN));
  assert.ok(e.xattrs.get('trusted.x')!.equals(Buffer.from([0, 1])));
});

test('numeric fields: base-256, spaces and NULs, masked mode', () => {
  const big = one({ name: 'f', content: 'abc', uid: 0o7777777 + 5, gid: 2 ** 40, mtime: -86400, raw: { base256: ['size', 'uid', 'gid', 'mtime'] } });
  assert.equal(big.size, 3);
  assert.equal(big.data.toString(), 'abc');
  assert.equal(big.uid, 0o7777777 + 5);
  assert.equal(big.gid, 2 ** 40);
  assert.deepEqual(big.mtime, { sec: -86400, nsec: 0 });
  const sp = one({ name: 'f', raw: { mode: '  4755 \0', uid: ' 17\0    ', gid: '\0\0\0\0\0\0\0\0', mtime: '17 ' } });
  assert.equal(sp.mode, 0o4755);
  assert.equal(sp.uid, 0o17);
  assert.equal(sp.gid, 0);
  assert.equal(sp.mtime.sec, 0o17);
  assert.equal(one({ name: 'f', raw: { mode: 0o100640 } }).mode, 0o640, 'file type bits in mode are dropped');
  assert.equal(one({ name: 'f', raw: { checksum: 'signed', name: 'f\xff' } }).name.length > 0, true, 'signed checksums accepted');
});

test('framing: trailers, junk, empty input, typeflags 7 and \\0, trailing slash directories', () => {
  const base: FixtureEntry[] = [{ name: 'a', content: 'A' }];
  for (const trailer of [0, 1, 2] as const) {
    const r = collect(makeTar(base, { trailer }));
    assert.equal(r.entries.length, 1, `trailer ${trailer}`);
  }
  const junk = collect(makeTar(base, { junk: Buffer.from('x'.repeat(3000)), recordSize: 10240 }));
  assert.equal(junk.finished, true);
  assert.equal(junk.entries.length, 1);
  assert.deepEqual(collect(Buffer.alloc(0)).entries, []);
  const types = collect(
    makeTar([
      { name: 'c', content: 'C', raw: { typeflag: '7' } },
      { name: 'n', content: 'N', raw: { typeflag: 0 } },
      { name: 'olddir/', raw: { typeflag: 0 } },
      { name: 'newdir/', content: 'ignored data', raw: { typeflag: '0' } },
      { name: 'after', content: 'ok' },
    ]),
  );
  assert.deepEqual(
    types.entries.map((e) => [e.name, e.type, e.data.toString()]),
    [['c', 'file', 'C'], ['n', 'file', 'N'], ['olddir/', 'dir', ''], ['newdir/', 'dir', ''], ['after', 'file', 'ok']],
  );
  const gl = collect(makeTar([{ name: 'g', type: 'global', pax: { comment: 'x', mtime: '5', path: 'evil' } }, ...base]));
  assert.deepEqual(gl.entries.map((e) => [e.name, e.mtime.sec]), [['a', 1700000000]], 'global headers are accepted and ignored');
  const sized = one({ name: 'p', content: 'twelve bytes', raw: { size: 3 }, pax: { size: '12' } });
  assert.equal(sized.data.toString(), 'twelve bytes', 'pax size overrides the header size');
  const linkSize = collect(makeTar([{ name: 'l', type: 'symlink', linkname: 't', raw: { size: 10 } }, { name: 'next', content: 'n' }]));
  assert.deepEqual(linkSize.entries.map((e) => [e.name, e.size]), [['l', 0], ['next', 1]], 'types 1-6 carry no data');
});

const hostile: { name: string; buf: () => Buffer; code?: string; re: RegExp; max?: number }[] = [
  { name: 'bad checksum', buf: () => makeTar([{ name: 'f', raw: { checksum: 'bad' } }]), re: /bad tar header checksum \(archive offset 0\)/ },
  { name: 'unknown type V', buf: () => makeTar([{ name: 'vol', raw: { typeflag: 'V' } }]), re: /unsupported tar entry type 'V' \(0x56\).*"vol"/ },
  { name: 'unknown type D', buf: () => makeTar([{ name: 'dd', raw: { typeflag: 'D' } }]), re: /unsupported tar entry type 'D'/ },
  { name: 'negative base-256 size', buf: () => makeTar([{ name: 'f', raw: { size: -1, base256: ['size'] } }]), re: /negative base-256 size/ },
  { name: 'negative base-256 uid', buf: () => makeTar([{ name: 'f', uid: -5, raw: { base256: ['uid'] } }]), re: /negative base-256 uid/ },
  { name: 'size over 2^53', buf: () => makeTar([{ name: 'f', raw: { bytes: [{ offset: 124, data: Buffer.from('80ffffffffffffffffffffff', 'hex') }] } }]), re: /exceeds 2\^53/ },
  { name: 'pax size over 2^53', buf: () => makeTar([{ name: 'f', pax: { size: '99999999999999999' } }]), re: /pax size/ },
  { name: 'size over maxEntrySize', buf: () => makeTar([{ name: 'big', content: 'x'.repeat(100) }]), code: 'ELIMIT', re: /"big" declares 100 bytes.*99-byte/, max: 99 },
  { name: 'bad octal', buf: () => makeTar([{ name: 'f', raw: { uid: '12x4' } }]), re: /invalid octal uid field/ },
  { name: 'invalid utf-8 name', buf: () => makeTar([{ name: 'x', raw: { name: Buffer.from([0x61, 0xff, 0x62]) } }]), re: /entry name is not valid utf-8/ },
  { name: 'invalid utf-8 pax path', buf: () => makeTar([{ name: 'x', pax: { path: Buffer.from([0xc3, 0x28]) } }]), re: /pax path is not valid utf-8/ },
  { name: 'nul in pax path', buf: () => makeTar([{ name: 'x', pax: { path: Buffer.from('a\0b') } }]), re: /pax path contains a nul/ },
  { name: 'pax record length too long', buf: () => makeTar([{ name: 'x', pax: { comment: 'c' }, raw: {} }]).fill(0x39, 512, 513), re: /pax record at byte 0/ },
  { name: 'truncated mid-header', buf: () => makeTar([{ name: 'f', content: 'x' }], { truncateAt: 300 }), re: /truncated inside a header/ },
  { name: 'truncated mid-data', buf: () => makeTar([{ name: 'f', content: 'x'.repeat(2000) }], { truncateAt: 1024 }), re: /1488 of 2000 data bytes of entry "f" are missing/ },
  { name: 'truncated in padding', buf: () => makeTar([{ name: 'f', content: 'x' }], { truncateAt: 600 }), re: /truncated after entry|truncated \(/ },
  { name: 'declared size beyond the data', buf: () => makeTar([{ name: 'f', content: 'x', raw: { size: 5000 } }]), re: /data bytes of entry "f" are missing/ },
  { name: 'pax header with no entry', buf: () => makeTar([{ name: 'x', pax: { comment: 'c' } }]).subarray(0, 1024), re: /ends after a long-name or pax header/ },
  { name: 'zero block then header', buf: () => Buffer.concat([Buffer.alloc(512), makeTar([{ name: 'f' }])]), re: /header follows a single zero block/ },
  { name: 'bad sparse map', buf: () => makeTar([{ name: 's', content: Buffer.alloc(100, 1), sparse: { format: 'pax-0.1', map: [[50, 10], [40, 10]] } }]), re: /overlaps or exceeds/ },
  { name: 'sparse map past the real size', buf: () => makeTar([{ name: 's', content: 'abc', pax: { 'GNU.sparse.size': '2' }, sparse: { format: 'pax-0.0', map: [[0, 3]] } }]), re: /overlaps or exceeds/ },
  { name: 'long name over 1 MiB', buf: () => makeTar([{ name: 'n'.repeat(1024 * 1024 + 1), longNameStyle: 'gnu' }]), re: /'L' header of 1048578 bytes exceeds/ },
];
for (const c of hostile) {
  test(`hostile: ${c.name}`, () => fails(c.buf(), c.code ?? 'ETAR', c.re, c.max === undefined ? undefined : { maxEntrySize: c.max }));
}

test('sparse files are expanded (old GNU with extension blocks, PAX 0.0, 0.1, 1.0)', () => {
  const logical = Buffer.alloc(300_000);
  const map: [number, number][] = [];
  for (let i = 0; i < 30; i++) {
    const off = 1000 + i * 9000;
    logical.fill(65 + (i % 26), off, off + 700 + i);
    map.push([off, 700 + i]);
  }
  map.push([300_000, 0]);
  for (const format of ['gnu-old', 'pax-0.0', 'pax-0.1', 'pax-1.0'] as const) {
    for (const chunk of [100, 4096, 1 << 20]) {
      const r = collect(makeTar([{ name: 'dir/sparse', content: logical, sparse: { format, map }, mode: 0o600 }, { name: 'next', content: 'n' }]), chunk);
      assert.deepEqual(r.entries.map((e) => [e.name, e.type, e.size]), [['dir/sparse', 'file', 300_000], ['next', 'file', 1]], `${format}/${chunk}`);
      assert.ok(r.entries[0]!.data.equals(logical), `${format}/${chunk}: expanded bytes`);
    }
  }
});

test('sparse maps spanning several blocks (200 fragments)', () => {
  const logical = Buffer.alloc(1_000_000);
  const map: [number, number][] = [];
  for (let i = 0; i < 200; i++) {
    logical.fill(1 + (i % 250), i * 4096, i * 4096 + 512);
    map.push([i * 4096, 512]);
  }
  for (const format of ['gnu-old', 'pax-0.0', 'pax-0.1', 'pax-1.0'] as const) {
    for (const chunk of [512, 3000]) {
      const r = collect(makeTar([{ name: 'many', content: logical, sparse: { format, map } }]), chunk);
      assert.ok(r.entries[0]!.data.equals(logical), `${format}/${chunk}`);
    }
  }
});

test('hostile sparse 1.0 maps', () => {
  const alias = 'GNUSparseFile.0/s';
  const hdr = { 'GNU.sparse.major': '1', 'GNU.sparse.minor': '0', 'GNU.sparse.name': 's', 'GNU.sparse.realsize': '10' };
  fails(makeTar([{ name: alias, content: Buffer.from('99999999\n'.padEnd(512, '\0')), pax: hdr }]), 'ETAR', /declares 99999999 fragments/);
  fails(makeTar([{ name: alias, content: Buffer.from('2\n0\n1\n'.padEnd(1024, '7')), pax: hdr }]), 'ETAR', /unterminated or too large/);
  fails(makeTar([{ name: alias, content: Buffer.from('1\nx\n1\n'.padEnd(512, '\0')), pax: hdr }]), 'ETAR', /bad number "x"/);
});

test('chunking invariance: every chunk size yields the same entries and data', () => {
  const buf = makeTar([
    { name: 'a'.repeat(150), content: 'x'.repeat(1000), longNameStyle: 'gnu' },
    { name: 'b', content: Buffer.alloc(513, 7), xattrs: { 'user.k': BIN } },
    { name: 'c/', type: 'dir' },
    { name: 's', content: Buffer.alloc(5000, 0), sparse: { format: 'pax-1.0', map: [[4000, 10]] } },
    { name: 'd', type: 'symlink', linkname: 'l'.repeat(200) },
  ]);
  const whole = collect(buf);
  for (const n of [1, 7, 100, 511, 512, 513, 1024, 4095]) {
    assert.deepEqual(collect(buf, n), whole, `chunk ${n}`);
  }
});

test('finished, ignored tail, and errors stick', () => {
  const buf = makeTar([{ name: 'f', content: 'x' }], { junk: Buffer.from('garbage') });
  const seen: string[] = [];
  const p = new TarParser({ onEntry: (e) => seen.push(e.name), onData: () => {}, onEntryEnd: () => {} });
  p.write(buf.subarray(0, 1536));
  assert.equal(p.finished, false);
  p.write(buf.subarray(1536));
  assert.equal(p.finished, true);
  p.write(Buffer.from('more junk is ignored'));
  p.end();
  assert.deepEqual(seen, ['f']);
  const q = new TarParser({ onEntry: () => {}, onData: () => {}, onEntryEnd: () => {} });
  assert.throws(() => q.write(makeTar([{ name: 'f', raw: { checksum: 'bad' } }])), /checksum/);
  assert.throws(() => q.write(Buffer.alloc(512)), /checksum/, 'a failed parser keeps failing');
  assert.throws(() => q.end(), /checksum/);
});
