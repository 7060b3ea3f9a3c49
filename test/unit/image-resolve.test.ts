// Resolution: tag -> index.json -> nested indexes -> one manifest per platform; ENOTAG,
// ENOPLATFORM (listing platforms), EAMBIGUOUS, ETOODEEP, a DAG of indexes walked without
// blowing up, Docker media types, digest references, and the config checks (EDIFFID...).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { resolveImage, hostPlatform, formatPlatform } from '../../src/image/index.js';
import { addImage, addIndex, addJson, gzip, makeTar, MEDIA, nestedIndexDag, parsePlat, readIndexJson, tagged, writeIndexJson, writeLayout, sha256 } from '../../fixtures/layout.js';
import { rejectsWith, tmpDir } from '../helpers/layout-env.js';

const t = tmpDir('image-resolve-');
after(t.cleanup);
let n = 0;
const dirFor = () => join(t.dir, `l${n++}`);
const host = formatPlatform(hostPlatform());

test('a tag pointing at a manifest resolves to it, with parsed config and layers', async () => {
  const layer = gzip(await makeTar([{ name: 'etc/hostname', data: 'box\n' }]));
  const d = dirFor();
  const out = writeLayout(d, { images: [{ tag: 'latest', layers: [layer], config: { config: { Env: ['A=1'], Cmd: ['/bin/sh'] }, history: [{ created_by: 'x' }] } }] });
  const img = await resolveImage(d, 'latest');
  assert.equal(img.manifestDescriptor.digest, out.images[0]!.manifest.digest);
  assert.equal(img.configDescriptor.digest, out.images[0]!.config.digest);
  assert.deepEqual(img.config.config?.Env, ['A=1']);
  assert.equal(img.layers.length, 1);
  assert.equal(img.layers[0]!.digest, sha256(layer));
  assert.deepEqual(img.config.rootfs.diff_ids, out.images[0]!.diffIds);
  assert.equal(img.layout.path, d);
});

test('a missing tag is ENOTAG; a malformed one EBADREF', async () => {
  const d = dirFor();
  writeLayout(d, { images: [{ tag: 'latest' }] });
  await rejectsWith(resolveImage(d, 'nope'), 'ENOTAG', /tag nope not found/);
  await rejectsWith(resolveImage(d, '-bad'), 'EBADREF');
});

test('multi-platform indexes pick the requested platform', async () => {
  const d = dirFor();
  const out = writeLayout(d, {
    indexes: [
      {
        tag: 'multi',
        images: [{ platform: 'linux/amd64' }, { platform: 'linux/arm64/v8' }, { platform: 'linux/arm/v7' }, { platform: 'linux/arm/v6' }, { platform: 'windows/amd64' }],
      },
    ],
  });
  const ims = out.indexes[0]!.images;
  const table: [string, number][] = [
    ['linux/amd64', 0],
    ['linux/arm64', 1],
    ['linux/arm64/v8', 1],
    ['linux/arm/v7', 2],
    ['linux/arm/v6', 3],
    ['windows/amd64', 4],
  ];
  for (const [p, i] of table) assert.equal((await resolveImage(d, 'multi', { platform: p })).manifestDescriptor.digest, ims[i]!.manifest.digest, p);
  await rejectsWith(resolveImage(d, 'multi', { platform: 'linux/s390x' }), 'ENOPLATFORM', /available: linux\/amd64, linux\/arm64\/v8, linux\/arm\/v7, linux\/arm\/v6, windows\/amd64/);
  await rejectsWith(resolveImage(d, 'multi', { platform: 'linux/arm' }), 'EAMBIGUOUS', /several manifests/);
  if (host === 'linux/amd64' || host === 'linux/arm64/v8') {
    const want = host === 'linux/amd64' ? 0 : 1;
    assert.equal((await resolveImage(d, 'multi')).manifestDescriptor.digest, ims[want]!.manifest.digest, 'host default');
  }
});

