// Differential tests against umoci 0.4.7 on copies of the same fixture layouts: ls output,
// tag sets after the same tag/rm sequence, ocibundle reading layouts umoci wrote, and umoci
// reading (ls, stat, unpack) layouts ocibundle wrote.
import assert from 'node:assert/strict';
import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { gzip, makeTar, readIndexJson, writeLayout, REF_NAME } from '../../fixtures/layout.js';
import { hasUmoci, runCli, runUmoci, tmpDir } from '../helpers/layout-env.js';

const skip = !hasUmoci() && 'umoci not installed';
const t = tmpDir('layout-umoci-');
after(t.cleanup);

async function fixture(name: string): Promise<string> {
  const d = join(t.dir, name);
  const layer = gzip(await makeTar([{ name: 'etc/', type: 'directory' }, { name: 'etc/hostname', data: 'fixture\n' }, { name: 'bin/', type: 'directory' }]));
  writeLayout(d, {
    images: [
      { tag: 'latest', layers: [layer], config: { config: { Env: ['PATH=/bin'], Cmd: ['/bin/sh'] }, history: [{ created_by: 'ADD fixture' }] } },
      { tag: 'v1.0', layers: [layer], config: { author: 'someone', history: [{ created: '2024-01-01T00:00:00Z', created_by: 'ADD fixture' }] } },
      { tag: 'a/b', config: { author: 'empty' } },
    ],
  });
  return d;
}

/** tag -> digest, from index.json. */
function tagMap(d: string): Map<string, string> {
  return new Map(readIndexJson(d).manifests.map((m) => [m.annotations?.[REF_NAME] ?? '', m.digest]));
}

test('ls prints the same as umoci ls', { skip }, async () => {
  const d = await fixture('ls');
  const ours = runCli(['ls', '--layout', d]);
  const theirs = runUmoci(['ls', '--layout', d]);
  assert.equal(theirs.status, 0, theirs.stderr);
  assert.equal(ours.stdout, theirs.stdout);
});

test('the same tag/rm sequence leaves the same tags', { skip }, async () => {
  const base = await fixture('seq');
  const mine = join(t.dir, 'seq-ours');
  const theirs = join(t.dir, 'seq-umoci');
  cpSync(base, mine, { recursive: true });
  cpSync(base, theirs, { recursive: true });
  const steps: [string, string, string?][] = [
    ['tag', 'latest', 'new'],
    ['tag', 'v1.0', 'latest'], // moves latest
    ['tag', 'new', 'x.y_z-1'],
    ['rm', 'a/b'],
    ['rm', 'missing'],
    ['tag', 'x.y_z-1', 'new'], // re-tag onto itself
  ];
  for (const [op, tag, arg] of steps) {
    const args = op === 'tag' ? ['tag', '--image', `DIR:${tag}`, arg!] : ['rm', '--image', `DIR:${tag}`];
    const o = runCli(args.map((a) => a.replace('DIR', mine)));
    const u = runUmoci(args.map((a) => a.replace('DIR', theirs)));
    assert.equal(o.status, u.status, `${op} ${tag}: ours ${o.stderr} umoci ${u.stderr}`);
  }
  assert.equal(runCli(['ls', '--layout', mine]).stdout, runUmoci(['ls', '--layout', theirs]).stdout);
  assert.deepEqual(tagMap(mine), tagMap(theirs));
  // and each tool reads the other's result
  assert.equal(runCli(['ls', '--layout', theirs]).stdout, runUmoci(['ls', '--layout', mine]).stdout);
});

test('ocibundle reads layouts umoci wrote', { skip }, () => {
  const d = join(t.dir, 'by-umoci');
  for (const args of [
    ['init', '--layout', d],
    ['new', '--image', `${d}:base`],
    ['config', '--image', `${d}:base`, '--tag', 'configured', '--config.env', 'FOO=bar', '--config.cmd', '/bin/true', '--author', 'tester'],
    ['tag', '--image', `${d}:configured`, 'again'],
  ]) {
    const r = runUmoci(args);
    assert.equal(r.status, 0, `umoci ${args.join(' ')}: ${r.stderr}`);
  }
  assert.equal(runCli(['ls', '--layout', d]).stdout, runUmoci(['ls', '--layout', d]).stdout);
  const st = runCli(['stat', '--image', `${d}:configured`, '--json']);
  assert.equal(st.status, 0, st.stderr);
  const js = JSON.parse(st.stdout) as { config: { blob: { author: string; config: { Env: string[]; Cmd: string[] } } } };
  assert.equal(js.config.blob.author, 'tester');
  assert.ok(js.config.blob.config.Env.includes('FOO=bar'));
  assert.deepEqual(js.config.blob.config.Cmd, ['/bin/true']);
  const v = runCli(['validate', '--layout', d]);
  assert.equal(v.status, 0, v.stdout + v.stderr);
  assert.equal(runCli(['tag', '--image', `${d}:again`, 'ours']).status, 0);
  assert.equal(runCli(['gc', '--layout', d]).status, 0);
  const u = runUmoci(['stat', '--image', `${d}:ours`]);
  assert.equal(u.status, 0, u.stderr);
});

test('umoci reads layouts ocibundle wrote: ls, stat, unpack', { skip: skip || (process.getuid?.() !== 0 && 'needs root') }, async () => {
  const d = await fixture('for-umoci');
  assert.equal(runCli(['tag', '--image', `${d}:latest`, 'ours']).status, 0);
  assert.equal(runCli(['rm', '--image', `${d}:a/b`]).status, 0);
  assert.equal(runCli(['gc', '--layout', d]).status, 0);
  assert.equal(runUmoci(['ls', '--layout', d]).stdout, 'latest\nv1.0\nours\n');
  const st = runUmoci(['stat', '--image', `${d}:ours`, '--json']);
  assert.equal(st.status, 0, st.stderr);
  assert.equal((JSON.parse(st.stdout) as { history: unknown[] }).history.length, 1);
  const bundle = join(t.dir, 'bundle');
  const un = runUmoci(['unpack', '--image', `${d}:ours`, bundle]);
  assert.equal(un.status, 0, un.stderr);
  assert.equal(readFileSync(join(bundle, 'rootfs', 'etc', 'hostname'), 'utf8'), 'fixture\n');
  // an empty layout made by ocibundle init takes umoci new
  const e = join(t.dir, 'init-ours');
  assert.equal(runCli(['init', '--layout', e]).status, 0);
  assert.equal(runUmoci(['new', '--image', `${e}:fresh`]).status, 0);
  assert.equal(runCli(['ls', '--layout', e]).stdout, 'fresh\n');
});
