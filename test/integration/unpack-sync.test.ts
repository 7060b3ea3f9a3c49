// Durability of unpack, seen through the syscalls (strace -f): by default an unpack flushes
// nothing, as umoci and GNU tar (checked against umoci's own trace when it is installed);
// with --sync the rootfs is flushed (syncfs) before the rename that creates config.json and
// the whole bundle again before exit; layout writes (tag) stay fsynced whatever the flag, and a
// layer store entry is flushed before its marker says it is complete.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { writeRichImage } from '../../fixtures/images.js';
import { BIN, hasCommand, isRoot, scratchDir } from '../helpers/cli.js';
import { unpack } from '../../src/unpack.js';

const skip = hasCommand('strace') ? false : 'needs strace (apt-get install strace)';
const FLUSH = /^(fsync|fdatasync|syncfs|sync|sync_file_range)\(/;
let dir = '';
let image = '';
let n = 0;
before(() => {
  dir = scratchDir('sync');
  writeRichImage(join(dir, 'img'));
  image = `${join(dir, 'img')}:latest`;
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** The flush and rename syscalls of `cmd` and its children, in order, pid prefixes dropped. */
function traced(cmd: string[]): string[] {
  const out = join(dir, `trace-${++n}`);
  const r = spawnSync('strace', ['-f', '-qq', '-e', 'trace=fsync,fdatasync,syncfs,sync,sync_file_range,rename,renameat,renameat2', '-o', out, ...cmd], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, `${cmd.join(' ')}: ${r.stderr}`);
  return readFileSync(out, 'utf8')
    .split('\n')
    .map((l) => l.replace(/^\d+\s+/, ''))
    .filter((l) => /^(fsync|fdatasync|syncfs|sync|sync_file_range|rename|renameat|renameat2)\(/.test(l));
}

const flushes = (calls: string[]) => calls.filter((c) => FLUSH.test(c));
const renameTo = (calls: string[], name: string) => calls.findIndex((c) => c.startsWith('rename') && c.includes(`/${name}"`));
const rootless = isRoot() ? [] : ['--rootless'];

test('what unpack flushes', { skip }, async (t) => {
  const cases: { name: string; args: (b: string) => string[]; check: (calls: string[]) => void }[] = [
    {
      name: 'unpack: nothing, as umoci and tar',
      args: (b) => ['unpack', ...rootless, '--image', image, b],
      check: (calls) => assert.deepEqual(flushes(calls), []),
    },
    {
      name: 'unpack --no-mtree: nothing',
      args: (b) => ['unpack', ...rootless, '--no-mtree', '--image', image, b],
      check: (calls) => assert.deepEqual(flushes(calls), []),
    },
    {
      name: 'unpack --sync: the rootfs before config.json, the bundle before exit',
      args: (b) => ['unpack', ...rootless, '--sync', '--image', image, b],
      check: (calls) => {
        const config = renameTo(calls, 'config.json');
        assert.ok(config > 0, 'config.json renamed in');
        const before = calls.slice(0, config);
        assert.ok(before.some((c) => c.startsWith('syncfs(')), `a syncfs before config.json appears:\n${calls.join('\n')}`);
        assert.ok(before.at(-1)?.startsWith('fsync('), 'config.json itself fsynced before its rename');
        assert.ok(calls.lastIndexOf(calls.filter((c) => c.startsWith('syncfs(')).at(-1)!) > renameTo(calls, 'umoci.json'), 'a syncfs after the metadata');
      },
    },
    {
      name: 'raw unpack --sync: the rootfs after it is renamed in',
      args: (b) => ['raw', 'unpack', ...rootless, '--sync', '--image', image, join(b, 'rootfs')],
      check: (calls) => {
        const rootfs = renameTo(calls, 'rootfs');
        assert.ok(rootfs >= 0, 'rootfs renamed in');
        assert.ok(calls.slice(rootfs).some((c) => c.startsWith('syncfs(')), `a syncfs after the rename:\n${calls.join('\n')}`);
      },
    },
  ];
  for (const c of cases) {
    await t.test(c.name, () => c.check(traced([process.execPath, BIN, ...c.args(join(dir, `b-${n}`))])));
  }
});

test('a store entry is flushed (syncfs) before its marker is written, and only then renamed in', { skip }, () => {
  const out = join(dir, `trace-${++n}`);
  const store = join(dir, 'store');
  const r = spawnSync('strace', ['-f', '-qq', '-e', 'trace=fsync,syncfs,openat,rename', '-o', out, process.execPath, BIN, 'raw', 'unpack', ...rootless, `--store=${store}`, '--image', image, join(dir, 'from-store')], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  const calls = readFileSync(out, 'utf8').split('\n').map((l) => l.replace(/^\d+\s+/, ''));
  const markers = calls.flatMap((c, i) => (/^openat\(.*\/complete", O_WRONLY\|O_CREAT\|O_EXCL/.test(c) ? [i] : []));
  assert.equal(markers.length, 3, `one marker per layer of the rich image:\n${calls.filter((c) => c.includes('complete')).join('\n')}`);
  for (const m of markers) {
    const lastIndex = (pred: (c: string) => boolean) => calls.slice(0, m).reduce((at, c, i) => (pred(c) ? i : at), -1);
    const lastSync = lastIndex((c) => c.startsWith('syncfs('));
    const lastCreate = lastIndex((c) => /^openat\(.*O_CREAT/.test(c) && !c.includes('/complete"'));
    assert.ok(lastSync > lastCreate, `the syncfs comes after the entry's last other file and before its marker (${calls[m]})`);
  }
  assert.deepEqual(calls.filter((c) => c.startsWith('fsync(')), [], 'no per-file fsyncs left');
});

test('unpack --overlay --sync: the bundle is flushed after config.json, a plain overlay bundle flushes nothing', { skip: skip || (!isRoot() && 'needs root (overlay mount)') }, async (t) => {
  const store = join(dir, 'overlay-store');
  for (const [name, extra, want] of [['plain', [], false], ['--sync', ['--sync'], true]] as const) {
    await t.test(name, () => {
      const bundle = join(dir, `overlay-${name}`);
      try {
        const calls = traced([process.execPath, BIN, 'unpack', `--store=${store}`, '--overlay', ...extra, '--image', image, bundle]);
        const config = renameTo(calls, 'config.json');
        assert.ok(config > 0, 'config.json renamed in');
        const after = calls.slice(config).filter((c) => c.startsWith('syncfs('));
        assert.equal(after.length > 0, want, calls.join('\n'));
        // the store's own entries are flushed when they are made (first run only), never later
        if (name === '--sync') assert.deepEqual(flushes(calls.slice(0, config)), []);
      } finally {
        spawnSync(process.execPath, [BIN, 'umount', bundle], { stdio: 'ignore' });
      }
    });
  }
});

test('umoci unpack flushes nothing either (the default matches it)', { skip: skip || (!hasCommand('umoci') && 'needs umoci') || (!isRoot() && 'umoci unpack needs root without --rootless') }, () => {
  assert.deepEqual(flushes(traced(['umoci', 'unpack', '--image', image, join(dir, 'umoci-bundle')])), []);
});

test('layout writes stay durable: tag fsyncs index.json', { skip }, () => {
  const calls = traced([process.execPath, BIN, 'tag', '--image', image, 'synced']);
  const index = renameTo(calls, 'index.json');
  assert.ok(index > 0, 'index.json renamed in');
  assert.ok(calls[index - 1]?.startsWith('fsync('), 'index.json fsynced before its rename');
  assert.ok(calls.slice(index + 1).some((c) => c.startsWith('fsync(')), 'its directory fsynced after');
});

test('the library takes sync: true and checks its type', async () => {
  const bundle = join(dir, 'lib-bundle');
  const s = await unpack({ image, bundle, sync: true, ...(isRoot() ? {} : { rootless: true }) });
  assert.equal(s.config, join(bundle, 'config.json'));
  await assert.rejects(unpack({ image, bundle: join(dir, 'lib-2'), sync: 'yes' as unknown as boolean }), { code: 'EUSAGE', message: /option sync .*true or false/ });
});
