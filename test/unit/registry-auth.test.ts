// Registry credentials and challenges: USER:PASS parsing, auth-file lookup (key forms,
// precedence, most specific key), WWW-Authenticate parsing, and redaction of secrets.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { findCredentials, parseChallenge, parseCreds } from '../../src/registry/auth.js';
import { OciBundleError, oneLine } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'registry-auth-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const b64 = (s: string) => Buffer.from(s).toString('base64');

function authFile(name: string, auths: Record<string, unknown>): string {
  const p = join(dir, name);
  mkdirSync(join(p, '..'), { recursive: true });
  writeFileSync(p, JSON.stringify({ auths }));
  return p;
}

test('parseCreds splits at the first colon and never echoes the value', async (t) => {
  const cases: { name: string; in: string; user?: string; pass?: string }[] = [
    { name: 'plain', in: 'u:p', user: 'u', pass: 'p' },
    { name: 'colon in password', in: 'u:p:q', user: 'u', pass: 'p:q' },
    { name: 'empty password', in: 'u:', user: 'u', pass: '' },
    { name: 'no colon', in: 'secretvalue' },
    { name: 'empty user', in: ':secretvalue' },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      if (c.user === undefined) {
        assert.throws(() => parseCreds(c.in), (e: unknown) => e instanceof OciBundleError && e.code === 'EUSAGE' && !oneLine(e).includes('secretvalue'));
      } else {
        const cr = parseCreds(c.in);
        assert.equal(cr.username, c.user);
        assert.equal(cr.password, c.pass);
      }
    });
  }
});

test('credentials print redacted', () => {
  const cr = parseCreds('me:hunter2-long');
  for (const s of [inspect(cr), inspect({ nested: cr }, { depth: 5 }), JSON.stringify(cr), String(cr)]) {
    assert.ok(!s.includes('hunter2-long'), s);
  }
  assert.equal(cr.basic(), `Basic ${b64('me:hunter2-long')}`);
});

test('auth file lookup', async (t) => {
  const home = join(dir, 'home');
  const xdg = join(dir, 'xdg');
  authFile('home/.docker/config.json', {
    'https://index.docker.io/v1/': { auth: b64('hub:hubpass') },
    'reg.io': { auth: b64('docker:dpass') },
    'http://plain.io:5000': { username: 'up', password: 'uppass' },
  });
  authFile('xdg/containers/auth.json', { 'reg.io/team': { auth: b64('team:tpass') }, 'reg.io/team/special': { auth: b64('special:spass') } });
  const explicit = authFile('explicit.json', { 'reg.io': { auth: b64('explicit:epass') } });
  const env = { HOME: home, XDG_RUNTIME_DIR: xdg };
  const cases: { name: string; host: string; repo: string; opts?: object; env?: object; user?: string }[] = [
    { name: 'docker hub via the v1 url key', host: 'docker.io', repo: 'library/busybox', user: 'hub' },
    { name: 'host key in ~/.docker', host: 'reg.io', repo: 'other/x', user: 'docker' },
    { name: 'username/password entry, scheme and port in key', host: 'plain.io:5000', repo: 'r', user: 'up' },
    { name: 'auth.json namespace key wins for its repos', host: 'reg.io', repo: 'team/app', user: 'team' },
    { name: 'most specific key wins', host: 'reg.io', repo: 'team/special/x', user: 'special' },
    { name: '--authfile replaces the default files', host: 'reg.io', repo: 'team/app', opts: { authfile: explicit }, user: 'explicit' },
    { name: '--creds wins over everything', host: 'reg.io', repo: 'team/app', opts: { creds: 'c:cp', authfile: explicit }, user: 'c' },
    { name: 'unknown host: anonymous', host: 'none.io', repo: 'a' },
    { name: 'no files at all: anonymous', host: 'reg.io', repo: 'a', env: { HOME: join(dir, 'empty') } },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const cr = findCredentials(c.host, c.repo, c.opts ?? {}, (c.env ?? env) as NodeJS.ProcessEnv);
      assert.equal(cr?.username, c.user);
    });
  }
  await t.test('broken auth file: EUSAGE naming the file, not its content', () => {
    const p = join(dir, 'broken.json');
    writeFileSync(p, '{"auths": {"reg.io": {"auth": "c2VjcmV0 ');
    assert.throws(
      () => findCredentials('reg.io', 'a', { authfile: p }),
      (e: unknown) => e instanceof OciBundleError && e.code === 'EUSAGE' && e.message.includes(p) && !oneLine(e).includes('c2VjcmV0'),
    );
  });
});

test('parseChallenge', async (t) => {
  const cases: { name: string; in: string | undefined; scheme?: string; params?: Record<string, string> }[] = [
    {
      name: 'docker hub bearer',
      in: 'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"',
      scheme: 'bearer',
      params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/busybox:pull' },
    },
    { name: 'basic', in: 'Basic realm="Registry Realm"', scheme: 'basic', params: { realm: 'Registry Realm' } },
    { name: 'unquoted and escaped values', in: 'Bearer realm=https://t/x, service="a\\"b"', scheme: 'bearer', params: { realm: 'https://t/x', service: 'a"b' } },
    { name: 'absent', in: undefined },
    { name: 'garbage', in: '"' },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const ch = parseChallenge(c.in);
      assert.equal(ch?.scheme, c.scheme);
      if (c.params) assert.deepEqual(ch?.params, c.params);
    });
  }
});
