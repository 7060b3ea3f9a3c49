// copy to docker:// against Debian's docker-registry: monolithic (POST + PUT) and chunked
// (POST, PATCH..., PUT) uploads, HEAD checks that skip what the registry has, a cross-repository
// mount when the source is another repository of the same registry, manifests by digest and
// the tag last; read back by skopeo and by ocibundle. Basic auth (htpasswd) and bearer tokens
// with --dest-creds, credential helpers (a script the test writes); a source that lies, a
// refused login or SIGINT leaves no tag and no blob.
import { test, before, after } from 'node:test';
import { createHash } from 'node:crypto';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { corruptBlob, gzip, makeTar, writeLayout, type BuiltLayout } from '../../fixtures/layout.js';
import { copyImage } from '../../src/source/copy.js';
import { haveRegistry, haveHtpasswd, startRegistry, type RunningRegistry } from '../helpers/registry-server.js';
import { haveOpenssl, makeSigningCert, runCliAsync, startTokenServer, type TokenServer } from '../helpers/registry-token.js';
import { runCli, scratchDir } from '../helpers/cli.js';
import { haveSkopeo, skopeoCopy } from '../helpers/skopeo.js';
import { startFakeRegistry } from '../helpers/registry-fake.js';
import { spawn } from 'node:child_process';
import { BIN } from '../helpers/cli.js';

/** `n` bytes that do not compress (a sha256 chain), so the layer spans several upload chunks. */
function noise(n: number): Buffer {
  const parts: Buffer[] = [];
  let h = Buffer.from('seed');
  for (let got = 0; got < n; got += 32) parts.push((h = createHash('sha256').update(h).digest()));
  return Buffer.concat(parts).subarray(0, n);
}

const skip = !haveRegistry ? 'docker-registry is not installed (apt-get install docker-registry)' : false;
const noTls = { tlsVerify: false };

let dir: string;
let src: string;
let built: BuiltLayout;
let reg: RunningRegistry | undefined;

before(async () => {
  if (skip) return;
  dir = scratchDir('copy-push');
  src = join(dir, 'src');
  const a = gzip(await makeTar([{ name: 'etc/', type: 'directory' }, { name: 'etc/hostname', data: 'amd64\n' }, { name: 'big', data: noise(300_000) }]));
  const b = gzip(await makeTar([{ name: 'b.txt', data: 'arm64\n' }]));
  built = writeLayout(src, {
    images: [{ tag: 'one', layers: [a, b] }, { tag: 'large', layers: [gzip(await makeTar([{ name: 'large', data: noise(12 << 20) }]))] }, { tag: 'bad', layers: [gzip(await makeTar([{ name: 'x', data: 'to be corrupted\n' }]))] }],
    indexes: [{ tag: 'multi', images: [{ platform: 'linux/amd64', layers: [a] }, { platform: 'linux/arm64/v8', layers: [b] }] }],
  });
  corruptBlob(src, built.images[2]!.layers[0]!.digest);
  reg = await startRegistry(join(dir, 'reg'));
});

