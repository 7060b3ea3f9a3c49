// Differential tests of the tar reader: archives written by GNU tar (gnu, oldgnu, posix,
// ustar, v7 and the sparse formats) and by fixtures/tar.ts are parsed by our reader,
// tar-stream's extract and `tar -tvf`; names, types, sizes, modes, owners, links must agree.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, symlinkSync, linkSync, chmodSync, rmSync, readFileSync, openSync, writeSync, closeSync, ftruncateSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import tarStream from 'tar-stream';
import { makeTar, type FixtureEntry } from '../../fixtures/tar.js';
import { collect, gnuTarList, modeString, type Collected } from '../helpers/tar-collect.js';

const isRoot = process.getuid?.() === 0;
let dir = '';

function sh(cmd: string, args: string[], cwd?: string): Buffer {
  const r = spawnSync(cmd, args, { cwd, maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr.toString()}`);
  return r.stdout;
}

before(() => {
  dir = mkdtempSync('/dev/shm/tar-xcheck-');
  const root = join(dir, 'root');
  const short = join(root, 'short');
  mkdirSync(join(short, 'sub', 'empty'), { recursive: true });
  for (const [name, size] of [['zero', 0], ['one', 1], ['b511', 511], ['b512', 512], ['b513', 513], ['big', 100_000]] as const) {
    writeFileSync(join(short, name), Buffer.alloc(size, name.charCodeAt(0)));
  }
  writeFileSync(join(short, 'sub', 'naïve-日本'), 'unicode');
  chmodSync(join(short, 'one'), 0o4755);
  chmodSync(join(short, 'b511'), 0o2710);
  chmodSync(join(short, 'sub'), 0o1777);
  symlinkSync('../short/big', join(short, 'sub', 'link'));
  linkSync(join(short, 'big'), join(short, 'hard'));
  sh('mkfifo', [join(short, 'fifo')]);
  if (isRoot) {
    sh('mknod', [join(short, 'null'), 'c', '1', '3']);
    sh('mknod', [join(short, 'blk'), 'b', '7', '200']);
    sh('chown', ['1234:5678', join(short, 'b512')]);
  }
  const long = join(root, 'long', 'd'.repeat(90), 'e'.repeat(90), 'f'.repeat(90));
  mkdirSync(long, { recursive: true });
  writeFileSync(join(long, 'n'.repeat(120)), 'deep');
  symlinkSync('t/'.repeat(80), join(long, 'longlink'));
  linkSync(join(long, 'n'.repeat(120)), join(root, 'long', 'hard-to-long'));
  // A sparse file: data islands in a 3 MiB file (tmpfs reports holes through SEEK_HOLE).
  const fd = openSync(join(root, 'sparse'), 'w');
  ftruncateSync(fd, 3 * 1024 * 1024);
  for (const off of [0, 700_000, 1_500_123, 3 * 1024 * 1024 - 10]) writeSync(fd, Buffer.alloc(10, 0x5a), 0, 10, off);
  closeSync(fd);
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Row {
  name: string;
  type: string;
  size: number;
  mode: number;
  uid: number;
  gid: number;
  linkname: string;
}

const TS_TYPES: Record<string, string> = {
  file: 'file', 'contiguous-file': 'file', link: 'hardlink', symlink: 'symlink', 'character-device': 'char',
  'block-device': 'block', directory: 'dir', fifo: 'fifo',
};

async function tarStreamRows(buf: Buffer): Promise<Row[]> {
  const rows: Row[] = [];
  const ex = tarStream.extract({ allowUnknownFormat: true } as Parameters<typeof tarStream.extract>[0]);
  const done = new Promise<void>((resolve, reject) => {
    ex.on('entry', (h, stream, next) => {
      rows.push({
        name: h.name,
        type: TS_TYPES[h.type ?? 'file'] ?? `?${h.type}`,
        size: h.type === 'file' || h.type === 'contiguous-file' ? (h.size ?? 0) : 0,
        mode: (h.mode ?? 0) & 0o7777,
        uid: h.uid ?? 0,
        gid: h.gid ?? 0,
        linkname: h.linkname ?? '',
      });
      stream.on('end', next);
      stream.resume();
    });
    ex.on('finish', resolve);
    ex.on('error', reject);
  });
  Readable.from([buf]).pipe(ex);
  await done;
  return rows;
}

function ourRows(entries: Collected[]): Row[] {
  return entries.map((e) => ({ name: e.name, type: e.type, size: e.size, mode: e.mode, uid: e.uid, gid: e.gid, linkname: e.linkname }));
}

function compareWithGnu(entries: Collected[], buf: Buffer, label: string): void {
  const gnu = gnuTarList(buf);
  assert.equal(entries.length, gnu.length, `${label}: entry count`);
  entries.forEach((e, i) => {
    const g = gnu[i]!;
    assert.equal(e.name, g.name, `${label}: name #${i}`);
    assert.equal(modeString(e), g.mode, `${label}: mode of ${e.name}`);
    assert.equal(`${e.uid}/${e.gid}`, g.owner, `${label}: owner of ${e.name}`);
    if (e.type === 'file') assert.equal(e.size, g.size, `${label}: size of ${e.name}`);
    if (e.type === 'symlink' || e.type === 'hardlink') assert.equal(e.linkname, g.link, `${label}: link of ${e.name}`);
  });
}

