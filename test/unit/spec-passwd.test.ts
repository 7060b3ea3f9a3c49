// parsePasswd / parseGroup: tolerant of junk lines, never guessing an id, capped in size.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseGroup, parsePasswd, SPEC_LIMITS } from '../../src/spec/index.js';

describe('parsePasswd', () => {
  const cases: { name: string; text: string; want: { name: string; uid: number; gid: number; home: string }[] }[] = [
    { name: 'empty text', text: '', want: [] },
    { name: 'one full line', text: 'root:x:0:0:root:/root:/bin/sh\n', want: [{ name: 'root', uid: 0, gid: 0, home: '/root' }] },
    { name: 'no trailing newline', text: 'a:x:5:6::/h:/bin/sh', want: [{ name: 'a', uid: 5, gid: 6, home: '/h' }] },
    { name: 'crlf line ends', text: 'a:x:5:6::/h:/bin/sh\r\nb:x:7:8::/g:\r\n', want: [{ name: 'a', uid: 5, gid: 6, home: '/h' }, { name: 'b', uid: 7, gid: 8, home: '/g' }] },
    { name: 'comments and blank lines skipped', text: '# c\n\n  \na:x:1:1::/h:\n', want: [{ name: 'a', uid: 1, gid: 1, home: '/h' }] },
    { name: 'nis compat lines skipped', text: '+nis::::::\n-bad::::::\n+::::::\na:x:1:1::/h:\n', want: [{ name: 'a', uid: 1, gid: 1, home: '/h' }] },
    { name: 'short line (4 fields) has empty home', text: 'a:x:1:2', want: [{ name: 'a', uid: 1, gid: 2, home: '' }] },
    { name: 'too short line skipped', text: 'a:x:1\n', want: [] },
    { name: 'empty name skipped', text: ':x:1:1::/h:\n', want: [] },
    { name: 'non-numeric uid skipped, not uid 0', text: 'a:x:abc:1::/h:\n', want: [] },
    { name: 'empty uid skipped', text: 'a:x::1::/h:\n', want: [] },
    { name: 'negative uid skipped', text: 'a:x:-1:1::/h:\n', want: [] },
    { name: 'signed uid skipped', text: 'a:x:+1:1::/h:\n', want: [] },
    { name: 'hex uid skipped', text: 'a:x:0x10:1::/h:\n', want: [] },
    { name: 'uid with spaces skipped', text: 'a:x: 1:1::/h:\n', want: [] },
    { name: 'uid 4294967295 (-1) skipped', text: 'a:x:4294967295:1::/h:\n', want: [] },
    { name: 'uid 4294967294 kept', text: 'a:x:4294967294:1::/h:\n', want: [{ name: 'a', uid: 4294967294, gid: 1, home: '/h' }] },
    { name: 'huge uid skipped', text: 'a:x:99999999999999999999:1::/h:\n', want: [] },
    { name: 'bad gid skipped', text: 'a:x:1:z::/h:\n', want: [] },
    { name: 'line with nul skipped', text: 'a:x:1:1::/h\0:\nb:x:2:2::/g:\n', want: [{ name: 'b', uid: 2, gid: 2, home: '/g' }] },
    { name: 'duplicates kept in file order', text: 'a:x:1:1::/one:\na:x:2:2::/two:\n', want: [{ name: 'a', uid: 1, gid: 1, home: '/one' }, { name: 'a', uid: 2, gid: 2, home: '/two' }] },
    { name: 'extra fields tolerated', text: 'a:x:1:1::/h:/bin/sh:extra:more\n', want: [{ name: 'a', uid: 1, gid: 1, home: '/h' }] },
  ];
  for (const c of cases) test(c.name, () => assert.deepEqual(parsePasswd(c.text), c.want));

  test('text over the size cap fails with ELIMIT', () => {
    const big = 'a'.repeat(SPEC_LIMITS.passwdBytes + 1);
    assert.throws(() => parsePasswd(big), { code: 'ELIMIT' });
  });
  test('a long but legal file parses every line', () => {
    const text = Array.from({ length: 20000 }, (_, i) => `u${i}:x:${i}:${i}::/home/u${i}:/bin/sh`).join('\n');
    const got = parsePasswd(text);
    assert.equal(got.length, 20000);
    assert.deepEqual(got[19999], { name: 'u19999', uid: 19999, gid: 19999, home: '/home/u19999' });
  });
  test('a non-string is refused with ECONFIG', () => {
    assert.throws(() => parsePasswd(42 as unknown as string), { code: 'ECONFIG' });
  });
});

describe('parseGroup', () => {
  const cases: { name: string; text: string; want: { name: string; gid: number; members: string[] }[] }[] = [
    { name: 'empty text', text: '', want: [] },
    { name: 'no members', text: 'g:x:5:\n', want: [{ name: 'g', gid: 5, members: [] }] },
    { name: 'three fields only', text: 'g:x:5', want: [{ name: 'g', gid: 5, members: [] }] },
    { name: 'members', text: 'g:x:5:a,b,c\n', want: [{ name: 'g', gid: 5, members: ['a', 'b', 'c'] }] },
    { name: 'empty member names dropped', text: 'g:x:5:a,,b,\n', want: [{ name: 'g', gid: 5, members: ['a', 'b'] }] },
    { name: 'crlf', text: 'g:x:5:a\r\n', want: [{ name: 'g', gid: 5, members: ['a'] }] },
    { name: 'comment and nis lines skipped', text: '# x\n+:::\ng:x:5:a\n', want: [{ name: 'g', gid: 5, members: ['a'] }] },
    { name: 'too short skipped', text: 'g:x\n', want: [] },
    { name: 'bad gid skipped', text: 'g:x:five:a\nh:x:6:\n', want: [{ name: 'h', gid: 6, members: [] }] },
    { name: 'gid -1 skipped', text: 'g:x:4294967295:a\n', want: [] },
    { name: 'nul line skipped', text: 'g:x:5:a\0\n', want: [] },
  ];
  for (const c of cases) test(c.name, () => assert.deepEqual(parseGroup(c.text), c.want));

  test('text over the size cap fails with ELIMIT', () => {
    assert.throws(() => parseGroup('g'.repeat(SPEC_LIMITS.passwdBytes + 1)), { code: 'ELIMIT' });
  });
});
