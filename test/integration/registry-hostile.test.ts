// A lying cache, a hostile registry and hostile credential files through the CLI, against the
// fake registry: a cache entry with wrong bytes or size is fetched again with one warning; a
// symlink planted in the cache is refused (canary unchanged); credentials go to a token realm
// on another host only with --trust-realm; unparseable or non-http redirects are ENETWORK
// naming the location; deep, huge or special auth files are one line naming the file.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { gzip, makeTar, writeLayout, type BuiltLayout } from '../../fixtures/layout.js';
import { ERROR_CODES } from '../../src/errors.js';
import { fingerprint } from '../helpers/fs-sandbox.js';
import { scratchDir } from '../helpers/cli.js';
import { runCliAsync } from '../helpers/registry-token.js';
import { withFakeRegistry, type FakeOptions, type FakeRegistry } from '../helpers/registry-fake.js';

const USER = 'alice';
const PASS = 'Pa55-w0rd-realm';
let dir: string;
let built: BuiltLayout;
let env: NodeJS.ProcessEnv;
let canary: string;

const hex = (d: string) => d.slice('sha256:'.length);
const exit = (code: keyof typeof ERROR_CODES) => ERROR_CODES[code];

before(async () => {
  dir = scratchDir('registry-hostile');
  built = writeLayout(join(dir, 'layout'), {
    images: [{ tag: 'latest', layers: [gzip(await makeTar([{ name: 'x.txt', data: 'registry\n' }])), gzip(await makeTar([{ name: 'y.bin', data: Buffer.alloc(200_000, 3) }]))] }],
  });
  // no real auth files of the machine are read
  env = { ...process.env, HOME: join(dir, 'home'), XDG_RUNTIME_DIR: join(dir, 'run'), XDG_CONFIG_HOME: join(dir, 'config') };
  canary = join(dir, 'canary');
  mkdirSync(canary);
  writeFileSync(join(canary, 'victim'), 'do not touch\n');
});

after(() => rmSync(dir, { recursive: true, force: true }));

const withFake = (o: Partial<FakeOptions>, fn: (f: FakeRegistry) => Promise<void>): Promise<void> => withFakeRegistry({ layoutDir: join(dir, 'layout'), ...o }, fn);

let n = 0;
async function copy(f: FakeRegistry, extra: string[] = []) {
  const dest = join(dir, `dest${n++}`);
  const before = fingerprint(canary);
  const r = await runCliAsync(['copy', '--tls-verify=false', `docker://${f.host}/team/app:latest`, `oci:${dest}:latest`, ...extra], env);
  assert.equal(fingerprint(canary), before, 'files outside the target changed');
  return { ...r, dest };
}

test('a cache entry that fails verification is fetched again, with one warning', async (t) => {
  const layer = built.images[0]!.layers[1]!;
  const cases = [
    { name: 'same size, other bytes', damage: (p: string) => { const b = readFileSync(p); b[10] = b[10]! ^ 0xff; writeFileSync(p, b); }, says: /bytes did not match/ },
    { name: 'wrong size', damage: (p: string) => truncateSync(p, 17), says: /was 17 bytes, not \d+/ },
  ];
  for (const [i, c] of cases.entries()) {
    await t.test(c.name, async () => {
      const cache = join(dir, `cache${i}`);
      await withFake({}, async (f) => {
        const first = await copy(f, ['--cache-dir', cache]);
        assert.equal(first.status, 0, first.stderr);
        const entry = join(cache, 'blobs', 'sha256', hex(layer.digest));
        c.damage(entry);
        const before = f.seen.filter((s) => s.path.includes(hex(layer.digest)) && s.method === 'GET').length;
        // unpack reads through the cache; the copy's DEST must not have it, so use a fresh DEST
        const again = await copy(f, ['--cache-dir', cache]);
        assert.equal(again.status, 0, again.stderr);
        const lines = again.stderr.trim().split('\n');
        assert.equal(lines.length, 1, again.stderr);
        assert.match(lines[0]!, new RegExp(`^ocibundle: warning: WCACHE: cached blob ${layer.digest} .* was removed \\(`));
        assert.match(lines[0]!, c.says);
        const after = f.seen.filter((s) => s.path.includes(hex(layer.digest)) && s.method === 'GET').length;
        assert.equal(after, before + 1, 'fetched from the registry again');
        assert.equal(readFileSync(entry).length, layer.size, 'the cache holds the right bytes now');
        const third = await copy(f, ['--cache-dir', cache]);
        assert.equal(third.stderr, '', 'a repaired entry is served silently');
      });
    });
  }
  await t.test('a symlink planted as the cache blobs/sha256 is refused', async () => {
    const cache = join(dir, 'cache-planted');
    mkdirSync(join(cache, 'blobs'), { recursive: true });
    symlinkSync(canary, join(cache, 'blobs', 'sha256'));
    await withFake({}, async (f) => {
      const r = await copy(f, ['--cache-dir', cache]);
      assert.equal(r.status, exit('EBADLAYOUT'), r.stderr);
      assert.match(r.stderr, /^ocibundle: EBADLAYOUT: cache .*blobs\/sha256 is a symlink; refused/);
      assert.equal(r.stderr.trim().split('\n').length, 1);
    });
  });
});

