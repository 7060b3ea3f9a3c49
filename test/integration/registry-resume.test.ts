// Registry transfers that break: a reset or a body cut short in the middle of a blob is resumed
// with a Range request from the delivered offset (or the blob restarted when Range is ignored),
// within the same retry budget, the digest still checked over the whole blob; a drip fails by
// the low-speed rule; Retry-After is honoured up to its maximum with one notice; a failed
// unpack names a tampered blob from the one read of it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { openRegistry, type RegistryOptions } from '../../src/registry/index.js';
import type { Warning } from '../../src/errors.js';
import { writeLayout, makeTar, gzip, type BuiltLayout } from '../../fixtures/layout.js';
import { startFakeRegistry, type FakeOptions, type FakeRegistry } from '../helpers/registry-fake.js';
import { pullAll } from '../helpers/registry-pull.js';
import { unpack } from '../../src/unpack.js';
import { runCliAsync } from '../helpers/layout-env.js';

const FAST: RegistryOptions = { tlsVerify: false, retries: 2, backoffMs: 5 };
let dir: string;
let built: BuiltLayout;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'registry-resume-'));
  // one layer of 300 KB of pseudo-random (incompressible) bytes, so a wrong splice breaks its digest
  const big = randomBytes(300_000);
  built = writeLayout(join(dir, 'layout'), { images: [{ tag: 'latest', layers: [gzip(await makeTar([{ name: 'big.bin', data: big }]))] }] });
});
after(() => rmSync(dir, { recursive: true, force: true }));

async function withFake<T>(o: Partial<FakeOptions>, fn: (f: FakeRegistry) => Promise<T>): Promise<T> {
  const f = await startFakeRegistry({ layoutDir: join(dir, 'layout'), ...o });
  try {
    return await fn(f);
  } finally {
    await f.close();
  }
}

async function pull(host: string, opts: RegistryOptions = FAST) {
  const r = await openRegistry(`${host}/x/img:latest`, opts);
  try {
    return await pullAll(r.layout, r.ref);
  } finally {
    await r.close();
  }
}

const layerGets = (f: FakeRegistry) => f.seen.filter((s) => s.method === 'GET' && s.path.includes(built.images[0]!.layers[0]!.digest));

const breaks: [string, Partial<FakeOptions>, (ranges: (string | undefined)[]) => void][] = [
  ['a connection reset in the middle of a blob is resumed with a Range request from the verified offset', { cut: { times: 1, after: 100_000, how: 'reset' } }, (r) => assert.match(r[1] ?? '', /^bytes=\d+-$/)],
  ['a truncated body (connection closed short of Content-Length) is resumed with a Range request', { cut: { times: 2, after: 70_000, how: 'close' } }, (r) => {
    assert.equal(r.length, 3);
    assert.ok(r.slice(1).every((x) => /^bytes=[1-9]\d*-$/.test(x ?? '')), `ranges ${JSON.stringify(r)}`);
  }],
  ['a registry that ignores Range: the blob restarts and the delivered bytes are skipped', { cut: { times: 1, after: 90_000, how: 'reset' }, ignoreRange: true }, (r) => assert.equal(r.length, 2)],
];
for (const [name, o, check] of breaks) {
  test(name, async () => {
    await withFake(o, async (f) => {
      const { bytes } = await pull(f.host);
      assert.equal(bytes, built.images[0]!.layers[0]!.size, 'whole blob, digest verified by the reader');
      const gets = layerGets(f);
      assert.equal(gets[0]!.range, undefined);
      check(gets.map((g) => g.range));
    });
  });
}

test('resumes spend the same retry budget: more breaks than retries fail with ENETWORK naming the offset', async () => {
  await withFake({ cut: { times: 5, after: 50_000, how: 'reset' } }, async (f) => {
    await assert.rejects(pull(f.host), (e: unknown) => {
      assert.equal((e as { code?: string }).code, 'ENETWORK');
      assert.match((e as Error).message, /connection lost \(ECONNRESET\) after \d+ of \d+ bytes and 3 attempt/);
      return true;
    });
    assert.equal(layerGets(f).length, 3, 'retries 2: three GETs of the blob in all');
  });
});

