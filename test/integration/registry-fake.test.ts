// openRegistry against a fake registry written in the test: anonymous, Basic and Bearer auth
// (token cached, credentials never in messages), redirects to blob storage without the
// Authorization header, retries on 503, tampered bytes and a wrong Docker-Content-Digest
// refused, 404s, chunked bodies, scheme choice, auth files and the blob cache.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, mkdirSync, writeFileSync, unlinkSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { openRegistry, type RegistryOptions } from '../../src/registry/index.js';
import { oneLine, OciBundleError } from '../../src/errors.js';
import { writeLayout, makeTar, gzip, type BuiltLayout } from '../../fixtures/layout.js';
import { startFakeRegistry, withFakeRegistry, type FakeOptions, type FakeRegistry } from '../helpers/registry-fake.js';
import { pullAll, drain } from '../helpers/registry-pull.js';
import { resolveInLayout } from '../../src/image/resolve.js';

const USER = 'alice';
const PASS = 'S3cret-pa55-XYZ';
const FAST: RegistryOptions = { tlsVerify: false, retries: 2, backoffMs: 5 };

let dir: string;
let built: BuiltLayout;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'registry-fake-'));
  const l1 = gzip(await makeTar([{ name: 'etc/', type: 'directory' }, { name: 'etc/hostname', data: 'fake\n' }]));
  const l2 = gzip(await makeTar([{ name: 'big.bin', data: Buffer.alloc(600_000, 7) }]));
  const l3 = gzip(await makeTar([{ name: 'arm', data: 'arm64\n' }]));
  const l4 = gzip(await makeTar([{ name: 'amd', data: 'amd64\n' }]));
  built = writeLayout(join(dir, 'layout'), {
    images: [
      { tag: 'latest', layers: [l1, l2] },
      { tag: 'docker', layers: [l1], docker: true },
    ],
    indexes: [
      {
        tag: 'multi',
        docker: true,
        images: [
          { layers: [l3], platform: 'linux/arm64/v8' },
          { layers: [l4], platform: 'linux/amd64' },
        ],
      },
    ],
  });
});

after(() => rmSync(dir, { recursive: true, force: true }));

const withFake = (o: Partial<FakeOptions>, fn: (f: FakeRegistry) => Promise<void>): Promise<void> => withFakeRegistry({ layoutDir: join(dir, 'layout'), ...o }, fn);

async function pull(host: string, ref: string, opts: RegistryOptions = FAST, platform?: string) {
  const r = await openRegistry(`${host}/${ref}`, opts);
  try {
    return { ...(await pullAll(r.layout, r.ref, platform)), ref: r.ref, layout: r.layout };
  } finally {
    await r.close();
  }
}

function assertNoSecret(e: unknown): void {
  const b64 = Buffer.from(`${USER}:${PASS}`).toString('base64');
  for (const text of [oneLine(e), inspect(e, { depth: 10 }), String((e as Error).stack)]) {
    assert.ok(!text.includes(PASS), `password leaked: ${text}`);
    assert.ok(!text.includes(b64), `basic credentials leaked: ${text}`);
  }
}

async function rejectsWith(p: Promise<unknown>, code: string): Promise<OciBundleError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof OciBundleError, `not an OciBundleError: ${String(e)}`);
    assert.equal(e.code, code, oneLine(e));
    return e;
  }
  assert.fail(`expected ${code}`);
}

const pulls: { name: string; ref: string; platform?: string; layers: number; ref2?: (b: BuiltLayout) => string }[] = [
  { name: 'oci manifest by tag', ref: 'demo/app:latest', layers: 2 },
  { name: 'docker v2s2 manifest', ref: 'demo/app:docker', layers: 1 },
  { name: 'docker manifest list, arm64', ref: 'demo/app:multi', platform: 'linux/arm64/v8', layers: 1 },
  { name: 'docker manifest list, amd64', ref: 'demo/app:multi', platform: 'linux/amd64', layers: 1 },
  { name: 'by digest', ref: '', ref2: (b) => `demo/app@${b.images[0]!.manifest.digest}`, layers: 2 },
];