after(async () => {
  await reg?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** HTTP status of a HEAD on the plain registry. */
async function head(host: string, path: string, accept = 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json'): Promise<number> {
  const r = await fetch(`http://${host}/v2/${path}`, { method: 'HEAD', headers: { accept } });
  return r.status;
}

const blobNames = (d: string) => readdirSync(join(d, 'blobs', 'sha256')).sort();

test('copy to docker:// (docker-registry, no auth)', { skip }, async (t) => {
  const host = () => reg!.host;
  await t.test('a whole index, monolithic uploads; skopeo and ocibundle read it back', async () => {
    const r = await copyImage(`${src}:multi`, `docker://${host()}/team/multi:v1`, { all: true, destRegistry: noTls });
    assert.equal(r.descriptor.digest, built.indexes[0]!.index.digest, 'index pushed byte for byte');
    assert.deepEqual(r.uploads, { mounted: 0, monolithic: 4, chunked: 0, patches: 0 }, '2 configs + 2 layers, one PUT each');
    const raw = await fetch(`http://${host()}/v2/team/multi/manifests/v1`, { headers: { accept: 'application/vnd.oci.image.index.v1+json' } });
    assert.deepEqual(Buffer.from(await raw.arrayBuffer()), readFileSync(join(src, 'blobs', 'sha256', built.indexes[0]!.index.digest.slice(7))));
    const ours = join(dir, 'back-ours');
    const c = runCli(['copy', '--all', '--tls-verify=false', `docker://${host()}/team/multi:v1`, `${ours}:x`]);
    assert.equal(c.status, 0, c.stderr);
    assert.equal(JSON.parse(readFileSync(join(ours, 'index.json'), 'utf8')).manifests[0].digest, built.indexes[0]!.index.digest);
    if (haveSkopeo) {
      const theirs = join(dir, 'back-skopeo');
      skopeoCopy(['--all', '--src-tls-verify=false', `docker://${host()}/team/multi:v1`, `oci:${theirs}:x`]);
      assert.deepEqual(blobNames(theirs), blobNames(ours));
    }
  });
  await t.test('again: every blob is found by HEAD, nothing uploaded', async () => {
    const r = await copyImage(`${src}:multi`, `docker://${host()}/team/multi:v1`, { all: true, destRegistry: noTls });
    assert.equal(r.copied, 0);
    assert.deepEqual(r.uploads, { mounted: 0, monolithic: 0, chunked: 0, patches: 0 });
  });
  await t.test('chunked uploads: PATCH with Content-Range, then PUT ?digest=', async () => {
    const r = await copyImage(`${src}:one`, `docker://${host()}/chunked:v1`, { destRegistry: { ...noTls, chunkBytes: 64 * 1024 } });
    const sizes = [built.images[0]!.config.size, ...built.images[0]!.layers.map((l) => l.size)];
    const patches = sizes.reduce((n, s) => n + Math.max(0, Math.ceil(s / 65536) - 1), 0);
    assert.deepEqual(r.uploads, { mounted: 0, monolithic: 0, chunked: 3, patches });
    assert.ok(patches >= 1, 'the big layer took several chunks');
    const out = join(dir, 'chunked-back');
    const c = runCli(['copy', '--tls-verify=false', `docker://${host()}/chunked:v1`, `${out}:x`]);
    assert.equal(c.status, 0, c.stderr);
    assert.deepEqual(blobNames(out), [built.images[0]!.config.digest, built.images[0]!.manifest.digest, ...built.images[0]!.layers.map((l) => l.digest)].map((d) => d.slice(7)).sort());
  });
  await t.test('from another repository of the same registry: blobs are mounted, not uploaded', async () => {
    const r = await copyImage(`docker://${host()}/chunked:v1`, `docker://${host()}/elsewhere/mounted:v2`, { registry: noTls, destRegistry: noTls });
    assert.deepEqual(r.uploads, { mounted: 3, monolithic: 0, chunked: 0, patches: 0 });
    assert.equal(await head(host(), 'elsewhere/mounted/manifests/v2'), 200);
  });
  await t.test('the CLI pushes the host platform by default (one manifest under the tag)', () => {
    const c = runCli(['copy', '--json', '--dest-tls-verify=false', `${src}:multi`, `docker://${host()}/cli:v3`]);
    assert.equal(c.status, 0, c.stderr);
    const out = JSON.parse(c.stdout) as { descriptor: { mediaType: string }; uploads: { monolithic: number } };
    assert.equal(out.descriptor.mediaType, 'application/vnd.oci.image.manifest.v1+json');
    assert.equal(out.uploads.monolithic, 2, 'config and the one layer of this platform, uploaded to a new repository');
  });
  await t.test('a source blob that does not match its digest: EDIGEST, no tag, no blob', async () => {
    const c = runCli(['copy', '--dest-tls-verify=false', `${src}:bad`, `docker://${host()}/bad:v1`]);
    assert.equal(c.status, 4, c.stderr);
    assert.match(c.stderr, /^ocibundle: EDIGEST: .*\n$/);
    assert.equal(await head(host(), 'bad/manifests/v1'), 404, 'no tag');
    assert.equal(await head(host(), `bad/blobs/${built.images[2]!.layers[0]!.digest}`, '*/*'), 404, 'the lying blob was not completed');
  });
  await t.test('a 12 MiB layer pushes with nothing on stderr (backpressure waits leave no listeners behind)', () => {
    const c = runCli(['copy', '--dest-tls-verify=false', `${src}:large`, `docker://${host()}/large:v1`]);
    assert.equal(c.status, 0, c.stderr);
    assert.equal(c.stderr, '');
  });
  await t.test('SIGINT during a slow push (and a slow copy to dir:): exit 130, no tag, nothing at DEST', async () => {
    const slow = await startFakeRegistry({ layoutDir: src, slowBlobsMs: 500 });
    try {
      for (const dest of [`docker://${host()}/interrupted:v1`, `dir:${join(dir, 'interrupted-dir')}`]) {
        const child = spawn(process.execPath, [BIN, 'copy', '--jobs', '1', '--tls-verify=false', '--dest-tls-verify=false', `docker://${slow.host}/any:one`, dest], { stdio: ['ignore', 'ignore', 'pipe'] });
        let stderr = '';
        child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
        const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
        // the first blob body takes 2 s (four parts 500 ms apart): interrupt inside it
        while (child.exitCode === null && !slow.seen.some((q) => q.method === 'GET' && q.path.includes('/blobs/'))) await new Promise((r) => setTimeout(r, 50));
        assert.equal(child.exitCode, null, `the copy ended before its first blob: ${stderr}`);
        await new Promise((r) => setTimeout(r, 300));
        child.kill('SIGINT');
        assert.equal(await exited, 130, stderr);
        assert.match(stderr, /EINTERRUPTED/);
        slow.seen.length = 0;
      }
      assert.equal(await head(host(), 'interrupted/manifests/v1'), 404, 'no tag');
      assert.equal(existsSync(join(dir, 'interrupted-dir')), false);
      assert.deepEqual(readdirSync(dir).filter((n) => n.startsWith('.ocibundle-')), []);
    } finally {
      await slow.close();
    }
  });
  await t.test('--dest-compress zstd to a registry: zstd layers in an OCI manifest, read back and checked by ocibundle', async () => {
    const r = await copyImage(`${src}:one`, `docker://${host()}/zstd:v1`, { compression: 'zstd', destRegistry: noTls });
    const m = await fetch(`http://${host()}/v2/zstd/manifests/v1`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
    const bytes = Buffer.from(await m.arrayBuffer());
    assert.equal(`sha256:${createHash('sha256').update(bytes).digest('hex')}`, r.descriptor.digest, 'the tag names the manifest copy reported');
    const doc = JSON.parse(bytes.toString('utf8')) as { config: { digest: string }; layers: { mediaType: string; digest: string }[] };
    assert.deepEqual(doc.layers.map((l) => l.mediaType), ['application/vnd.oci.image.layer.v1.tar+zstd', 'application/vnd.oci.image.layer.v1.tar+zstd']);
    assert.equal(doc.config.digest, built.images[0]!.config.digest, 'config unchanged');
    const out = join(dir, 'zstd-back');
    const c = runCli(['copy', '--tls-verify=false', `docker://${host()}/zstd:v1`, `${out}:x`]);
    assert.equal(c.status, 0, c.stderr);
    const v = runCli(['validate', '--image', `${out}:x`]);
    assert.equal(v.status, 0, v.stdout + v.stderr);
  });
  await t.test('a digest destination is EUSAGE', () => {
    const c = runCli(['copy', '--dest-tls-verify=false', `${src}:one`, `docker://${host()}/x@${built.images[0]!.manifest.digest}`]);
    assert.equal(c.status, 2, c.stderr);
  });
});

test('copy to docker:// with basic auth (htpasswd)', { skip: skip || (!haveHtpasswd && 'htpasswd is not installed (apt-get install apache2-utils)') }, async (t) => {
  const d = scratchDir('copy-push-basic');
  const secured = await startRegistry(join(d, 'reg'), { user: 'pusher', pass: 'Pu5h-secret' });
  try {
    await t.test('--dest-creds pushes', () => {
      const c = runCli(['copy', '--dest-tls-verify=false', '--dest-creds', 'pusher:Pu5h-secret', `${src}:one`, `docker://${secured.host}/auth/app:v1`]);
      assert.equal(c.status, 0, c.stderr);
    });
    await t.test('credentials from a credential helper (credHelpers to push, credsStore to pull)', () => {
      const bin = join(d, 'bin');
      mkdirSync(bin);
      const answer = JSON.stringify({ ServerURL: secured.host, Username: 'pusher', Secret: 'Pu5h-secret' });
      writeFileSync(
        join(bin, 'docker-credential-fromtest'),
        `#!/bin/sh\n[ "$1" = get ] || exit 3\nread -r url\n[ "$url" = '${secured.host}' ] || { echo "credentials not found"; exit 1; }\nprintf '%s' '${answer}'\n`,
        { mode: 0o755 },
      );
      const env = { ...process.env, PATH: `${bin}:${process.env['PATH'] ?? ''}` };
      const pushCfg = join(d, 'push.json');
      writeFileSync(pushCfg, JSON.stringify({ credHelpers: { [secured.host]: 'fromtest' } }));
      const pullCfg = join(d, 'pull.json');
      writeFileSync(pullCfg, JSON.stringify({ credsStore: 'fromtest', auths: { [secured.host]: {} } }));
      const c = runCli(['copy', '--dest-tls-verify=false', '--dest-authfile', pushCfg, `${src}:one`, `docker://${secured.host}/auth/helped:v1`], { env });
      assert.equal(c.status, 0, c.stderr);
      const back = runCli(['copy', '--tls-verify=false', '--authfile', pullCfg, `docker://${secured.host}/auth/helped:v1`, `${join(d, 'back')}:x`], { env });
      assert.equal(back.status, 0, back.stderr);
      assert.ok(!`${c.stderr}${back.stderr}`.includes('Pu5h-secret'));
    });
    await t.test('wrong or missing credentials: EAUTH, secret not printed, no tag', async () => {
      for (const creds of [['--dest-creds', 'pusher:wrong-Secret-9'], []]) {
        const c = runCli(['copy', '--dest-tls-verify=false', ...creds, `${src}:one`, `docker://${secured.host}/auth/other:v1`]);
        assert.equal(c.status, 3, c.stderr);
        assert.match(c.stderr, /^ocibundle: EAUTH: /);
        assert.ok(!c.stderr.includes('wrong-Secret-9'));
      }
      const r = await fetch(`http://${secured.host}/v2/auth/other/manifests/v1`, { method: 'HEAD', headers: { authorization: secured.auth! } });
      assert.equal(r.status, 404);
    });
  } finally {
    await secured.stop();
    rmSync(d, { recursive: true, force: true });
  }
});

test('copy to docker:// with bearer tokens', { skip: skip || (!haveOpenssl && 'openssl is not installed') }, async (t) => {
  const d = scratchDir('copy-push-token');
  let tokens: TokenServer | undefined;
  let treg: RunningRegistry | undefined;
  try {
    tokens = await startTokenServer(makeSigningCert(d), 'dave', 'D4ve-token-pass');
    treg = await startRegistry(join(d, 'reg'), undefined, { realm: tokens.realm, service: tokens.service, issuer: tokens.issuer, rootcertbundle: tokens.certFile });
    await t.test('push with a pull,push token, then a mount across repositories', async () => {
      const c = await runCliAsync(['copy', '--dest-tls-verify=false', '--dest-creds', 'dave:D4ve-token-pass', `${src}:one`, `docker://${treg!.host}/t/app:v1`]);
      assert.equal(c.status, 0, c.stderr);
      assert.ok(tokens!.requests.some((q) => q.status === 200 && /repository:t\/app:(pull,push|push,pull)/.test(q.scope ?? '')), JSON.stringify(tokens!.requests));
      const m = await runCliAsync(['copy', '--json', '--tls-verify=false', '--creds', 'dave:D4ve-token-pass', '--dest-tls-verify=false', '--dest-creds', 'dave:D4ve-token-pass', `docker://${treg!.host}/t/app:v1`, `docker://${treg!.host}/t/copy:v1`]);
      assert.equal(m.status, 0, m.stderr);
      assert.equal((JSON.parse(m.stdout) as { uploads: { mounted: number } }).uploads.mounted, 3);
    });
    await t.test('a refused login: EAUTH, no tag', async () => {
      const c = await runCliAsync(['copy', '--dest-tls-verify=false', '--dest-creds', 'dave:nope-nope', `${src}:one`, `docker://${treg!.host}/t/refused:v1`]);
      assert.equal(c.status, 3, c.stderr);
      assert.match(c.stderr, /^ocibundle: EAUTH: /);
    });
  } finally {
    await treg?.stop();
    await tokens?.stop();
    rmSync(d, { recursive: true, force: true });
  }
});

