// Reading just enough of an OCI image layout to find a tag's layer blobs, and writing the
// many-tag index.json for the ls/tag/rm cases. Trusts only images built by ../shared/bench,
// but still checks digests before turning them into paths. No unpacking, no timing.
import { readFile, writeFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { compressionOf, type LayerFile } from './cases.js';

const REF_NAME = 'org.opencontainers.image.ref.name';
const INDEX_TYPES = new Set([
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
]);

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: { os?: string; architecture?: string };
}

interface IndexDoc {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
}

export function blobPath(layout: string, digest: string): string {
  const m = /^(sha256|sha512):([a-f0-9]{64}|[a-f0-9]{128})$/.exec(digest);
  if (m === null) throw new Error(`unexpected digest '${digest}' in ${layout}`);
  return join(layout, 'blobs', m[1]!, m[2]!);
}

async function readJson<T>(path: string): Promise<T> {
  return JSON.parse(await readFile(path, 'utf8')) as T;
}

/** The top-level index.json entry named `tag`. */
export async function findTag(layout: string, tag: string): Promise<Descriptor> {
  const index = await readJson<IndexDoc>(join(layout, 'index.json'));
  const d = index.manifests.find((m) => m.annotations?.[REF_NAME] === tag);
  if (d === undefined) throw new Error(`no tag '${tag}' in ${layout}/index.json`);
  return d;
}

/** The layer files of `tag`, in order (nested indexes: linux/amd64, else the first entry). */
export async function layerFiles(layout: string, tag: string): Promise<LayerFile[]> {
  let d = await findTag(layout, tag);
  for (let depth = 0; INDEX_TYPES.has(d.mediaType); depth++) {
    if (depth > 4) throw new Error(`indexes nested too deep under '${tag}' in ${layout}`);
    const idx = await readJson<IndexDoc>(blobPath(layout, d.digest));
    const pick =
      idx.manifests.find((m) => m.platform?.os === 'linux' && m.platform.architecture === 'amd64') ??
      idx.manifests[0];
    if (pick === undefined) throw new Error(`empty index ${d.digest} in ${layout}`);
    d = pick;
  }
  const manifest = await readJson<{ layers: Descriptor[] }>(blobPath(layout, d.digest));
  return manifest.layers.map((l) => {
    const compression = compressionOf(l.mediaType);
    if (compression === null) throw new Error(`layer ${l.digest} has unknown media type ${l.mediaType}`);
    return { path: blobPath(layout, l.digest), compression };
  });
}

/** Tag names of the many-tag layout: 'latest' first, then distinct names. Pure. */
export function manyTagNames(n: number): string[] {
  const names = ['latest'];
  const width = String(n).length;
  for (let i = 1; i < n; i++) names.push(`v1.${String(i).padStart(width, '0')}`);
  return names;
}

/** An index.json with one entry per name, all pointing at `manifest`. Pure. */
export function manyTagIndex(manifest: Descriptor, names: readonly string[]): IndexDoc {
  const { annotations: _drop, ...bare } = manifest;
  return {
    schemaVersion: 2,
    manifests: names.map((name) => ({ ...bare, annotations: { [REF_NAME]: name } })),
  };
}

/** Rewrite `layout`/index.json with `n` tags on the manifest tagged latest; returns the text. */
export async function writeManyTagIndex(layout: string, n: number): Promise<string> {
  const latest = await findTag(layout, 'latest');
  const text = JSON.stringify(manyTagIndex(latest, manyTagNames(n)));
  await writeIndex(layout, text);
  return text;
}

/** Replace index.json atomically (used to reset the layout before every ls/tag/rm run). */
export async function writeIndex(layout: string, text: string): Promise<void> {
  const tmp = join(layout, `.index.json.bench-${process.pid}`);
  await writeFile(tmp, text);
  await rename(tmp, join(layout, 'index.json'));
}