const formats: { format: string; paths: string[]; extra?: string[] }[] = [
  { format: 'gnu', paths: ['short', 'long'] },
  { format: 'oldgnu', paths: ['short', 'long'] },
  { format: 'posix', paths: ['short', 'long'], extra: ['--xattrs'] },
  { format: 'ustar', paths: ['short'] },
  { format: 'v7', paths: ['short/sub', 'short/big', 'short/hard'] },
];

for (const f of formats) {
  test(`gnu tar --format=${f.format}: ours == tar-stream == tar -tv`, async () => {
    const buf = sh('tar', ['-C', join(dir, 'root'), `--format=${f.format}`, ...(f.extra ?? []), '-cf', '-', ...f.paths]);
    const ours = collect(buf, 4096);
    assert.ok(ours.entries.length >= 3);
    assert.deepEqual(ourRows(ours.entries), await tarStreamRows(buf), 'tar-stream agrees');
    compareWithGnu(ours.entries, buf, f.format);
    // 'big' and 'hard' are one inode: whichever comes first carries the data.
    const big = ours.entries.find((e) => (e.name === 'short/big' || e.name === 'short/hard') && e.type === 'file');
    assert.ok(big?.data.equals(readFileSync(join(dir, 'root', 'short', 'big'))), 'file data');
  });
}

for (const sv of ['gnu', '0.0', '0.1', '1.0']) {
  test(`gnu tar sparse ${sv}: expanded bytes equal the file`, () => {
    const args = sv === 'gnu' ? ['--format=gnu'] : ['--format=posix', `--sparse-version=${sv}`];
    const buf = sh('tar', ['-C', join(dir, 'root'), '--sparse', ...args, '-cf', '-', 'sparse']);
    assert.ok(buf.length < 100_000, 'the archive really is sparse');
    const r = collect(buf, 10_000);
    assert.equal(r.entries.length, 1);
    assert.equal(r.entries[0]!.name, 'sparse');
    assert.equal(r.entries[0]!.size, 3 * 1024 * 1024);
    assert.ok(r.entries[0]!.data.equals(readFileSync(join(dir, 'root', 'sparse'))));
  });
}

const fixtureEntries: FixtureEntry[] = [
  { name: 'etc/', type: 'dir' },
  { name: 'etc/passwd', content: 'root:x:0:0::/root:/bin/sh\n', uid: 7, gid: 8 },
  { name: 'bin/ping', content: 'elf', mode: 0o4755, xattrs: { 'security.capability': Buffer.from([1, 0, 0, 2, 0, 0x20]) } },
  { name: 'x/'.repeat(70) + 'gnu', content: 'g', longNameStyle: 'gnu' },
  { name: 'y/'.repeat(70) + 'pax', content: 'p', longNameStyle: 'pax' },
  { name: 'z'.repeat(140) + '/prefix', content: 'u', longNameStyle: 'ustar-prefix' },
  { name: 'lnk', type: 'symlink', linkname: 'q/'.repeat(90) },
  { name: 'hard', type: 'hardlink', linkname: 'etc/passwd' },
  { name: 'dev/null', type: 'char', devmajor: 1, devminor: 3, mode: 0o666 },
  { name: 'fifo', type: 'fifo' },
  { name: 'bigid', content: 'b', uid: 3_000_000, gid: 2_500_000, raw: { base256: ['uid', 'gid'] } },
];

test('fixtures/tar.ts archives: ours == tar-stream == tar -tv', async () => {
  const buf = makeTar(fixtureEntries);
  const ours = collect(buf);
  assert.equal(ours.entries.length, fixtureEntries.length);
  assert.deepEqual(ourRows(ours.entries), await tarStreamRows(buf));
  compareWithGnu(ours.entries, buf, 'fixture');
});

test('fixtures/tar.ts sparse formats extract identically with gnu tar', () => {
  // GNU tar reads each fragment from a fresh block while Go (and we) read them back to back;
  // real writers only emit block-multiple fragments before the last, where both agree.
  const logical = Buffer.alloc(200_000);
  logical.fill(0x41, 512, 1536);
  logical.fill(0x42, 150_016, 150_116);
  const map: [number, number][] = [[512, 1024], [150_016, 100], [200_000, 0]];
  for (const format of ['gnu-old', 'pax-0.0', 'pax-0.1', 'pax-1.0'] as const) {
    const out = join(dir, `x-${format}`);
    mkdirSync(out);
    const buf = makeTar([{ name: 'sp', content: logical, sparse: { format, map } }]);
    const r = spawnSync('tar', ['-C', out, '-xf', '-'], { input: buf });
    assert.equal(r.status, 0, `${format}: ${r.stderr.toString()}`);
    assert.ok(readFileSync(join(out, 'sp')).equals(logical), `${format}: gnu tar extracts the fixture`);
    assert.ok(collect(buf).entries[0]!.data.equals(logical), `${format}: we expand the fixture`);
  }
});