test('anonymous pulls', async (t) => {
  await withFake({}, async (f) => {
    for (const c of pulls) {
      await t.test(c.name, async () => {
        const ref = c.ref2 ? c.ref2(built) : c.ref;
        const got = await pull(f.host, ref, FAST, c.platform);
        assert.equal(got.img.layers.length, c.layers);
        assert.equal(got.bytes, got.img.layers.reduce((n, l) => n + l.size, 0));
        assert.equal(got.ref, ref.includes('@') ? `@${ref.split('@')[1]}` : ref.split(':')[1]);
        if (c.platform) assert.equal(`${got.img.config.os}/${got.img.config.architecture}`, c.platform.split('/').slice(0, 2).join('/'));
      });
    }
  });
});

test('bearer token flow: anonymous token, cached per scope', async () => {
  await withFake({ bearer: {} }, async (f) => {
    const got = await pull(f.host, 'demo/app:latest');
    assert.equal(got.img.layers.length, 2);
    const tokens = f.seen.filter((s) => s.server === 'token');
    assert.equal(tokens.length, 1, 'one token for the whole pull');
    assert.match(tokens[0]!.path, /scope=repository%3Ademo%2Fapp%3Apull/);
    assert.match(tokens[0]!.path, /service=fake-registry/);
    assert.ok(f.seen.filter((s) => s.server === 'registry' && s.path.includes('/blobs/')).every((s) => s.authorization?.startsWith('Bearer ')));
  });
});

test('bearer token flow with credentials', async (t) => {
  await withFake({ bearer: { user: USER, pass: PASS } }, async (f) => {
    await t.test('right password', async () => {
      const got = await pull(f.host, 'demo/app:latest', { ...FAST, creds: `${USER}:${PASS}` });
      assert.equal(got.img.layers.length, 2);
      const tok = f.seen.find((s) => s.server === 'token');
      assert.equal(tok?.authorization, `Basic ${Buffer.from(`${USER}:${PASS}`).toString('base64')}`);
    });
    await t.test('wrong password: EAUTH, no secret in the error', async () => {
      const e = await rejectsWith(openRegistry(`${f.host}/demo/app:latest`, { ...FAST, creds: `${USER}:${PASS}x` }), 'EAUTH');
      assertNoSecret(e);
      assert.match(e.message, new RegExp(`${f.host}/demo/app`));
    });
    await t.test('no credentials: EAUTH', async () => {
      await rejectsWith(openRegistry(`${f.host}/demo/app:latest`, { ...FAST, env: { HOME: join(dir, 'nohome') } }), 'EAUTH');
    });
  });
});

test('basic auth', async (t) => {
  await withFake({ basic: { user: USER, pass: PASS } }, async (f) => {
    const home = join(dir, 'home-basic');
    const cases: { name: string; opts: RegistryOptions; code?: string; setup?: () => void }[] = [
      { name: '--creds', opts: { creds: `${USER}:${PASS}` } },
      { name: 'wrong --creds', opts: { creds: `${USER}:nope-${PASS}` }, code: 'EAUTH' },
      { name: 'anonymous', opts: { env: { HOME: join(dir, 'nohome') } }, code: 'EAUTH' },
      {
        name: '--authfile (auth.json, base64 auth)',
        opts: { authfile: join(dir, 'auth.json') },
        setup: () => writeFileSync(join(dir, 'auth.json'), JSON.stringify({ auths: { [f.host]: { auth: Buffer.from(`${USER}:${PASS}`).toString('base64') } } })),
      },
      {
        name: '~/.docker/config.json with an https:// key',
        opts: { env: { HOME: home } },
        setup: () => {
          mkdirSync(join(home, '.docker'), { recursive: true });
          writeFileSync(join(home, '.docker', 'config.json'), JSON.stringify({ auths: { [`https://${f.host}`]: { auth: Buffer.from(`${USER}:${PASS}`).toString('base64') } } }));
        },
      },
      {
        name: '$XDG_RUNTIME_DIR/containers/auth.json wins over ~/.docker',
        opts: { env: { HOME: home, XDG_RUNTIME_DIR: join(dir, 'xdg') } },
        setup: () => {
          mkdirSync(join(dir, 'xdg', 'containers'), { recursive: true });
          writeFileSync(join(dir, 'xdg', 'containers', 'auth.json'), JSON.stringify({ auths: { [f.host]: { auth: Buffer.from(`${USER}:wrong`).toString('base64') } } }));
        },
        code: 'EAUTH',
      },
      { name: 'missing --authfile', opts: { authfile: join(dir, 'absent.json') }, code: 'EUSAGE' },
      {
        name: 'a credential helper named by credHelpers (docker-credential-NAME get)',
        opts: { env: { HOME: join(dir, 'home-helper'), PATH: `${join(dir, 'helper-bin')}:${process.env['PATH'] ?? '/usr/bin:/bin'}` } },
        setup: () => {
          mkdirSync(join(dir, 'helper-bin'), { recursive: true });
          const script = join(dir, 'helper-bin', 'docker-credential-test');
          writeFileSync(script, `#!/bin/sh\n[ "$1" = get ] && [ "$(cat)" = "${f.host}" ] || exit 1\necho '{"Username":"${USER}","Secret":"${PASS}"}'\n`, { mode: 0o755 });
          mkdirSync(join(dir, 'home-helper', '.docker'), { recursive: true });
          writeFileSync(join(dir, 'home-helper', '.docker', 'config.json'), JSON.stringify({ credHelpers: { [f.host]: 'test' }, auths: { [f.host]: { auth: Buffer.from(`${USER}:wrong`).toString('base64') } } }));
        },
      },
    ];
    for (const c of cases) {
      await t.test(c.name, async () => {
        c.setup?.();
        const p = pull(f.host, 'demo/app:latest', { ...FAST, ...c.opts });
        if (c.code) assertNoSecret(await rejectsWith(p, c.code));
        else assert.equal((await p).img.layers.length, 2);
      });
    }
  });
});

