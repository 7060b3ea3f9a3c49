// Foreign layers (Docker's rootfs.foreign.diff.tar.gzip, OCI non-distributable): unpacked like
// any layer when the blob is in the layout; refused before anything is written when it is
// not, naming the layer and its urls (ocibundle never downloads them).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzip, makeTar } from '../../fixtures/tar.js';
import { addImage, blobPath, initLayoutDir, tagged, writeIndexJson, type Desc } from '../../fixtures/layout.js';
import { runCli, scratchDir } from '../helpers/cli.js';

const FOREIGN = 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip';
const ND = 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip';

function foreignImage(dir: string, mediaType: string, withBlob: boolean): void {
  initLayoutDir(dir);
  const base = gzip(makeTar([{ name: 'base.txt', content: 'from the foreign layer' }]));
  const top = gzip(makeTar([{ name: 'top.txt', content: 'ordinary layer' }]));
  const img = addImage(dir, { layers: [base, top] });
  // Mark the first layer foreign, with urls, in a rewritten manifest.
  const layers: Desc[] = img.layers.map((l, i) => (i === 0 ? { ...l, mediaType, urls: ['https://example.invalid/base.tar.gz'] } as Desc : l));
  const doc = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: img.config, layers };
  const text = JSON.stringify(doc);
  const digest = `sha256:${createHashHex(text)}`;
  writeBlob(dir, digest, text);
  writeIndexJson(dir, [tagged({ mediaType: doc.mediaType, digest, size: Buffer.byteLength(text) }, 'latest')]);
  if (!withBlob) rmSync(blobPath(dir, img.layers[0]!.digest));
}

function createHashHex(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}
function writeBlob(dir: string, digest: string, text: string): void {
  writeFileSync(blobPath(dir, digest), text);
}

test('foreign layers', async (t) => {
  const dir = scratchDir('foreign');
  try {
    for (const [name, mt] of [['docker foreign', FOREIGN], ['oci non-distributable', ND]] as const) {
      await t.test(`${name}: present blob unpacks`, () => {
        const layout = join(dir, `${name}-present`.replace(/ /g, '-'));
        foreignImage(layout, mt, true);
        const out = join(dir, `${name}-out`.replace(/ /g, '-'));
        const r = runCli(['raw', 'unpack', '--image', `${layout}:latest`, out]);
        assert.equal(r.status, 0, r.stderr);
        assert.equal(readFileSync(join(out, 'base.txt'), 'utf8'), 'from the foreign layer');
        assert.equal(readFileSync(join(out, 'top.txt'), 'utf8'), 'ordinary layer');
      });
      await t.test(`${name}: missing blob is refused with its urls, nothing written`, () => {
        const layout = join(dir, `${name}-missing`.replace(/ /g, '-'));
        foreignImage(layout, mt, false);
        const bundle = join(dir, `${name}-bundle`.replace(/ /g, '-'));
        const r = runCli(['unpack', '--image', `${layout}:latest`, bundle]);
        assert.equal(r.status, 3, r.stderr);
        assert.match(r.stderr, /^ocibundle: ENOBLOB: foreign layer sha256:[0-9a-f]{64} \(urls: https:\/\/example\.invalid\/base\.tar\.gz\)/);
        assert.ok(!existsSync(bundle), 'no bundle directory');
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