test('Docker manifest lists and manifests resolve too', async () => {
  const d = dirFor();
  const layer = gzip(await makeTar([{ name: 'a', data: 'a' }]));
  const out = writeLayout(d, {
    images: [{ tag: 'single', docker: true, layers: [layer] }],
    indexes: [{ tag: 'list', docker: true, images: [{ platform: 'linux/amd64', layers: [layer] }, { platform: 'linux/arm64', layers: [layer] }] }],
  });
  const s = await resolveImage(d, 'single');
  assert.equal(s.manifestDescriptor.mediaType, MEDIA.dockerManifest);
  assert.equal(s.configDescriptor.mediaType, MEDIA.dockerConfig);
  const l = await resolveImage(d, 'list', { platform: 'linux/arm64' });
  assert.equal(l.manifestDescriptor.digest, out.indexes[0]!.images[1]!.manifest.digest);
});

test('nested indexes resolve; a child index for another platform is skipped', async () => {
  const d = dirFor();
  writeLayout(d, {});
  const a = addImage(d, { platform: 'linux/amd64' });
  const b = addImage(d, { platform: 'linux/arm64' });
  const inner = addIndex(d, [{ ...a.manifest, platform: parsePlat('linux/amd64') }]);
  const innerArm = addIndex(d, [{ ...b.manifest, platform: parsePlat('linux/arm64') }]);
  const outer = addIndex(d, [inner, { ...innerArm, platform: parsePlat('linux/arm64') }]);
  writeIndexJson(d, [tagged(outer, 'nested')]);
  assert.equal((await resolveImage(d, 'nested', { platform: 'linux/amd64' })).manifestDescriptor.digest, a.manifest.digest);
  assert.equal((await resolveImage(d, 'nested', { platform: 'linux/arm64' })).manifestDescriptor.digest, b.manifest.digest);
});

test('a DAG of nested indexes is walked once per blob, and depth is limited', async () => {
  const d = dirFor();
  writeLayout(d, {});
  const img = addImage(d, { platform: 'linux/amd64' });
  // 8 levels with fanout 8: 8^8 = 16.7M paths for a naive walk
  const top = nestedIndexDag(d, img.manifest, 7, 8, 'linux/amd64');
  writeIndexJson(d, [tagged(top, 'dag')]);
  const started = Date.now();
  const r = await resolveImage(d, 'dag', { platform: 'linux/amd64' });
  assert.equal(r.manifestDescriptor.digest, img.manifest.digest);
  assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
  const deep = nestedIndexDag(d, img.manifest, 9, 2, 'linux/amd64');
  writeIndexJson(d, [tagged(deep, 'deep')]);
  await rejectsWith(resolveImage(d, 'deep', { platform: 'linux/amd64' }), 'ETOODEEP');
  assert.equal((await resolveImage(d, 'deep', { platform: 'linux/amd64', maxDepth: 10 })).manifestDescriptor.digest, img.manifest.digest);
});

test('two tags entries for the same digest are not ambiguous; different digests are', async () => {
  const d = dirFor();
  writeLayout(d, {});
  const a = addImage(d, {});
  const b = addImage(d, { config: { author: 'b' } });
  writeIndexJson(d, [tagged(a.manifest, 'x'), tagged(a.manifest, 'x'), tagged(a.manifest, 'y'), tagged(b.manifest, 'y')]);
  assert.equal((await resolveImage(d, 'x')).manifestDescriptor.digest, a.manifest.digest);
  await rejectsWith(resolveImage(d, 'y'), 'EAMBIGUOUS');
});

