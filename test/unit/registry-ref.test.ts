// Registry reference parsing: host detection, Docker Hub short names, tags, digests, and the
// malformed references that must fail with EBADREF.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRegistryRef, formatRegistryRef } from '../../src/registry/ref.js';
import { OciBundleError } from '../../src/errors.js';

const D = `sha256:${'a'.repeat(64)}`;

const good: { name: string; in: string; host: string; apiHost?: string; repo: string; tag?: string; digest?: string }[] = [
  { name: 'host:port/repo:tag', in: '127.0.0.1:5000/busybox:1.36', host: '127.0.0.1:5000', repo: 'busybox', tag: '1.36' },
  { name: 'default tag', in: 'localhost:5000/a/b', host: 'localhost:5000', repo: 'a/b', tag: 'latest' },
  { name: 'localhost without port', in: 'localhost/x', host: 'localhost', repo: 'x', tag: 'latest' },
  { name: 'docker:// prefix', in: 'docker://quay.io/org/img:v1', host: 'quay.io', repo: 'org/img', tag: 'v1' },
  { name: 'digest', in: `ghcr.io/o/i@${D}`, host: 'ghcr.io', repo: 'o/i', digest: D },
  { name: 'tag and digest: digest wins', in: `ghcr.io/o/i:v1@${D}`, host: 'ghcr.io', repo: 'o/i', digest: D },
  { name: 'docker hub short name', in: 'busybox', host: 'docker.io', apiHost: 'registry-1.docker.io', repo: 'library/busybox', tag: 'latest' },
  { name: 'docker hub user repo', in: 'user/app:2', host: 'docker.io', apiHost: 'registry-1.docker.io', repo: 'user/app', tag: '2' },
  { name: 'index.docker.io alias', in: 'index.docker.io/alpine', host: 'docker.io', apiHost: 'registry-1.docker.io', repo: 'library/alpine', tag: 'latest' },
  { name: 'ipv6 host', in: '[::1]:5000/r:t', host: '[::1]:5000', repo: 'r', tag: 't' },
  { name: 'separators in names', in: 'h.io/a__b/c-d.e_f:T_1.x-y', host: 'h.io', repo: 'a__b/c-d.e_f', tag: 'T_1.x-y' },
];

test('parses registry references', async (t) => {
  for (const c of good) {
    await t.test(c.name, () => {
      const r = parseRegistryRef(c.in);
      assert.equal(r.host, c.host);
      assert.equal(r.apiHost, c.apiHost ?? c.host);
      assert.equal(r.repo, c.repo);
      assert.equal(r.tag, c.tag);
      assert.equal(r.digest, c.digest);
      assert.equal(parseRegistryRef(formatRegistryRef(r)).repo, r.repo, 'format round-trips');
    });
  }
});

const bad: { name: string; in: string }[] = [
  { name: 'empty', in: '' },
  { name: 'upper-case repository', in: 'h.io/Busybox' },
  { name: 'bad tag', in: 'h.io/a:-x' },
  { name: 'tag too long', in: `h.io/a:${'t'.repeat(129)}` },
  { name: 'bad digest', in: 'h.io/a@sha256:xyz' },
  { name: 'double slash', in: 'h.io//a' },
  { name: 'trailing separator', in: 'h.io/a-' },
  { name: 'port out of range', in: 'h.io:70000/a' },
  { name: 'host only', in: 'h.io:5000/' },
];

test('refuses malformed references with EBADREF', async (t) => {
  for (const c of bad) {
    await t.test(c.name, () => {
      assert.throws(() => parseRegistryRef(c.in), (e: unknown) => e instanceof OciBundleError && e.code === 'EBADREF');
    });
  }
});

test('credentials pasted into a reference never reach the message', async (t) => {
  const cases = ['user:Hunter2secret@reg.io/app:1', 'docker://user:Hunter2secret@reg.io/app', 'user:Hunter2secret@reg.io'];
  for (const c of cases) {
    await t.test(c.replace('Hunter2secret', '***'), () => {
      assert.throws(() => parseRegistryRef(c), (e: unknown) => e instanceof OciBundleError && e.code === 'EBADREF' && !e.message.includes('Hunter2secret'));
    });
  }
});
