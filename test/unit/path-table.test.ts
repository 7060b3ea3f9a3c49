// The interned path table of the applier and the mtree recorder: ids are stable, lookups are
// exact (no false hit for a name of the same hash, parent or length), children and subtrees
// are complete, and it grows past its first arrays and hash table. grown() keeps contents,
// fills new slots, and releases (detaches) the old array so its memory goes at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { grown, PathTable, release, ROOT } from '../../src/layer/path-table.js';

test('PathTable interns paths and their ancestors', async (t) => {
  const cases: [string, string[], string, string][] = [
    // name, paths interned, path looked up, expected parent path
    ['one level', ['a'], 'a', '.'],
    ['deep', ['a/b/c/d'], 'a/b/c', 'a/b'],
    ['unicode and spaces', ['dir with space/ünïcødé/文件'], 'dir with space/ünïcødé/文件', 'dir with space/ünïcødé'],
    ['names that are prefixes of each other', ['ab/a', 'a/b', 'a/bb'], 'a/bb', 'a'],
    ['a long component', [`x/${'n'.repeat(5000)}`], `x/${'n'.repeat(5000)}`, 'x'],
  ];
  for (const [name, paths, look, parent] of cases) {
    await t.test(name, () => {
      const p = new PathTable();
      const ids = paths.map((x) => p.intern(x));
      for (const [i, x] of paths.entries()) {
        assert.equal(p.intern(x), ids[i], 'interning twice gives the same id');
        assert.equal(p.find(x), ids[i]);
        assert.equal(p.path(ids[i]!), x);
      }
      const id = p.find(look);
      assert.ok(id > ROOT);
      assert.equal(p.path(p.parentOf(id)), parent);
      assert.equal(p.name(id), look.slice(look.lastIndexOf('/') + 1));
    });
  }
});

test('PathTable find() never invents a path', async (t) => {
  const p = new PathTable();
  p.intern('usr/bin/sh');
  p.intern('usr/lib');
  const absent = ['usr/bin/s', 'usr/bin/shh', 'usr/sh', 'bin/sh', 'usr/bin/sh/x', 'lib', 'usr/li'];
  for (const x of absent) await t.test(x, () => assert.equal(p.find(x), -1));
  assert.equal(p.find('.'), ROOT);
  assert.equal(p.path(ROOT), '.');
});

test('PathTable grows: 200k paths in 500 directories, each found by its own id', () => {
  const p = new PathTable();
  const ids = new Map<string, number>();
  for (let d = 0; d < 500; d++) for (let f = 0; f < 400; f++) ids.set(`d${d}/f${f}`, p.intern(`d${d}/f${f}`));
  assert.equal(p.size, 1 + 500 + 200_000);
  assert.equal(new Set(ids.values()).size, ids.size, 'ids are distinct');
  // looked up in another order than interned (no help from the last-directory cache)
  for (let f = 399; f >= 0; f -= 7) for (let d = 0; d < 500; d += 13) assert.equal(p.find(`d${d}/f${f}`), ids.get(`d${d}/f${f}`));
  assert.equal(p.find('d499/f400'), -1);
});

test('PathTable children and subtrees', () => {
  const p = new PathTable();
  for (const x of ['a/b/c', 'a/b/d', 'a/e', 'f']) p.intern(x);
  const kids = (id: number) => {
    const out: string[] = [];
    p.forEachChild(id, (c) => out.push(p.name(c)));
    return out.sort();
  };
  assert.deepEqual(kids(ROOT), ['a', 'f']);
  assert.deepEqual(kids(p.find('a')), ['b', 'e']);
  assert.deepEqual(kids(p.find('a/b/c')), []);
  const below: string[] = [];
  p.forEachBelow(p.find('a'), (n) => below.push(p.path(n)));
  // parents come before their children
  assert.ok(below.indexOf('a/b') < below.indexOf('a/b/c') && below.indexOf('a/b') < below.indexOf('a/b/d'));
  assert.deepEqual([...below].sort(), ['a/b', 'a/b/c', 'a/b/d', 'a/e']);
});

test('grown: contents kept, new slots filled, the old array released', async (t) => {
  const cases: [string, Int32Array | Uint8Array | Float64Array | Uint16Array, number, number, number][] = [
    // name, array, need, fill, expected new length
    ['Int32 filled with -1', Int32Array.from([5, -6, 7, 8]), 5, -1, 8],
    ['Uint8 zeroed', Uint8Array.from([1, 2, 3, 4]), 9, 0, 16],
    ['Float64 past a doubling', Float64Array.from([0.5, NaN]), 3, 0, 4],
    ['Uint16 filled', Uint16Array.from([9, 9]), 3, 0xffff, 4],
  ];
  for (const [name, a, need, fill, len] of cases) {
    await t.test(name, () => {
      const before = Array.from(a);
      const b = grown(a, need, fill);
      assert.notEqual(b, a);
      assert.equal(b.length, len);
      assert.deepEqual(Array.from(b.subarray(0, before.length)), before);
      assert.ok(Array.from(b.subarray(before.length)).every((v) => v === fill), 'new slots hold the fill value');
      assert.equal(a.length, 0, 'the old array is detached');
      assert.equal(a.buffer.byteLength, 0);
    });
  }
  await t.test('no growth needed: the same array, untouched', () => {
    const a = Int32Array.from([1, 2]);
    assert.equal(grown(a, 2, -1), a);
    assert.deepEqual(Array.from(a), [1, 2]);
  });
  await t.test('release leaves views it does not own whole (a pooled Buffer, a subarray)', () => {
    const pooled = Buffer.from('pooled bytes'); // from the shared pool
    const part = new Uint8Array(new ArrayBuffer(64), 8, 8);
    release(pooled);
    release(part);
    assert.equal(pooled.toString(), 'pooled bytes');
    assert.equal(part.length, 8);
  });
  await t.test('a table grown many times still finds every path (its old arrays released)', () => {
    const p = new PathTable();
    const ids = Array.from({ length: 70_000 }, (_, i) => p.intern(`d${i % 300}/f${i}`));
    for (let i = 0; i < ids.length; i += 997) assert.equal(p.path(ids[i]!), `d${i % 300}/f${i}`);
    assert.equal(p.find('d0/f0'), ids[0]);
  });
});
