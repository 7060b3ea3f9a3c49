// POSIX pax: a record whose value is empty deletes the keyword, so the ustar header's own
// value applies. One case per header field a PAX record can override.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeTar } from '../../fixtures/tar.js';
import { collect } from '../helpers/tar-collect.js';

test('an empty pax value falls back to the header value', async (t) => {
  const header = { name: 'from-header', content: 'abc', uid: 7, gid: 8, mtime: { sec: 1500000000, nsec: 0 } };
  const cases: [string, string, (e: ReturnType<typeof collect>['entries'][number]) => unknown, unknown][] = [
    ['path', 'path', (e) => e.name, 'from-header'],
    ['size', 'size', (e) => e.size, 3],
    ['uid', 'uid', (e) => e.uid, 7],
    ['gid', 'gid', (e) => e.gid, 8],
    ['mtime', 'mtime', (e) => e.mtime.sec, 1500000000],
    ['atime', 'atime', (e) => e.atime, null],
    ['linkpath', 'linkpath', (e) => e.linkname, 'header-target'],
  ];
  for (const [name, key, get, want] of cases) {
    await t.test(name, () => {
      const entry = key === 'linkpath'
        ? { name: 'l', type: 'symlink' as const, linkname: 'header-target', pax: { linkpath: '' } }
        : { ...header, pax: { [key]: '' } };
      const { entries } = collect(makeTar([entry]));
      assert.equal(entries.length, 1);
      assert.deepEqual(get(entries[0]!), want);
    });
  }
  await t.test('a non-empty value still overrides', () => {
    const { entries } = collect(makeTar([{ ...header, pax: { uid: '42', path: 'from-pax' } }]));
    assert.equal(entries[0]!.uid, 42);
    assert.equal(entries[0]!.name, 'from-pax');
  });
});
