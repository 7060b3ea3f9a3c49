// Pure rules of the layer applier: entry-name cleaning, whiteout classification, the
// "a layer never whites out its own entries" bookkeeping, xattr policy, id maps, rootless xattr.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanEntryPath, isWithin, parentOf } from '../../src/layer/paths.js';
import { classifyWhiteout, LayerAdds } from '../../src/layer/whiteout.js';
import { PathTable } from '../../src/layer/path-table.js';
import { decideXattr } from '../../src/layer/xattrs.js';
import { mapId, parseRootlessXattr, rootlessXattr } from '../../src/layer/ids.js';
import { parseIdMap as parseIdMapArg } from '../../src/spec/index.js';

test('cleanEntryPath', async (t) => {
  const cases: [string, string, string][] = [
    ['plain', 'usr/bin/env', 'usr/bin/env'],
    ['dot-slash prefix', './usr/bin/env', 'usr/bin/env'],
    ['directory slash', 'usr/bin/', 'usr/bin'],
    ['absolute', '/etc/passwd', 'etc/passwd'],
    ['dot-dot clamped at root', '../../etc/passwd', 'etc/passwd'],
    ['inner dot-dot', 'a/b/../../../c', 'c'],
    ['double slashes', 'a//b///c', 'a/b/c'],
    ['inner dot', 'a/./b', 'a/b'],
    ['root as ./', './', '.'],
    ['root as .', '.', '.'],
    ['root as /', '/', '.'],
    ['dots only', '../..', '.'],
    ['name with dots', 'a/..b/c..', 'a/..b/c..'],
    ['utf-8', './héllo/wörld', 'héllo/wörld'],
  ];
  for (const [name, input, want] of cases) {
    await t.test(name, () => assert.equal(cleanEntryPath(input), want));
  }
  await t.test('empty name refused', () => assert.throws(() => cleanEntryPath(''), { code: 'EPATH' }));
  await t.test('nul refused', () => assert.throws(() => cleanEntryPath('a\0b'), { code: 'EPATH' }));
});

test('path helpers', () => {
  assert.equal(parentOf('a'), '.');
  assert.equal(parentOf('a/b/c'), 'a/b');
  assert.ok(isWithin('a/b', 'a'));
  assert.ok(isWithin('a', 'a'));
  assert.ok(!isWithin('ab', 'a'));
  assert.ok(isWithin('x', '.'));
});

test('classifyWhiteout', async (t) => {
  const cases: [string, string, unknown][] = [
    ['ordinary file', 'etc/passwd', { kind: 'none' }],
    ['whiteout', 'etc/.wh.passwd', { kind: 'remove', target: 'etc/passwd' }],
    ['whiteout at root', '.wh.etc', { kind: 'remove', target: 'etc' }],
    ['opaque', 'var/cache/.wh..wh..opq', { kind: 'opaque', dir: 'var/cache' }],
    ['opaque at root', '.wh..wh..opq', { kind: 'opaque', dir: '.' }],
    ['name merely containing .wh.', 'etc/a.wh.b', { kind: 'none' }],
  ];
  for (const [name, input, want] of cases) {
    await t.test(name, () => assert.deepEqual(classifyWhiteout(input), want));
  }
  const bad: [string, string][] = [
    ['empty whiteout name', 'etc/.wh.'],
    ['whiteout of dot-dot', 'etc/.wh..'],
    ['whiteout of dot', 'etc/.wh..'.slice(0, -1)],
    ['whiteout of a whiteout', 'etc/.wh..wh.x'],
  ];
  for (const [name, input] of bad) {
    await t.test(`refused: ${name}`, () => assert.throws(() => classifyWhiteout(input), { code: 'EWHITEOUT' }));
  }
});

test('LayerAdds tracks entries and their ancestors, layer by layer', () => {
  const adds = new LayerAdds(new PathTable());
  adds.clear();
  adds.add('a/b/c');
  assert.ok(adds.touches('a/b/c'));
  assert.ok(adds.wrote('a/b/c'));
  assert.ok(adds.touches('a/b'));
  assert.ok(adds.touches('a'));
  assert.ok(!adds.touches('a/b/d'));
  assert.ok(!adds.touches('x'));
  assert.ok(!adds.wrote('a/b'));
  adds.add('a/b');
  assert.ok(adds.wrote('a/b'));
  adds.clear();
  assert.ok(!adds.touches('a'));
  assert.ok(!adds.touches('a/b/c'));
  assert.ok(!adds.wrote('a/b'));
  // a later layer marks its own paths again, and only those
  adds.add('a/e');
  assert.ok(adds.touches('a'));
  assert.ok(!adds.touches('a/b'));
});

