// The layer worker decodes with the addon's decoders straight into its ring (ISA-L gzip,
// libzstd), hashing blob and diff_id in one two-stream pass (SHA-NI) or with node:crypto
// (OCIBUNDLE_NATIVE_SHA256=0), or with the node:zlib / zstd fallbacks when
// OCIBUNDLE_NATIVE_DECODE=0: all must deliver the same bytes (multi-member gzip, multi-frame
// zstd, data across many ring pieces), fail the same broken streams with ECOMPRESS, and name a
// blob replaced by another valid one of the same size EDIGEST.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { nativeDecodes } from '../../src/layer/native-decode.js';
import { gzip, makeTar, zstd } from '../../fixtures/tar.js';
import { blobPath, writeLayout } from '../../fixtures/layout.js';
import { scratchDir } from '../helpers/cli.js';
import { drainLayers } from '../helpers/drain-layers.js';

const GZ = 'application/vnd.oci.image.layer.v1.tar+gzip';
const ZST = 'application/vnd.oci.image.layer.v1.tar+zstd';

const drain = (image: string) => drainLayers(true, image);

function sha(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

/** A tar of ~22 MiB: random and repetitive files (the ring holds 8 MiB, its pieces 2 MiB). */
function bigTar(seed: number): Buffer {
  return makeTar([
    { name: `random${seed}`, content: randomBytes(9 * 1024 * 1024 + seed) },
    { name: `zeros${seed}`, content: Buffer.alloc(12 * 1024 * 1024) },
    ...Array.from({ length: 300 }, (_, i) => ({ name: `small/${seed}-${i}`, content: `file ${i} `.repeat(i) })),
  ]);
}

const modes = [
  { mode: 'native', env: {} },
  { mode: 'native, node:crypto hashing', env: { OCIBUNDLE_NATIVE_SHA256: '0' } },
  { mode: 'fallback', env: { OCIBUNDLE_NATIVE_DECODE: '0' } },
] as const;

for (const { mode, env } of modes) {
  test(`layer worker decoders: ${mode}`, async (t) => {
    const before = { ...process.env };
    Object.assign(process.env, env);
    if (mode !== 'fallback' && (!nativeDecodes('gzip') || !nativeDecodes('zstd'))) {
      t.skip('the addon was built without ISA-L or libzstd (libisal-dev, libzstd-dev)');
      return;
    }
    const dir = scratchDir(`decoders-${mode.replace(/[^a-z]+/g, '-')}`);
    try {
      const tars = [bigTar(1), bigTar(2)];
      // gzip: the first layer as three members, split inside the tar; zstd: two frames
      const members = Buffer.concat([gzip(tars[0]!.subarray(0, 5_000_001)), gzip(tars[0]!.subarray(5_000_001, 5_000_002)), gzip(tars[0]!.subarray(5_000_002))]);
      const gzLayout = join(dir, 'gzip');
      writeLayout(gzLayout, { images: [{ tag: 'latest', layers: [members, gzip(tars[1]!)] }] });
      await t.test('gzip: multi-member and single-member layers hash to their diff_ids', async () => {
        assert.deepEqual(await drain(gzLayout), tars.map(sha));
      });
      const frames = Buffer.concat([zstd(tars[0]!.subarray(0, 777_777)), zstd(tars[0]!.subarray(777_777))]);
      const zLayout = join(dir, 'zstd');
      writeLayout(zLayout, { images: [{ tag: 'latest', layerMediaType: ZST, layers: [frames, zstd(tars[1]!)] }] });
      await t.test('zstd: multi-frame and single-frame layers hash to their diff_ids', async () => {
        assert.deepEqual(await drain(zLayout), tars.map(sha));
      });
      const diffIds = tars.map((b) => `sha256:${sha(b)}`);
      const g = gzip(tars[1]!);
      const z = zstd(tars[1]!);
      const broken: { name: string; mediaType: string; blob: Buffer }[] = [
        { name: 'gzip truncated', mediaType: GZ, blob: g.subarray(0, g.length >> 1) },
        { name: 'gzip trailing garbage', mediaType: GZ, blob: Buffer.concat([g, Buffer.from('not a member')]) },
        { name: 'gzip bad crc', mediaType: GZ, blob: (() => { const b = Buffer.from(g); b[b.length - 7]! ^= 0x55; return b; })() },
        { name: 'zstd truncated', mediaType: ZST, blob: z.subarray(0, z.length - 100) },
        { name: 'zstd trailing garbage', mediaType: ZST, blob: Buffer.concat([z, Buffer.from('not a frame')]) },
      ];
      for (const b of broken) {
        const layout = join(dir, b.name.replace(/ /g, '-'));
        writeLayout(layout, { images: [{ tag: 'latest', layerMediaType: b.mediaType, layers: [b.blob], diffIds: [diffIds[1]!] }] });
        await t.test(`${b.name} -> ECOMPRESS`, async () => {
          await assert.rejects(drain(layout), (e: { code?: string; message?: string }) => {
            assert.equal(e.code, 'ECOMPRESS', e.message);
            return true;
          });
        });
      }
      // another valid blob of the same size in the blob's place: decodes, but is not the blob
      const same = (name: string, mediaType: string, compress: (b: Buffer) => Buffer) => {
        const [x, y] = [tars[1]!, Buffer.from(tars[1]!)];
        randomBytes(9 * 1024 * 1024).copy(y, 512); // other content for the random file (after its header), same length
        const [cx, cy] = [compress(x), compress(y)];
        assert.equal(cx.length, cy.length, `${name}: the two blobs have the same size`);
        const layout = join(dir, name);
        const built = writeLayout(layout, { images: [{ tag: 'latest', layerMediaType: mediaType, layers: [cx], diffIds: [diffIds[1]!] }] });
        writeFileSync(blobPath(layout, built.images[0]!.layers[0]!.digest), cy);
        return layout;
      };
      for (const [name, mediaType, compress] of [['gzip-replaced', GZ, (b: Buffer) => gzipSync(b, { level: 0 })], ['zstd-replaced', ZST, (b: Buffer) => zstd(b, 1)]] as const) {
        const layout = same(name, mediaType, compress);
        await t.test(`${name} by a valid blob of the same size -> EDIGEST`, async () => {
          await assert.rejects(drain(layout), (e: { code?: string; message?: string }) => {
            assert.equal(e.code, 'EDIGEST', e.message);
            return true;
          });
        });
      }
    } finally {
      for (const k of Object.keys(env)) {
        if (before[k] === undefined) delete process.env[k];
        else process.env[k] = before[k];
      }
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