test('redirects to blob storage; Authorization not forwarded to another origin', async () => {
  await withFake({ redirectBlobs: true, bearer: {} }, async (f) => {
    const got = await pull(f.host, 'demo/app:latest');
    const storage = f.seen.filter((s) => s.server === 'blobs');
    assert.equal(storage.length, 3, 'config + 2 layers from storage');
    assert.ok(storage.every((s) => s.authorization === undefined), 'no Authorization sent to blob storage');
    assert.equal(got.bytes, got.img.layers.reduce((n, l) => n + l.size, 0));
  });
});

test('retries on 503 with backoff, bounded', async (t) => {
  await t.test('two 503s then success', async () => {
    await withFake({ fail503: 2 }, async (f) => {
      const got = await pull(f.host, 'demo/app:latest');
      assert.equal(got.img.layers.length, 2);
      assert.equal(f.seen.filter((s) => s.path.includes('/blobs/')).length, 3 + 2);
    });
  });
  await t.test('503 forever: ENETWORK after retries', async () => {
    await withFake({ fail503: 1000 }, async (f) => {
      const e = await rejectsWith(pull(f.host, 'demo/app:latest'), 'ENETWORK');
      assert.match(oneLine(e), /503/);
      assert.equal(f.seen.filter((s) => s.path.includes('/blobs/')).length, 3, 'first try + 2 retries');
    });
  });
});

test('tampered bytes are refused', async (t) => {
  await t.test('layer: EDIGEST while streaming', async () => {
    const layer = built.images[0]!.layers[1]!;
    await withFake({ tamper: new Set([layer.digest]) }, async (f) => {
      const r = await openRegistry(`${f.host}/demo/app:latest`, FAST);
      try {
        const img = await resolveInLayout(r.layout, r.ref);
        await drain(r.layout, img.layers[0]!);
        const e = await rejectsWith(drain(r.layout, img.layers[1]!), 'EDIGEST');
        assert.match(e.message, new RegExp(layer.digest));
      } finally {
        await r.close();
      }
    });
  });
  await t.test('config: EDIGEST at resolve', async () => {
    await withFake({ tamper: new Set([built.images[0]!.config.digest]) }, async (f) => {
      await rejectsWith(pull(f.host, 'demo/app:latest'), 'EDIGEST');
    });
  });
  await t.test('wrong Docker-Content-Digest: EDIGEST at open', async () => {
    await withFake({ wrongDigestHeader: true }, async (f) => {
      const e = await rejectsWith(openRegistry(`${f.host}/demo/app:latest`, FAST), 'EDIGEST');
      assert.match(e.message, /docker-content-digest/i);
    });
  });
  await t.test('digest reference not matching the bytes: EDIGEST', async () => {
    await withFake({ wrongDigestHeader: true }, async (f) => {
      await rejectsWith(openRegistry(`${f.host}/demo/app@${built.images[0]!.manifest.digest}`, FAST), 'EDIGEST');
    });
  });
});