test('decideXattr policy', async (t) => {
  const v = Buffer.from([0x01, 0x00, 0xff]);
  const cases: [string, string, boolean, boolean, boolean][] = [
    // name, xattr, rootless, kept, warns
    ['user.* kept', 'user.foo', false, true, false],
    ['security.capability kept', 'security.capability', false, true, false],
    ['security.capability kept rootless', 'security.capability', true, true, false],
    ['posix acl kept', 'system.posix_acl_access', false, true, false],
    ['selinux dropped silently', 'security.selinux', false, false, false],
    ['nfs4 acl dropped silently', 'system.nfs4_acl', false, false, false],
    ['trusted dropped with warning', 'trusted.overlay.opaque', false, false, true],
    ['other security dropped', 'security.ima', false, false, true],
    ['unknown namespace dropped', 'bogus.x', false, false, true],
    ['empty name dropped', '', false, false, true],
  ];
  for (const [name, x, rootless, kept, warns] of cases) {
    await t.test(name, () => {
      const d = decideXattr(x, v, rootless);
      assert.equal(d.keep, kept);
      if (!d.keep) assert.equal(d.warn !== null, warns);
    });
  }
  await t.test('oversized value dropped', () => assert.equal(decideXattr('user.x', Buffer.alloc(70000), false).keep, false));
  await t.test('empty value means absent (pax deletion rule)', () => assert.deepEqual(decideXattr('user.x', Buffer.alloc(0), false), { keep: false, warn: null }));
});

test('id maps', async (t) => {
  await t.test('parse with size', () => assert.deepEqual(parseIdMapArg('0:1000:65536'), { containerID: 0, hostID: 1000, size: 65536 }));
  await t.test('parse without size', () => assert.deepEqual(parseIdMapArg('5:7'), { containerID: 5, hostID: 7, size: 1 }));
  for (const bad of ['', 'a:b', '1', '1:2:0', '1:2:3:4', '4294967295:0:2', '-1:0']) {
    await t.test(`refuse ${JSON.stringify(bad)}`, () => assert.throws(() => parseIdMapArg(bad), { code: 'EUSAGE' }));
  }
  const maps = [parseIdMapArg('0:100000:1000')];
  await t.test('mapped', () => assert.equal(mapId(maps, 33, 'uid', 'x'), 100033));
  await t.test('unmapped is an error', () => assert.throws(() => mapId(maps, 1000, 'uid', 'x'), { code: 'EPATH' }));
  await t.test('no maps pass through', () => assert.equal(mapId([], 1000, 'uid', 'x'), 1000));
});

test('rootlessXattr encodes a protobuf Resource as umoci does (0 is NOOP), parseRootlessXattr reads it back', async (t) => {
  // the owner a reader following the proto sees: NOOP (null) is the unpacking user, container root
  const decodeRootlessXattr = (b: Buffer | null) => {
    const p = b === null ? { uid: 0, gid: 0 } : parseRootlessXattr(b);
    return p === null ? null : { uid: p.uid ?? 0, gid: p.gid ?? 0 };
  };
  const NOOP = [0xff, 0xff, 0xff, 0xff, 0x0f];
  const cases: [string, number, number, number[] | null][] = [
    ['root owns nothing to record', 0, 0, null],
    ['uid only: gid 0 is NOOP', 1000, 0, [0x08, 0xe8, 0x07, 0x10, ...NOOP]],
    ['gid only: uid 0 is NOOP (umoci: 08 ff ff ff ff 0f 10 c8 03 for 0:456)', 0, 456, [0x08, ...NOOP, 0x10, 0xc8, 0x03]],
    ['both', 1, 2, [0x08, 0x01, 0x10, 0x02]],
    ['large uid', 0xfffffffe, 0, [0x08, 0xfe, 0xff, 0xff, 0xff, 0x0f, 0x10, ...NOOP]],
  ];
  for (const [name, uid, gid, want] of cases) {
    await t.test(name, () => {
      const got = rootlessXattr(uid, gid);
      assert.deepEqual(got, want === null ? null : Buffer.from(want));
      assert.deepEqual(decodeRootlessXattr(got), { uid, gid });
    });
  }
  const reads: [string, number[], { uid: number; gid: number }][] = [
    ['a missing field is 0 (proto3 default)', [0x10, 0xc8, 0x03], { uid: 0, gid: 456 }],
    ['NOOP in both', [0x08, ...NOOP, 0x10, ...NOOP], { uid: 0, gid: 0 }],
    ['empty value', [], { uid: 0, gid: 0 }],
  ];
  for (const [name, bytes, want] of reads) {
    await t.test(`decode: ${name}`, () => assert.deepEqual(decodeRootlessXattr(Buffer.from(bytes)), want));
  }
  for (const [name, bytes] of [['truncated varint', [0x08, 0xff]], ['a length-delimited field', [0x0a, 0x01, 0x00]]] as const) {
    await t.test(`decode: ${name} is not a Resource`, () => assert.equal(decodeRootlessXattr(Buffer.from(bytes)), null));
  }
});
