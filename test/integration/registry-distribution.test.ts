// openRegistry against Debian's docker-registry (distribution 2.8) on 127.0.0.1 at a free
// port, seeded by our own push helper: anonymous pulls (OCI, Docker, multi-platform, by
// digest), a full library unpack of the pulled image, and htpasswd (bcrypt) Basic auth.
// Skips with a reason when docker-registry (or htpasswd) is not installed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { openRegistry } from '../../src/registry/index.js';
import { oneLine, OciBundleError } from '../../src/errors.js';
import { unpack } from '../../src/unpack.js';
import { writeLayout, makeTar, gzip, type BuiltLayout } from '../../fixtures/layout.js';
import { haveHtpasswd, haveRegistry, pushImage, startRegistry, type RunningRegistry } from '../helpers/registry-server.js';
import { pullAll, writeAsLayout } from '../helpers/registry-pull.js';

const skip = !haveRegistry && 'docker-registry is not installed (apt-get install docker-registry)';
const skipAuth = skip || (!haveHtpasswd && 'htpasswd is not installed (apt-get install apache2-utils)');
const USER = 'bob';
const PASS = 'Pa55-w0rd-never-shown';

let dir: string;
let built: BuiltLayout;
let anon: RunningRegistry | undefined;
let authed: RunningRegistry | undefined;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'registry-dist-'));
  const l1 = gzip(await makeTar([{ name: 'etc/', type: 'directory' }, { name: 'etc/hostname', data: 'registry\n' }, { name: 'etc/passwd', data: 'root:x:0:0:root:/root:/bin/sh\n' }]));
  const l2 = gzip(await makeTar([{ name: 'data/', type: 'directory' }, { name: 'data/blob', data: Buffer.alloc(300_000, 3) }, { name: 'link', type: 'symlink', linkname: 'data/blob' }]));
  const l3 = gzip(await makeTar([{ name: 'arch', data: 'arm64\n' }]));
  built = writeLayout(join(dir, 'layout'), {
    images: [
      { tag: 'latest', layers: [l1, l2], config: { config: { Cmd: ['/bin/sh'], Env: ['PATH=/bin'] } } },
      { tag: 'docker', layers: [l1], docker: true },
    ],
    indexes: [{ tag: 'multi', images: [{ layers: [l3], platform: 'linux/arm64/v8' }, { layers: [l1], platform: 'linux/amd64' }] }],
  });
  if (skip) return;
  const lay = join(dir, 'layout');
  const seed = async (host: string, auth?: string) => {
    for (const img of built.images) await pushImage(host, lay, 'test/image', img.manifest.digest, img.manifest.mediaType, img.tag!, auth);
    for (const ix of built.indexes) await pushImage(host, lay, 'test/image', ix.index.digest, ix.index.mediaType, ix.tag, auth);
  };
  anon = await startRegistry(join(dir, 'anon'));
  await seed(anon.host);
  if (!skipAuth) {
    authed = await startRegistry(join(dir, 'authed'), { user: USER, pass: PASS });
    await seed(authed.host, authed.auth);
  }
});

after(async () => {
  await anon?.stop();
  await authed?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const cases: { name: string; ref: () => string; platform?: string; layers: number; mediaType: string }[] = [
  { name: 'oci image by tag', ref: () => 'test/image:latest', layers: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json' },
  { name: 'docker v2s2 image', ref: () => 'test/image:docker', layers: 1, mediaType: 'application/vnd.docker.distribution.manifest.v2+json' },
  { name: 'oci index, arm64', ref: () => 'test/image:multi', platform: 'linux/arm64/v8', layers: 1, mediaType: 'application/vnd.oci.image.manifest.v1+json' },
  { name: 'by digest', ref: () => `test/image@${built.images[0]!.manifest.digest}`, layers: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json' },
];

test('anonymous pulls from docker-registry', { skip }, async (t) => {
  for (const c of cases) {
    await t.test(c.name, async () => {
      const r = await openRegistry(`${anon!.host}/${c.ref()}`, { tlsVerify: false });
      try {
        const { img, bytes } = await pullAll(r.layout, r.ref, c.platform);
        assert.equal(img.layers.length, c.layers);
        assert.equal(img.manifestDescriptor.mediaType, c.mediaType);
        assert.equal(bytes, img.layers.reduce((n, l) => n + l.size, 0));
      } finally {
        await r.close();
      }
    });
  }
  await t.test('unknown tag: ENOTAG', async () => {
    await assert.rejects(openRegistry(`${anon!.host}/test/image:nope`, { tlsVerify: false }), (e: unknown) => (e as OciBundleError).code === 'ENOTAG');
  });
  await t.test('unknown repository: ENOTAG', async () => {
    await assert.rejects(openRegistry(`${anon!.host}/no/such:latest`, { tlsVerify: false }), (e: unknown) => (e as OciBundleError).code === 'ENOTAG');
  });
});

test('library unpack of an image pulled from docker-registry', { skip: skip || (process.getuid?.() !== 0 && 'needs root') }, async () => {
  const r = await openRegistry(`${anon!.host}/test/image:latest`, { tlsVerify: false, cacheDir: join(dir, 'cache') });
  try {
    await writeAsLayout(r.layout, r.ref, join(dir, 'pulled'));
  } finally {
    await r.close();
  }
  const sum = await unpack({ image: `${join(dir, 'pulled')}:latest`, bundle: join(dir, 'bundle') });
  assert.equal(sum.layers.length, 2);
  assert.equal(readFileSync(join(dir, 'bundle', 'rootfs', 'etc', 'hostname'), 'utf8'), 'registry\n');
  assert.equal(readFileSync(join(dir, 'bundle', 'rootfs', 'link')).length, 300_000);
  const spec = JSON.parse(readFileSync(join(dir, 'bundle', 'config.json'), 'utf8')) as { process: { args: string[] } };
  assert.deepEqual(spec.process.args, ['/bin/sh']);
});

test('htpasswd basic auth on docker-registry', { skip: skipAuth }, async (t) => {
  await t.test('right credentials', async () => {
    const r = await openRegistry(`${authed!.host}/test/image:latest`, { tlsVerify: false, creds: `${USER}:${PASS}` });
    try {
      assert.equal((await pullAll(r.layout, r.ref)).img.layers.length, 2);
    } finally {
      await r.close();
    }
  });
  const bad: { name: string; creds?: string }[] = [{ name: 'wrong password', creds: `${USER}:x${PASS}` }, { name: 'no credentials' }];
  for (const c of bad) {
    await t.test(`${c.name}: EAUTH without secrets`, async () => {
      const opts = { tlsVerify: false, env: { HOME: join(dir, 'nohome') }, ...(c.creds ? { creds: c.creds } : {}) };
      await assert.rejects(openRegistry(`${authed!.host}/test/image:latest`, opts), (e: unknown) => {
        assert.equal((e as OciBundleError).code, 'EAUTH', oneLine(e));
        for (const s of [oneLine(e), inspect(e, { depth: 10 })]) assert.ok(!s.includes(PASS) && !s.includes(Buffer.from(`${USER}:x${PASS}`).toString('base64')), s);
        return true;
      });
    });
  }
});
