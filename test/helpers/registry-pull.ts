// Test helpers on the consumer side of openRegistry: resolve the image and drain every
// verified blob (as the unpacker does), or write what a registry Layout reaches into a plain
// OCI layout directory so the library unpack() can run on it.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openBlob, readBlob } from '../../src/image/blob.js';
import type { Layout } from '../../src/image/layout.js';
import { resolveInLayout, type ResolvedImage } from '../../src/image/resolve.js';
import type { Descriptor } from '../../src/image/types.js';

export async function drain(layout: Layout, d: Descriptor): Promise<number> {
  let n = 0;
  for await (const c of openBlob(layout, d)) n += (c as Buffer).length;
  return n;
}

/** Resolves `ref` and drains every layer through verification; returns the image and bytes read. */
export async function pullAll(layout: Layout, ref: string, platform?: string): Promise<{ img: ResolvedImage; bytes: number }> {
  const img = await resolveInLayout(layout, ref, platform ? { platform } : {});
  let bytes = 0;
  for (const l of img.layers) bytes += await drain(layout, l);
  return { img, bytes };
}

/** Writes the resolved image (index entry, manifest, config, layers) as an OCI layout at `dir`. */
export async function writeAsLayout(layout: Layout, ref: string, dir: string, tag = 'latest', platform?: string): Promise<void> {
  const img = await resolveInLayout(layout, ref, platform ? { platform } : {});
  mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const put = (d: Descriptor, bytes: Buffer) => writeFileSync(join(dir, 'blobs', 'sha256', d.digest.slice(7)), bytes);
  put(img.manifestDescriptor, await readBlob(layout, img.manifestDescriptor));
  put(img.configDescriptor, await readBlob(layout, img.configDescriptor));
  for (const l of img.layers) {
    const parts: Buffer[] = [];
    for await (const c of openBlob(layout, l)) parts.push(c as Buffer);
    put(l, Buffer.concat(parts));
  }
  const m = img.manifestDescriptor;
  const entry = { mediaType: m.mediaType, digest: m.digest, size: m.size, annotations: { 'org.opencontainers.image.ref.name': tag } };
  writeFileSync(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [entry] }));
}