test('one tag on several index.json entries with platforms picks by platform', async () => {
  const d = dirFor();
  writeLayout(d, {});
  const a = addImage(d, {});
  const b = addImage(d, { config: { author: 'b' } });
  writeIndexJson(d, [{ ...tagged(a.manifest, 'flat'), platform: { os: 'linux', architecture: 'amd64' } }, { ...tagged(b.manifest, 'flat'), platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } }]);
  assert.equal((await resolveImage(d, 'flat', { platform: 'linux/amd64' })).manifestDescriptor.digest, a.manifest.digest);
  assert.equal((await resolveImage(d, 'flat', { platform: 'linux/arm64' })).manifestDescriptor.digest, b.manifest.digest);
  await rejectsWith(resolveImage(d, 'flat', { platform: 'linux/s390x' }), 'ENOPLATFORM', /linux\/amd64, linux\/arm64\/v8/);
});

test('digest references resolve listed and unlisted manifests', async () => {
  const d = dirFor();
  const out = writeLayout(d, { images: [{ tag: 'a' }] });
  const hidden = addImage(d, { config: { author: 'hidden' } });
  assert.equal((await resolveImage(d, `@${out.images[0]!.manifest.digest}`)).manifestDescriptor.digest, out.images[0]!.manifest.digest);
  const r = await resolveImage(d, `@${hidden.manifest.digest}`);
  assert.equal(r.config.author, 'hidden');
  await rejectsWith(resolveImage(d, `@sha256:${'9'.repeat(64)}`), 'ENOBLOB');
  await rejectsWith(resolveImage(d, `@${hidden.config.digest}`), 'EMEDIATYPE');
});

test('config checks: diff_ids count and form, config and layer media types', async () => {
  const layer = gzip(await makeTar([{ name: 'f', data: 'f' }]));
  const table: [string, Parameters<typeof addImage>[1], string, RegExp][] = [
    ['too few diff_ids', { layers: [layer, layer], diffIds: [sha256('x')] }, 'EDIFFID', /1 diff_ids for 2 layers/],
    ['too many diff_ids', { layers: [], diffIds: [sha256('x')] }, 'EDIFFID', /1 diff_ids for 0 layers/],
    ['malformed diff_id', { layers: [layer], diffIds: ['sha256:xyz'] }, 'EBADDIGEST', /diff_ids\[0\]/],
    ['unknown layer type', { layers: [layer], layerMediaType: 'application/x-unknown' }, 'EMEDIATYPE', /unsupported media type/],
  ];
  for (const [name, spec, code, re] of table) {
    const d = dirFor();
    writeLayout(d, { images: [{ tag: 'latest', ...spec }] });
    await rejectsWith(resolveImage(d, 'latest'), code, re).catch((e: Error) => assert.fail(`${name}: ${e.message}`));
  }
  // config descriptor with a layer media type
  const d = dirFor();
  writeLayout(d, {});
  const cfg = addJson(d, { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }, MEDIA.layer);
  const m = addJson(d, { schemaVersion: 2, mediaType: MEDIA.manifest, config: cfg, layers: [] }, MEDIA.manifest);
  writeIndexJson(d, [tagged(m, 'latest')]);
  await rejectsWith(resolveImage(d, 'latest'), 'EMEDIATYPE', /not an image config/);
});

test('Docker-style nulls in the config are dropped', async () => {
  const d = dirFor();
  writeLayout(d, { images: [{ tag: 'latest', config: { config: { Env: null, Labels: null, Volumes: null, Cmd: ['sh'] }, history: null } }] });
  const r = await resolveImage(d, 'latest');
  assert.deepEqual(r.config.config, { Cmd: ['sh'] });
  assert.equal('history' in r.config, false);
});

test('a tag whose manifest blob is tampered with fails on read', async () => {
  const d = dirFor();
  const out = writeLayout(d, { images: [{ tag: 'latest' }] });
  const { corruptBlob } = await import('../../fixtures/layout.js');
  corruptBlob(d, out.images[0]!.config.digest);
  await rejectsWith(resolveImage(d, 'latest'), 'EDIGEST');
  assert.equal(readIndexJson(d).manifests.length, 1);
});
