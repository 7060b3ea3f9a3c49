// Credential helpers named by auth files: credHelpers for one registry, credsStore for all, in
// Docker's order before auths; what the helper is asked; and each way a helper can fail (not
// installed, refusing, hanging output, bad JSON, identity tokens, a name that is a path), with
// no secret in any message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findCredentials } from '../../src/registry/auth.js';
import { OciBundleError } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'cred-helper-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const bin = join(dir, 'bin');
mkdirSync(bin);
const SECRET = 's3cr3t-Value';

/** A docker-credential-NAME script: records its argv and stdin, then runs `body`. */
function helper(name: string, body: string): void {
  const p = join(bin, `docker-credential-${name}`);
  writeFileSync(p, `#!/bin/sh\nprintf '%s' "$*" > "${dir}/${name}.args"\ncat > "${dir}/${name}.stdin"\n${body}\n`);
  chmodSync(p, 0o755);
}

helper('good', `echo '{"ServerURL":"x","Username":"helper-user","Secret":"${SECRET}"}'`);
helper('store', `echo '{"Username":"store-user","Secret":"${SECRET}"}'`);
helper('empty', `echo 'credentials not found in native keychain'; exit 1`);
helper('broken', `echo "backend locked: ${SECRET}" >&1; echo 'keyring is locked' >&2; exit 3`);
helper('notjson', `echo '{"Username": "${SECRET}'`);
helper('noname', `echo '{"Secret":"${SECRET}"}'`);
helper('token', `echo '{"Username":"<token>","Secret":"${SECRET}"}'`);

function home(name: string, config: unknown): NodeJS.ProcessEnv {
  const h = join(dir, `home-${name}`);
  mkdirSync(join(h, '.docker'), { recursive: true });
  writeFileSync(join(h, '.docker', 'config.json'), JSON.stringify(config));
  return { HOME: h, PATH: `${bin}:${process.env['PATH'] ?? '/usr/bin:/bin'}` };
}

const auth = (user: string) => ({ auth: Buffer.from(`${user}:pw`).toString('base64') });

test('which credentials an auth file yields', async (t) => {
  const cases: [string, unknown, string, string | undefined][] = [
    ['credHelpers for the host', { credHelpers: { 'reg.example:5000': 'good' }, auths: { 'reg.example:5000': auth('file-user') } }, 'reg.example:5000', 'helper-user'],
    ['credHelpers key with a scheme', { credHelpers: { 'https://reg.example': 'good' } }, 'reg.example', 'helper-user'],
    ['credHelpers for another host: auths', { credHelpers: { other: 'good' }, auths: { 'reg.example': auth('file-user') } }, 'reg.example', 'file-user'],
    ['credsStore for every host', { credsStore: 'store' }, 'reg.example', 'store-user'],
    ['credHelpers wins over credsStore', { credsStore: 'store', credHelpers: { 'reg.example': 'good' } }, 'reg.example', 'helper-user'],
    ['credsStore without the host: auths', { credsStore: 'empty', auths: { 'reg.example': auth('file-user') } }, 'reg.example', 'file-user'],
    ['credsStore not installed: auths', { credsStore: 'desktop', auths: { 'reg.example': auth('file-user') } }, 'reg.example', 'file-user'],
    ['credsStore not installed, no auths: anonymous', { credsStore: 'desktop' }, 'reg.example', undefined],
    ['credHelpers without the host: anonymous', { credHelpers: { 'reg.example': 'empty' } }, 'reg.example', undefined],
    ['Docker Hub under its aliases', { credHelpers: { 'index.docker.io': 'good' } }, 'registry-1.docker.io', 'helper-user'],
  ];
  for (const [name, config, host, user] of cases) {
    await t.test(name, () => {
      const c = findCredentials(host, 'team/app', {}, home(name.replace(/\W+/g, '-'), config));
      assert.equal(c?.username, user);
      if (user === 'helper-user' || user === 'store-user') {
        assert.equal(c?.password, SECRET);
        assert.doesNotMatch(JSON.stringify(c), new RegExp(SECRET));
      }
    });
  }
});

test('what the helper is asked', () => {
  findCredentials('reg.example:5000', 'team/app', {}, home('asked', { credHelpers: { 'reg.example:5000': 'good' } }));
  assert.equal(readFileSync(join(dir, 'good.args'), 'utf8'), 'get');
  assert.equal(readFileSync(join(dir, 'good.stdin'), 'utf8'), 'reg.example:5000');
  findCredentials('docker.io', 'library/busybox', {}, home('asked-hub', { credHelpers: { 'docker.io': 'good' } }));
  assert.equal(readFileSync(join(dir, 'good.stdin'), 'utf8'), 'https://index.docker.io/v1/', 'the Hub is asked under its v1 URL, as docker login stores it');
});

test('helper failures: one code, the helper named, no secret', async (t) => {
  const cases: [string, unknown, string, RegExp][] = [
    ['credHelpers names a helper that is not installed', { credHelpers: { 'reg.example': 'nosuch' } }, 'EAUTH', /docker-credential-nosuch .* is not installed/],
    ['the helper fails', { credHelpers: { 'reg.example': 'broken' } }, 'EAUTH', /docker-credential-broken .* failed: keyring is locked/],
    ['the helper prints no JSON', { credHelpers: { 'reg.example': 'notjson' } }, 'EAUTH', /answer of credential helper docker-credential-notjson/],
    ['the helper answers without a Username', { credHelpers: { 'reg.example': 'noname' } }, 'EAUTH', /without a Username and Secret/],
    ['an identity token', { credHelpers: { 'reg.example': 'token' } }, 'EAUTH', /identity token/],
    ['a helper name that is a path', { credHelpers: { 'reg.example': '../../bin/sh' } }, 'EUSAGE', /is not a plain program name/],
    ['a credsStore that is a path', { credsStore: '/bin/sh' }, 'EUSAGE', /is not a plain program name/],
  ];
  for (const [name, config, code, msg] of cases) {
    await t.test(name, () => {
      assert.throws(
        () => findCredentials('reg.example', 'team/app', {}, home(name.replace(/\W+/g, '-'), config)),
        (e: unknown) => {
          assert.ok(e instanceof OciBundleError);
          assert.equal(e.code, code);
          assert.match(e.message, msg);
          assert.doesNotMatch(`${e.message} ${e.hint ?? ''}`, new RegExp(SECRET), 'no secret in the error');
          assert.doesNotMatch(e.message, /\n/);
          return true;
        },
      );
    });
  }
});
