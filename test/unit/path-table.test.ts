// The interned path table of the applier and the mtree recorder: ids are stable, lookups are
// exact (no false hit for a name of the same hash, parent or length), children and subtrees
// are complete, and it grows past its first arrays and hash table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PathTable, ROOT } from '../../src/layer/path-table.js';

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
