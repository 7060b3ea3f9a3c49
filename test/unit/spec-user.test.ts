// Config.User resolution: every user form, names through passwd/group, numbers verbatim,
// supplementary groups only for a bare user name, ENOUSER for unknown names.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { resolveUser } from '../../src/spec/index.js';
import { GROUP, PASSWD } from '../helpers/spec-fixtures.js';

describe('resolveUser forms', () => {
  const cases: { name: string; user: string | undefined; passwd?: string | null; group?: string | null; want: object }[] = [
    { name: 'absent is root, home from passwd', user: undefined, want: { uid: 0, gid: 0, home: '/root' } },
    { name: 'empty is root', user: '', want: { uid: 0, gid: 0, home: '/root' } },
    { name: 'empty without passwd is 0:0 with no home', user: '', passwd: null, group: null, want: { uid: 0, gid: 0 } },
    { name: 'user name: uid, primary gid, groups listing it, home', user: 'daemon', want: { uid: 1, gid: 1, additionalGids: [3, 4], home: '/usr/sbin' } },
    { name: 'user name: groups in /etc/group order', user: 'alice', want: { uid: 1000, gid: 1000, additionalGids: [4, 50, 10], home: '/home/alice' } },
    { name: 'user name in no group: empty additionalGids', user: 'root', want: { uid: 0, gid: 0, additionalGids: [], home: '/root' } },
    { name: 'user name without /etc/group: no groups', user: 'alice', group: null, want: { uid: 1000, gid: 1000, additionalGids: [], home: '/home/alice' } },
    { name: 'user name with empty home field', user: 'nohome', want: { uid: 1001, gid: 1001, additionalGids: [] } },
    { name: 'duplicate user name: first entry wins', user: 'dup', want: { uid: 1002, gid: 1002, additionalGids: [], home: '/first' } },
    { name: 'uid in passwd: gid and home from it, no additionalGids', user: '1000', want: { uid: 1000, gid: 1000, home: '/home/alice' } },
    { name: 'uid not in passwd: used as is, gid 0', user: '4242', want: { uid: 4242, gid: 0 } },
    { name: 'uid without passwd: used as is', user: '4242', passwd: null, group: null, want: { uid: 4242, gid: 0 } },
    { name: 'uid with leading zeros', user: '0042', want: { uid: 42, gid: 0 } },
    { name: 'largest uid', user: '4294967294', want: { uid: 4294967294, gid: 0 } },
    { name: 'user:group by names, no additionalGids', user: 'alice:staff', want: { uid: 1000, gid: 50, home: '/home/alice' } },
    { name: 'uid:gid verbatim', user: '1000:77', want: { uid: 1000, gid: 77, home: '/home/alice' } },
    { name: 'uid:gid with neither known', user: '5000:6000', want: { uid: 5000, gid: 6000 } },
    { name: 'uid:gid without passwd or group', user: '5000:6000', passwd: null, group: null, want: { uid: 5000, gid: 6000 } },
    { name: 'user:gid', user: 'daemon:77', want: { uid: 1, gid: 77, home: '/usr/sbin' } },
    { name: 'uid:group', user: '1000:wheel', want: { uid: 1000, gid: 10, home: '/home/alice' } },
    { name: 'uid:group for an unknown uid', user: '4242:audio', want: { uid: 4242, gid: 29 } },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const got = resolveUser(c.user, c.passwd === undefined ? PASSWD : c.passwd, c.group === undefined ? GROUP : c.group);
      assert.deepEqual(got, c.want);
    });
  }
});

describe('resolveUser errors', () => {
  const cases: { name: string; user: string; passwd?: string | null; group?: string | null; code: string; msg: RegExp }[] = [
    { name: 'unknown user name', user: 'nobody', code: 'ENOUSER', msg: /user "nobody" not found/ },
    { name: 'user name without /etc/passwd', user: 'alice', passwd: null, code: 'ENOUSER', msg: /has no \/etc\/passwd/ },
    { name: 'unknown group name', user: 'alice:nogroup', code: 'ENOUSER', msg: /group "nogroup" not found/ },
    { name: 'group name without /etc/group', user: '0:staff', group: null, code: 'ENOUSER', msg: /has no \/etc\/group/ },
    { name: 'user names are case-sensitive', user: 'Alice', code: 'ENOUSER', msg: /"Alice"/ },
    { name: 'signed number is a name, unknown', user: '-1', code: 'ENOUSER', msg: /"-1"/ },
    { name: 'two colons', user: 'a:b:c', code: 'ECONFIG', msg: /more than one ':'/ },
    { name: 'empty user part', user: ':5', code: 'ECONFIG', msg: /empty user name/ },
    { name: 'empty group part', user: 'alice:', code: 'ECONFIG', msg: /empty group name/ },
    { name: 'uid 4294967295', user: '4294967295', code: 'ECONFIG', msg: /out of range/ },
    { name: 'huge uid', user: '123456789012345678901234567890', code: 'ECONFIG', msg: /out of range/ },
    { name: 'huge gid', user: '1:99999999999', code: 'ECONFIG', msg: /out of range/ },
    { name: 'nul byte', user: 'ali\0ce', code: 'ECONFIG', msg: /nul byte/ },
  ];
  for (const c of cases) {
    test(c.name, () => {
      assert.throws(() => resolveUser(c.user, c.passwd === undefined ? PASSWD : c.passwd, c.group === undefined ? GROUP : c.group), (e: Error & { code?: string }) => {
        assert.equal(e.code, c.code);
        assert.match(e.message, c.msg);
        assert.ok(!e.message.includes('\n'));
        return true;
      });
    });
  }
});
