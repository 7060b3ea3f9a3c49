// The bearer-token flow against Debian's real docker-registry (`auth: token:`), with a token
// server in this process that signs RS256 JWTs with an openssl-made key whose self-signed cert
// is the registry's rootcertbundle: push with a pull+push token, CLI copy and unpack through
// the flow, scope/service seen by the token server, EAUTH without secrets, expired-token refresh.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeLayout, makeTar, gzip, type BuiltLayout } from '../../fixtures/layout.js';
import { haveRegistry, startRegistry, type RunningRegistry } from '../helpers/registry-server.js';
import { haveOpenssl, makeSigningCert, pushWithToken, runCliAsync, startTokenServer, type TokenServer } from '../helpers/registry-token.js';
import { isRoot, scratchDir } from '../helpers/cli.js';

const skip = !haveRegistry ? 'docker-registry is not installed (apt-get install docker-registry)' : !haveOpenssl ? 'openssl is not installed (apt-get install openssl)' : false;
const USER = 'carol';
const PASS = 'T0ken-Pa55-never-shown';
const REPO = 'team/app';

let dir: string;
let built: BuiltLayout;
let tokens: TokenServer | undefined;
let reg: RunningRegistry | undefined;

before(async () => {
  if (skip) return;
  dir = scratchDir('registry-token');
  const l1 = gzip(await makeTar([{ name: 'etc/', type: 'directory' }, { name: 'etc/hostname', data: 'token-flow\n' }, { name: 'etc/passwd', data: 'root:x:0:0:root:/root:/bin/sh\n' }]));
  const l2 = gzip(await makeTar([{ name: 'data/', type: 'directory' }, { name: 'data/blob', data: Buffer.alloc(200_000, 7) }]));
  built = writeLayout(join(dir, 'layout'), { images: [{ tag: 'v1', layers: [l1, l2], config: { config: { Cmd: ['/bin/sh'], Env: ['PATH=/bin'] } } }] });
  tokens = await startTokenServer(makeSigningCert(dir), USER, PASS);
  reg = await startRegistry(join(dir, 'reg'), undefined, { realm: tokens.realm, service: tokens.service, issuer: tokens.issuer, rootcertbundle: tokens.certFile });
  const img = built.images[0]!;
  await pushWithToken(reg.host, { user: USER, pass: PASS }, join(dir, 'layout'), REPO, img.manifest.digest, img.manifest.mediaType, 'v1');
});

