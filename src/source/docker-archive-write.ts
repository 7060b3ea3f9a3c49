// `docker-archive:FILE[:REPO:TAG]` as a copy destination, in `docker save`'s format as skopeo
// 1.9 writes it: the config as HEX.json, each layer uncompressed as DIFFID-HEX.tar, and
// manifest.json `[{"Config", "RepoTags", "Layers"}]` (docker load reads that; the legacy
// per-layer directories and `repositories` are not written). Built from a finished temp OCI
// layout whose layers are uncompressed (so a layer's digest is its diff_id); lands atomically.
import { join } from 'node:path';
import { OciBundleError } from '../errors.js';
import { readBlob } from '../image/blob.js';
import { blobRelPath } from '../image/digest.js';
import { layerCompression } from '../image/media-types.js';
import { parseJsonCapped } from '../image/json.js';
import type { Layout } from '../image/layout.js';
import type { Descriptor } from '../image/types.js';
import { parseRegistryRef } from '../registry/ref.js';
import { writeTarFile, type ArchiveMember } from './tar-write.js';

/** `REPO:TAG` as docker writes it in RepoTags (`busybox:v1` -> `docker.io/library/busybox:v1`); EUSAGE if it is not one. */
export function repoTagOf(repoTag: string): string {
  let r;
  try {
    r = parseRegistryRef(repoTag);
  } catch (e) {
    throw new OciBundleError('EUSAGE', `docker-archive destination: ${JSON.stringify(repoTag.slice(0, 200))} is not REPO:TAG`, { cause: e });
  }
  if (r.digest !== undefined || !repoTag.includes(':')) throw new OciBundleError('EUSAGE', `docker-archive destination: ${JSON.stringify(repoTag.slice(0, 200))} is not REPO:TAG`);
  return `${r.host}/${r.repo}:${r.tag ?? 'latest'}`;
}

/** Writes the image `manifest` of `layout` (a layout directory) as a docker-archive at `file`. */
export async function writeDockerArchive(layout: Layout, layoutDir: string, manifest: Descriptor, file: string, repoTag: string | undefined): Promise<void> {
  const doc = parseJsonCapped(await readBlob(layout, manifest), `manifest ${manifest.digest}`, { code: 'ESCHEMA' }) as { config: Descriptor; layers: Descriptor[] };
  const hex = (d: Descriptor) => d.digest.slice(d.digest.indexOf(':') + 1);
  const members: ArchiveMember[] = [{ name: `${hex(doc.config)}.json`, path: join(layoutDir, blobRelPath(doc.config.digest)) }];
  const layers: string[] = [];
  for (const l of doc.layers) {
    if (layerCompression(l.mediaType) !== 'none') throw new OciBundleError('EIO', `internal: layer ${l.digest} is still compressed`);
    const name = `${hex(l)}.tar`;
    if (!layers.includes(name)) members.push({ name, path: join(layoutDir, blobRelPath(l.digest)) });
    layers.push(name);
  }
  const entry = { Config: `${hex(doc.config)}.json`, RepoTags: repoTag === undefined ? [] : [repoTagOf(repoTag)], Layers: layers };
  members.push({ name: 'manifest.json', bytes: Buffer.from(JSON.stringify([entry])) });
  await writeTarFile(file, members);
}
