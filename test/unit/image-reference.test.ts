// References and platforms: PATH[:TAG] split at the last colon as umoci does, ref.name
// grammar, PATH@sha256:HEX, and platform parsing/matching.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hostPlatform, isValidRefName, parseImageRef, parsePlatform, platformMatches } from '../../src/image/index.js';

const H = 'c'.repeat(64);

test('parseImageRef splits like umoci', () => {
  const table: [string, string, { path: string; tag?: string; digest?: string }][] = [
    ['no tag defaults to latest', 'busybox', { path: 'busybox', tag: 'latest' }],
    ['tag', 'busybox:1.36', { path: 'busybox', tag: '1.36' }],
    ['relative path', './images/bb:v1', { path: './images/bb', tag: 'v1' }],
    ['tag with slash and separators', 'l:a/b.c_d-e+f@g', { path: 'l', tag: 'a/b.c_d-e+f@g' }],
    ['double dash separator', 'l:a--b', { path: 'l', tag: 'a--b' }],
    ['uppercase', 'l:Latest', { path: 'l', tag: 'Latest' }],
    ['digest', `l@sha256:${H}`, { path: 'l', digest: `sha256:${H}` }],
  ];
  for (const [name, ref, want] of table) assert.deepEqual(parseImageRef(ref), want, name);
});

test('parseImageRef refuses malformed references with EBADREF', () => {
  const table: [string, string][] = [
    ['empty path', ':tag'],
    ['empty tag', 'l:'],
    ['path with colon', 'a:b:c'],
    ['tag starting with separator', 'l:-x'],
    ['tag ending with separator', 'l:x.'],
    ['triple dash', 'l:a---b'],
    ['double slash', 'l:a//b'],
    ['space', 'l:a b'],
    ['short digest', 'l@sha256:abc'],
    ['empty', ''],
  ];
  for (const [name, ref] of table) assert.throws(() => parseImageRef(ref), { code: 'EBADREF' }, name);
});

test('isValidRefName follows the ref.name grammar', () => {
  for (const ok of ['a', 'v1.0', 'a_b', 'a:b', 'a@b', 'a+b', 'a--b', 'x/y/z']) assert.equal(isValidRefName(ok), true, ok);
  for (const bad of ['', '_a', 'a_', 'a__b', '/a', 'a/', 'ä', 'a\nb']) assert.equal(isValidRefName(bad), false, JSON.stringify(bad));
});

test('parsePlatform and platformMatches', () => {
  assert.deepEqual(parsePlatform('linux/amd64'), { os: 'linux', architecture: 'amd64' });
  assert.deepEqual(parsePlatform('linux/arm64'), { os: 'linux', architecture: 'arm64', variant: 'v8' });
  assert.deepEqual(parsePlatform('linux/arm/v7'), { os: 'linux', architecture: 'arm', variant: 'v7' });
  for (const bad of ['linux', 'linux/', '/amd64', 'linux/arm/v7/x', 'linux/amd 64']) assert.throws(() => parsePlatform(bad), { code: 'EUSAGE' }, bad);
  const cases: [string, { os: string; architecture: string; variant?: string }, string, boolean][] = [
    ['same', { os: 'linux', architecture: 'amd64' }, 'linux/amd64', true],
    ['other arch', { os: 'linux', architecture: 'arm64' }, 'linux/amd64', false],
    ['other os', { os: 'windows', architecture: 'amd64' }, 'linux/amd64', false],
    ['arm64 without variant is v8', { os: 'linux', architecture: 'arm64' }, 'linux/arm64/v8', true],
    ['arm64 v8 for default arm64', { os: 'linux', architecture: 'arm64', variant: 'v8' }, 'linux/arm64', true],
    ['arm v6 is not v7', { os: 'linux', architecture: 'arm', variant: 'v6' }, 'linux/arm/v7', false],
    ['no wanted variant takes any', { os: 'linux', architecture: 'arm', variant: 'v6' }, 'linux/arm', true],
  ];
  for (const [name, have, want, m] of cases) assert.equal(platformMatches(have, parsePlatform(want)), m, name);
});

test('hostPlatform is linux with an OCI architecture name', () => {
  const h = hostPlatform();
  assert.equal(h.os, 'linux');
  const want: Record<string, string> = { x64: 'amd64', arm64: 'arm64' };
  if (want[process.arch]) assert.equal(h.architecture, want[process.arch]);
  if (process.arch === 'arm64') assert.equal(h.variant, 'v8');
});