after(async () => {
  await reg?.stop();
  await tokens?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const name = () => `docker://${reg!.host}/${REPO}:v1`;
const since = (n: number) => tokens!.requests.slice(n);
/** The trusted signer of `srv` (same key and x5c) so that only the audience differs. */
const pick = (srv: TokenServer) => ({ key: srv.signer.key, x5c: srv.signer.x5c, certFile: srv.signer.certFile });

test('bearer-token flow against docker-registry', { skip }, async (t) => {
  await t.test('the registry refuses anonymous access and names the token server', async () => {
    const r = await fetch(`http://${reg!.host}/v2/${REPO}/manifests/v1`);
    await r.arrayBuffer();
    assert.equal(r.status, 401);
    const ch = r.headers.get('www-authenticate') ?? '';
    assert.match(ch, /^Bearer /);
    assert.ok(ch.includes(`realm="${tokens!.realm}"`) && ch.includes(`service="${tokens!.service}"`), ch);
    assert.ok(ch.includes(`scope="repository:${REPO}:pull"`), ch);
  });

  await t.test('the push obtained a pull,push token for the repository', () => {
    // distribution lists the actions in no fixed order (pull,push or push,pull)
    const push = tokens!.requests.filter((q) => q.status === 200 && [`repository:${REPO}:pull,push`, `repository:${REPO}:push,pull`].includes(q.scope ?? ''));
    assert.equal(push.length, 1, JSON.stringify(tokens!.requests));
    assert.equal(push[0]!.service, tokens!.service);
    assert.equal(push[0]!.user, USER);
  });

  await t.test('the registry checks signer, audience and expiry of tokens', async () => {
    const stranger = await startTokenServer(makeSigningCert(join(dir, 'reg')), USER, PASS, tokens!.service, tokens!.issuer);
    const elsewhere = await startTokenServer({ ...makeSigningCert(join(dir, 'reg')), ...pick(tokens!) }, USER, PASS, 'another-service', tokens!.issuer);
    const scope = `repository:${REPO}:pull`;
    const cases: { name: string; token: () => string; status: number }[] = [
      { name: 'valid token', token: () => tokens!.issue(USER, scope), status: 200 },
      { name: 'untrusted signer', token: () => stranger.issue(USER, scope), status: 401 },
      { name: 'other audience', token: () => elsewhere.issue(USER, scope), status: 401 },
      { name: 'expired beyond the leeway', token: () => tokens!.issue(USER, scope, true), status: 401 },
      { name: 'scope of another repository', token: () => tokens!.issue(USER, 'repository:team/other:pull'), status: 401 },
    ];
    try {
      for (const c of cases) {
        const r = await fetch(`http://${reg!.host}/v2/${REPO}/manifests/v1`, { headers: { authorization: `Bearer ${c.token()}`, accept: 'application/vnd.oci.image.manifest.v1+json' } });
        await r.arrayBuffer();
        assert.equal(r.status, c.status, c.name);
      }
    } finally {
      await stranger.stop();
      await elsewhere.stop();
    }
  });

  await t.test('copy docker:// -> oci: through the token flow, then unpack the copy', { skip: !isRoot() && 'needs root (unpack)' }, async () => {
    const n = tokens!.requests.length;
    const c = await runCliAsync(['copy', '--tls-verify=false', '--creds', `${USER}:${PASS}`, name(), `oci:${join(dir, 'copy')}:v1`]);
    assert.equal(c.status, 0, c.stderr);
    const seen = since(n);
    assert.ok(seen.length >= 1, 'the token server was asked');
    for (const q of seen) {
      assert.equal(q.status, 200);
      assert.equal(q.service, tokens!.service);
      assert.equal(q.scope, `repository:${REPO}:pull`);
      assert.equal(q.user, USER);
    }
    const u = await runCliAsync(['unpack', '--image', `${join(dir, 'copy')}:v1`, join(dir, 'bundle')]);
    assert.equal(u.status, 0, u.stderr);
    assert.equal(readFileSync(join(dir, 'bundle', 'rootfs', 'etc', 'hostname'), 'utf8'), 'token-flow\n');
    assert.equal(readFileSync(join(dir, 'bundle', 'rootfs', 'data', 'blob')).length, 200_000);
    const spec = JSON.parse(readFileSync(join(dir, 'bundle', 'config.json'), 'utf8')) as { process: { args: string[] } };
    assert.deepEqual(spec.process.args, ['/bin/sh']);
  });

  const refused: { name: string; creds: string[]; user: string | undefined }[] = [
    { name: 'wrong password', creds: ['--creds', `${USER}:wrong-${PASS}`], user: USER },
    { name: 'no credentials', creds: [], user: undefined },
  ];
  for (const c of refused) {
    await t.test(`${c.name} at the token server: exit 3 (EAUTH), no secret on stderr`, async () => {
      const n = tokens!.requests.length;
      // a HOME without auth files, so that no stored credentials are picked up
      const env = { ...process.env, HOME: join(dir, 'nohome'), XDG_CONFIG_HOME: join(dir, 'nohome'), XDG_RUNTIME_DIR: join(dir, 'nohome') };
      const r = await runCliAsync(['copy', '--tls-verify=false', ...c.creds, name(), `oci:${join(dir, `refused-${c.creds.length}`)}:v1`], env);
      assert.equal(r.status, 3, r.stderr);
      assert.match(r.stderr, /^ocibundle: EAUTH: /);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      for (const secret of [PASS, Buffer.from(`${USER}:wrong-${PASS}`).toString('base64')]) assert.ok(!r.stderr.includes(secret), r.stderr);
      const seen = since(n);
      assert.ok(seen.length >= 1 && seen.every((q) => q.status === 401 && q.user === c.user), JSON.stringify(seen));
    });
  }

  await t.test('an expired token is refused by the registry and refreshed', async () => {
    const n = tokens!.requests.length;
    tokens!.expireNext(1);
    const r = await runCliAsync(['copy', '--tls-verify=false', '--creds', `${USER}:${PASS}`, name(), `oci:${join(dir, 'refreshed')}:v1`]);
    assert.equal(r.status, 0, r.stderr);
    const seen = since(n);
    assert.equal(seen[0]?.expired, true, JSON.stringify(seen));
    assert.ok(seen.slice(1).some((q) => q.status === 200 && !q.expired && q.scope === `repository:${REPO}:pull`), JSON.stringify(seen));
    const index = JSON.parse(readFileSync(join(dir, 'refreshed', 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    assert.equal(index.manifests[0]?.digest, built.images[0]!.manifest.digest);
  });
});