test('not found', async (t) => {
  await withFake({}, async (f) => {
    await t.test('unknown tag: ENOTAG', async () => {
      const e = await rejectsWith(openRegistry(`${f.host}/demo/app:nope`, FAST), 'ENOTAG');
      assert.match(e.message, /nope/);
    });
    await t.test('unknown digest: ENOBLOB', async () => {
      await rejectsWith(openRegistry(`${f.host}/demo/app@sha256:${'0'.repeat(64)}`, FAST), 'ENOBLOB');
    });
  });
  await t.test('missing layer blob: ENOBLOB', async () => {
    const d2 = join(dir, 'missing');
    const b = writeLayout(d2, { images: [{ tag: 'latest', layers: [gzip(await makeTar([{ name: 'x', data: 'y' }]))] }] });
    unlinkSync(join(d2, 'blobs', 'sha256', b.images[0]!.layers[0]!.digest.slice(7)));
    const f = await startFakeRegistry({ layoutDir: d2 });
    try {
      await rejectsWith(pull(f.host, 'demo/app:latest'), 'ENOBLOB');
    } finally {
      await f.close();
    }
  });
});

test('chunked blob bodies use the descriptor size', async () => {
  await withFake({ chunked: true }, async (f) => {
    const got = await pull(f.host, 'demo/app:latest');
    assert.equal(got.bytes, got.img.layers.reduce((n, l) => n + l.size, 0));
  });
});

test('scheme and connection errors', async (t) => {
  await withFake({}, async (f) => {
    await t.test('tls verification on (default): plain http is not used', async () => {
      await rejectsWith(openRegistry(`${f.host}/demo/app:latest`, { retries: 0 }), 'ENETWORK');
      assert.equal(f.seen.filter((s) => s.path.startsWith('/v2/demo')).length, 0);
    });
  });
  await t.test('nothing listening: ENETWORK after bounded retries', async () => {
    const f = await startFakeRegistry({ layoutDir: join(dir, 'layout') });
    const host = f.host;
    await f.close();
    const started = Date.now();
    const e = await rejectsWith(openRegistry(`${host}/demo/app:latest`, { ...FAST, retries: 2, backoffMs: 20 }), 'ENETWORK');
    assert.match(e.message, new RegExp(host));
    assert.ok(Date.now() - started < 5000);
  });
});

test('a stalled blob body is resumed within the retry budget, then fails after the idle timeout (ENETWORK), and is not cached', async () => {
  const cacheDir = join(dir, 'cache-stall');
  await withFake({ stall: true }, async (f) => {
    const r = await openRegistry(`${f.host}/demo/app:latest`, { ...FAST, idleTimeoutMs: 300, cacheDir });
    try {
      const started = Date.now();
      const e = await rejectsWith(resolveInLayout(r.layout, r.ref), 'ENETWORK');
      assert.match(oneLine(e), /connection lost \(ETIMEDOUT\) after \d+ of \d+ bytes and 3 attempt.*timed out/);
      assert.ok(Date.now() - started < 3000);
      assert.deepEqual(readdirSync(join(cacheDir, 'blobs', 'sha256')), [], 'no cache entry, no temp file');
    } finally {
      await r.close();
    }
  });
});

test('blob cache: filled verified, reused by the next open, prefetch', async () => {
  const cacheDir = join(dir, 'cache');
  await withFake({}, async (f) => {
    const first = await pull(f.host, 'demo/app:latest', { ...FAST, cacheDir });
    const cached = readdirSync(join(cacheDir, 'blobs', 'sha256'));
    const want = [first.img.configDescriptor, ...first.img.layers].map((d) => d.digest.slice(7)).sort();
    assert.deepEqual(cached.sort(), want, 'config and layers cached, no temp files left');
    const before = f.seen.filter((s) => s.path.includes('/blobs/')).length;
    await pull(f.host, 'demo/app:latest', { ...FAST, cacheDir });
    assert.equal(f.seen.filter((s) => s.path.includes('/blobs/')).length, before, 'second pull fetched no blob');

    const r = await openRegistry(`${f.host}/demo/app:multi`, { ...FAST, cacheDir });
    try {
      const img = await resolveInLayout(r.layout, r.ref, { platform: 'linux/arm64/v8' });
      await r.prefetch([img.configDescriptor, ...img.layers]);
      for (const d of img.layers) assert.ok(readdirSync(join(cacheDir, 'blobs', 'sha256')).includes(d.digest.slice(7)));
    } finally {
      await r.close();
    }
  });
});
