// Image-supplied strings reach the terminal escaped: ESC/BEL (and C1, DEL) from docker-archive
// RepoTags in ENOTAG/EAMBIGUOUS errors, from index.json tags in `ls`, from config labels and
// history in `stat` (text and --json), and in errors. No raw control byte on stdout or stderr.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dockerArchiveOf, smallDockerImage } from '../../fixtures/archives.js';
import { gzip, makeTar, readIndexJson, REF_NAME, writeIndexJson, writeLayout } from '../../fixtures/layout.js';
import { ERROR_CODES } from '../../src/errors.js';
import { runCli, scratchDir } from '../helpers/cli.js';

const RAW = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/; // tab and newline are layout, everything else must be escaped
const EVIL = 'evil\x1b]0;pwned\x07\x1b[2J\u009b31m';
let dir: string;

before(() => {
  dir = scratchDir('print-escape');
});
after(() => rmSync(dir, { recursive: true, force: true }));

function noRawControls(text: string, what: string): void {
  assert.doesNotMatch(text, RAW, `${what} carries a raw control character: ${JSON.stringify(text)}`);
}

test('docker-archive RepoTags in errors are escaped', async (t) => {
  const one = join(dir, 'one.tar');
  writeFileSync(one, dockerArchiveOf([smallDockerImage('a\n', [`${EVIL}:v1`])], 'blobs'));
  const two = join(dir, 'two.tar');
  writeFileSync(two, dockerArchiveOf([smallDockerImage('a\n', [`${EVIL}:v1`]), smallDockerImage('b\n', [`x\x07y:v2`])], 'blobs'));
  const cases = [
    { name: 'ENOTAG lists the available tags', args: ['raw', 'unpack', '--image', `docker-archive:${one}:nope:v0`, join(dir, 'o1')], code: 'ENOTAG' as const },
    { name: 'EAMBIGUOUS lists the images', args: ['raw', 'unpack', '--image', `docker-archive:${two}`, join(dir, 'o2')], code: 'EAMBIGUOUS' as const },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const r = runCli(c.args);
      assert.equal(r.status, ERROR_CODES[c.code], r.stderr);
      noRawControls(r.stderr, 'stderr');
      assert.match(r.stderr, /evil\\x1b\]0;pwned\\x07\\x1b\[2J\\x9b31m/);
      assert.equal(r.stderr.trim().split('\n').length, 1);
    });
  }
});

test('tags, labels and history from a layout are escaped in ls and stat', async (t) => {
  const layout = join(dir, 'layout');
  writeLayout(layout, {
    images: [{ tag: 'good', layers: [gzip(await makeTar([{ name: 'f', data: 'x' }]))], config: { config: { Labels: { [`k${EVIL}`]: `v${EVIL}` } }, history: [{ created_by: `sh -c ${EVIL}` }] } }],
  });
  // a second tag whose name carries control characters (index.json is data from the image's author)
  const idx = readIndexJson(layout);
  idx.manifests.push({ ...idx.manifests[0]!, annotations: { [REF_NAME]: `t${EVIL}\nforged-line` } });
  writeIndexJson(layout, idx.manifests);
  await t.test('ls prints one line per tag, escaped', () => {
    const r = runCli(['ls', '--layout', layout]);
    assert.equal(r.status, 0, r.stderr);
    noRawControls(r.stdout, 'ls');
    assert.deepEqual(r.stdout.trim().split('\n'), ['good', 't' + 'evil\\x1b]0;pwned\\x07\\x1b[2J\\x9b31m\\x0aforged-line']);
  });
  await t.test('ls --json keeps the value, without raw control characters', () => {
    const r = runCli(['ls', '--layout', layout, '--json']);
    assert.equal(r.status, 0, r.stderr);
    noRawControls(r.stdout.replace(/\n/g, ''), 'ls --json');
    assert.equal((JSON.parse(r.stdout) as { tag: string }[])[1]!.tag, `t${EVIL}\nforged-line`);
  });
  await t.test('stat text escapes labels and history', () => {
    const r = runCli(['stat', '--image', `${layout}:good`]);
    assert.equal(r.status, 0, r.stderr);
    noRawControls(r.stdout, 'stat');
    assert.match(r.stdout, /kevil\\x1b\]0;pwned\\x07\\x1b\[2J\\x9b31m: vevil\\x1b/);
    assert.match(r.stdout, /sh -c evil\\x1b/);
  });
  await t.test('stat --json keeps the values', () => {
    const r = runCli(['stat', '--image', `${layout}:good`, '--json']);
    assert.equal(r.status, 0, r.stderr);
    noRawControls(r.stdout.replace(/\n/g, ''), 'stat --json');
    assert.match(JSON.stringify(JSON.parse(r.stdout)), /pwned/);
  });
  await t.test('an error naming a user-typed tag with ESC is escaped', () => {
    const r = runCli(['rm', '--image', `${layout}:no${'\x1b'}pe`]);
    assert.equal(r.status, ERROR_CODES.EBADREF, r.stderr);
    noRawControls(r.stderr, 'error');
  });
});