test('registry credentials and token realms on other hosts', async (t) => {
  const creds = ['--creds', `${USER}:${PASS}`];
  await t.test('same host, other port: the credentials are sent', async () => {
    await withFake({ bearer: { user: USER, pass: PASS } }, async (f) => {
      const r = await copy(f, creds);
      assert.equal(r.status, 0, r.stderr);
      assert.ok(f.seen.some((s) => s.server === 'token' && s.authorization?.startsWith('Basic ')));
    });
  });
  await t.test('another host (127.0.0.2): withheld, and the refusal says why', async () => {
    await withFake({ bearer: { user: USER, pass: PASS }, realmHost: '127.0.0.2' }, async (f) => {
      const r = await copy(f, creds);
      assert.equal(r.status, exit('EAUTH'), r.stderr);
      assert.match(r.stderr, /^ocibundle: EAUTH: .*credentials withheld: token realm 127\.0\.0\.2:\d+ is another host than the registry 127\.0\.0\.1:\d+ and is not https; allow it with --trust-realm/);
      assert.ok(!r.stderr.includes(PASS));
      const tokenCalls = f.seen.filter((s) => s.server === 'token');
      assert.ok(tokenCalls.length > 0, 'a token was asked for anonymously');
      assert.ok(tokenCalls.every((s) => s.authorization === undefined), 'no credentials reached the other host');
    });
  });
  await t.test('another host named with --trust-realm: sent', async () => {
    await withFake({ bearer: { user: USER, pass: PASS }, realmHost: '127.0.0.2' }, async (f) => {
      const r = await copy(f, [...creds, '--trust-realm', '127.0.0.2']);
      assert.equal(r.status, 0, r.stderr);
      assert.ok(f.seen.some((s) => s.server === 'token' && s.authorization?.startsWith('Basic ')));
    });
  });
  await t.test('another host, anonymous pull: works without any flag', async () => {
    await withFake({ bearer: {}, realmHost: '127.0.0.2' }, async (f) => {
      const r = await copy(f);
      assert.equal(r.status, 0, r.stderr);
    });
  });
});

test('redirects the registry cannot mean are ENETWORK naming the location', async (t) => {
  const cases = [
    { name: 'unparseable Location', location: 'http://[not-a-host/x', says: /redirected to an unparseable location "http:\/\/\[not-a-host\/x"/ },
    { name: 'file: Location', location: 'file:///etc/passwd', says: /redirected to "file:\/\/\/etc\/passwd", which is neither http nor https; refused/ },
    { name: 'ftp: Location', location: 'ftp://127.0.0.1/blob', says: /redirected to "ftp:\/\/127\.0\.0\.1\/blob", which is neither http nor https/ },
  ];
  for (const c of cases) {
    await t.test(c.name, async () => {
      await withFake({ blobLocation: c.location }, async (f) => {
        const r = await copy(f);
        // unpack streams the blob through the decompressor: still the registry's fault, not ECOMPRESS
        const u = await runCliAsync(['raw', 'unpack', '--tls-verify=false', '--image', `docker://${f.host}/team/app:latest`, join(dir, `rootfs${n++}`)], env);
        for (const out of [r, u]) {
          assert.equal(out.status, exit('ENETWORK'), out.stderr);
          assert.match(out.stderr, /^ocibundle: ENETWORK: /);
          assert.match(out.stderr, c.says);
          assert.equal(out.stderr.trim().split('\n').length, 1);
        }
      });
    });
  }
});

test('bad credential files are one line naming the file', async (t) => {
  const depth = 200_000;
  const cases: { name: string; make(p: string): void; code: keyof typeof ERROR_CODES; says: RegExp }[] = [
    { name: 'deeply nested', make: (p) => writeFileSync(p, `{"auths":{"x":${'['.repeat(depth)}${']'.repeat(depth)}}}`), code: 'EUSAGE', says: /auth file .*auth\.json nests deeper than 100 levels/ },
    { name: 'over 4 MiB', make: (p) => writeFileSync(p, `{"auths":{},"pad":"${'x'.repeat(5 * 1024 * 1024)}"}`), code: 'ELIMIT', says: /auth file .*auth\.json is \d+ bytes, over the 4194304-byte limit/ },
    { name: 'not json (the text, which may hold secrets, is not quoted)', make: (p) => writeFileSync(p, `{"auths": {"h": {"auth": "${PASS}"`), code: 'EUSAGE', says: /auth file .*auth\.json is not valid json$/m },
    { name: 'a fifo', make: (p) => assert.equal(spawnSync('mkfifo', [p]).status, 0), code: 'EUSAGE', says: /auth file .*auth\.json is not a regular file/ },
  ];
  for (const [i, c] of cases.entries()) {
    await t.test(c.name, async () => {
      const p = join(dir, `auth${i}`, 'auth.json');
      mkdirSync(join(dir, `auth${i}`));
      c.make(p);
      const r = await runCliAsync(['copy', '--authfile', p, 'docker://127.0.0.1:9/team/app:latest', `oci:${join(dir, `never${i}`)}:x`], env);
      assert.equal(r.status, exit(c.code), r.stderr);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`^ocibundle: ${c.code}: `));
      assert.match(r.stderr, c.says);
      assert.ok(!r.stderr.includes(PASS), 'no secret in the message');
      assert.equal(existsSync(join(dir, `never${i}`)), false);
    });
  }
});