test('a drip of bytes fails by the minimum-speed rule (short setting), not never', { timeout: 30_000 }, async () => {
  await withFake({ dripMs: 20 }, async (f) => {
    const t0 = Date.now();
    await assert.rejects(pull(f.host, { ...FAST, retries: 1, lowSpeedBytes: 1024, lowSpeedMs: 400 }), (e: unknown) => {
      assert.equal((e as { code?: string }).code, 'ENETWORK');
      assert.match((e as Error).message, /fewer than 1024 bytes arrived in 0.4 s after \d+ of \d+ bytes and 2 attempt/);
      return true;
    });
    const ms = Date.now() - t0;
    console.log(`drip of 50 B/s failed after ${ms} ms (2 attempts x 0.4 s rule)`);
    assert.ok(ms < 15_000);
  });
});

test('Retry-After is honoured up to the stated maximum, with one notice that the registry asked to wait', { timeout: 30_000 }, async () => {
  const cases: [string, FakeOptions['retryAfter'], number, number, RegExp][] = [
    ['1 s asked, 1 s waited', { times: 1, value: '1' }, 60_000, 950, /answered 429 and asked to wait 1 s \(Retry-After\)$/],
    ['120 s asked, the 1.5 s maximum waited', { times: 1, value: '120', status: 503 }, 1500, 1450, /asked to wait 120 s \(Retry-After\); waiting 2 s, the longest ocibundle waits$/],
  ];
  for (const [name, ra, max, atLeast, notice] of cases) {
    await withFake({ retryAfter: ra }, async (f) => {
      const warnings: Warning[] = [];
      const t0 = Date.now();
      await pull(f.host, { ...FAST, maxRetryAfterMs: max, onWarning: (w) => warnings.push(w) });
      const ms = Date.now() - t0;
      assert.ok(ms >= atLeast, `${name}: waited ${ms} ms`);
      assert.ok(ms < atLeast + 8000, `${name}: waited ${ms} ms`);
      assert.equal(warnings.length, 1, `${name}: one notice`);
      assert.equal(warnings[0]!.code, 'WRETRYAFTER');
      assert.match(warnings[0]!.message, notice);
    });
  }
});

test('a failed unpack from docker:// names the fault from what was already read (no re-download)', async () => {
  const layer = built.images[0]!.layers[0]!;
  // the first byte flipped: the gzip header breaks long before the digest can be checked
  await withFake({ tamper: new Set([layer.digest]) }, async (f) => {
    const bundle = join(dir, 'bundle-tampered');
    await assert.rejects(unpack({ image: `docker://${f.host}/x/img:latest`, bundle, source: { registry: { tlsVerify: false } } }), (e: unknown) => {
      assert.equal((e as { code?: string }).code, 'EDIGEST');
      assert.match((e as Error).message, new RegExp(`blob ${layer.digest} does not match its digest`));
      return true;
    });
    assert.equal(layerGets(f).length, 1, 'the layer was fetched once');
  });
});

test('the CLI prints the Retry-After notice as one stderr line; --speed-limit/--speed-time configure the rule', { timeout: 60_000 }, async () => {
  await withFake({ retryAfter: { times: 1, value: '1' } }, async (f) => {
    const r = await runCliAsync(['copy', `docker://${f.host}/x/img:latest`, join(dir, 'cli-dest'), '--tls-verify=false']);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /^ocibundle: warning: WRETRYAFTER: registry 127\.0\.0\.1:\d+ answered 429 and asked to wait 1 s \(Retry-After\)$/);
  });
  await withFake({ dripMs: 20 }, async (f) => {
    const r = await runCliAsync(['copy', `docker://${f.host}/x/img:latest`, join(dir, 'cli-drip'), '--tls-verify=false', '--speed-limit', '1024', '--speed-time', '0.3']);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /^ocibundle: ENETWORK: .*fewer than 1024 bytes arrived in 0.3 s after \d+ of \d+ bytes and 5 attempt/);
  });
  const bad = await runCliAsync(['copy', 'docker://127.0.0.1:1/x/img', join(dir, 'cli-bad'), '--speed-time', '0']);
  assert.equal(bad.status, 2, bad.stderr);
});
