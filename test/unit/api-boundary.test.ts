// The library's boundary: wrong option shapes are EUSAGE naming the option before anything is
// made; the error and warning tables are exported; --platform picks among platform-tagged
// manifests listed straight in index.json, and warns when the chosen config says otherwise.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as lib from '../../src/index.js';
import { addImage, initLayoutDir, tagged, writeIndexJson, writeLayout } from '../../fixtures/layout.js';
import type { Warning } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'api-boundary-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('option shapes: EUSAGE naming the option, nothing created', async (t) => {
  const layout = join(dir, 'layout');
  writeLayout(layout, { images: [{ tag: 'latest', layers: [] }] });
  const bundle = join(dir, 'never');
  const cases: [string, () => Promise<unknown>, RegExp][] = [
    ['unpack without image', () => lib.unpack({ bundle } as never), /option image is required/],
    ['unpack without bundle', () => lib.unpack({ image: layout } as never), /option bundle is required/],
    ['uidMap as CLI strings', () => lib.unpack({ image: layout, bundle, uidMap: ['0:1000:1'] } as never), /option uidMap\[0\] is the string "0:1000:1"/],
    ['gidMap entry without size', () => lib.unpack({ image: layout, bundle, gidMap: [{ containerID: 0, hostID: 1 }] } as never), /option gidMap\[0\] must be/],
    ['force as a string', () => lib.unpack({ image: layout, bundle, force: 'yes' } as never), /option force must be true or false/],
    ['maxSize as text', () => lib.unpack({ image: layout, bundle, maxSize: '2G' } as never), /option maxSize/],
    ['not an object', () => lib.unpack(undefined as never), /takes an options object/],
    ['writeRuntimeConfig without image', () => lib.writeRuntimeConfig({ config: join(dir, 'c.json') } as never), /writeRuntimeConfig\(\): option image is required/],
  ];
  for (const [name, run, msg] of cases) {
    await t.test(name, async () => {
      await assert.rejects(run(), (e: unknown) => lib.isOciBundleError(e) && e.code === 'EUSAGE' && msg.test(e.message));
      assert.ok(!existsSync(bundle));
    });
  }
});

test('exports: isOciBundleError, the error-code table, the warning-code table', () => {
  assert.equal(lib.isOciBundleError(new lib.OciBundleError('EUSAGE', 'x')), true);
  assert.equal(lib.isOciBundleError(new Error('x')), false);
  assert.equal(lib.ERROR_CODES.EUSAGE, 2);
  for (const code of ['WDEVICE', 'WCAPABILITY', 'WPLATFORM', 'WBUNDLEMODE', 'WXATTR'] as const) assert.equal(typeof lib.WARNING_CODES[code], 'string');
  const w: lib.WarningCode = 'WDEVICE';
  assert.ok(w in lib.WARNING_CODES);
});

test('platform manifests under one tag in index.json (no index blob): --platform picks; a mismatch warns', async (t) => {
  const flat = join(dir, 'flat');
  initLayoutDir(flat);
  const amd = addImage(flat, { platform: 'linux/amd64', config: { author: 'amd' } });
  const arm = addImage(flat, { platform: 'linux/arm64/v8', config: { author: 'arm' } });
  writeIndexJson(flat, [
    { ...tagged(amd.manifest, 'latest'), platform: { os: 'linux', architecture: 'amd64' } },
    { ...tagged(arm.manifest, 'latest'), platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
  ]);
  for (const [p, author] of [['linux/arm64/v8', 'arm'], ['linux/arm64', 'arm'], ['linux/amd64', 'amd']] as const) {
    await t.test(p, async () => {
      const img = await lib.openImage(flat, p);
      await img.close();
      assert.equal(img.config.author, author);
    });
  }
  await t.test('a single amd64 image with --platform linux/arm64: used, with WPLATFORM', async () => {
    const one = join(dir, 'one');
    writeLayout(one, { images: [{ tag: 'latest', platform: 'linux/amd64' }] });
    const warnings: Warning[] = [];
    const img = await lib.openImage(one, 'linux/arm64', {}, (w) => warnings.push(w));
    await img.close();
    assert.deepEqual(warnings.map((w) => w.code), ['WPLATFORM']);
    assert.match(warnings[0]!.message, /config says linux\/amd64, not the linux\/arm64\/v8 asked for/);
    const quiet: Warning[] = [];
    await (await lib.openImage(one, 'linux/amd64', {}, (w) => quiet.push(w))).close();
    assert.deepEqual(quiet, []);
  });
});
