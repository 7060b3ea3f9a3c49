// Recompression for `copy --dest-compress FORMAT` / `--dest-decompress`: a view of the source in
// which every layer the root reaches is in the wanted compression. A layer in another one is
// streamed out of the source (verified), decompressed, re-compressed into a private work layout
// (bounded memory: a temp file, as build/ writes layers) and its diff_id checked against the
// config; the manifests naming such layers are rewritten as OCI manifests (new digests and sizes,
// config and diff_ids unchanged) and the indexes above them too. The copy then reads the view.
import { OciBundleError } from '../errors.js';
import { openBlob, readBlob } from '../image/blob.js';
import { isForeignLayerType, isIndexType, isManifestType, layerCompression, MT, type Compression } from '../image/media-types.js';
import { initLayout, type Layout } from '../image/layout.js';
import { parseJsonCapped } from '../image/json.js';
import { checkDocument } from '../image/checks.js';
import { ReadOnlyStore, type BlobStore, type RawBlob } from '../image/store.js';
import type { Descriptor, ImageIndex } from '../image/types.js';
import { createDecompressor } from '../layer/decompress.js';
import { LAYER_MEDIA_TYPE, writeLayerBytes } from '../build/layer-blob.js';
import { diffIdsOf } from './diffid.js';

export const COMPRESSIONS: readonly Compression[] = ['gzip', 'zstd', 'none'];

/** Blobs of the work layout first, then the source's; read-only. */
class OverlayStore extends ReadOnlyStore {
  constructor(
    private readonly top: BlobStore,
    private readonly base: BlobStore,
    index: Buffer,
  ) {
    super(index);
  }
  protected get readOnly(): string {
    return 'a recompressed source is read-only';
  }
  async openBlob(digest: string): Promise<RawBlob> {
    return (await this.top.statBlob(digest)) !== undefined ? this.top.openBlob(digest) : this.base.openBlob(digest);
  }
  async statBlob(digest: string): Promise<number | undefined> {
    return (await this.top.statBlob(digest)) ?? this.base.statBlob(digest);
  }
  async listBlobs(): Promise<string[]> {
    return [...new Set([...(await this.top.listBlobs()), ...(await this.base.listBlobs())])];
  }}

/** A media type for an OCI layer: the same kind (plain or non-distributable) in `c`. */
function layerType(old: string, c: Compression): string {
  if (isForeignLayerType(old)) return { gzip: MT.ociLayerNdGzip, zstd: MT.ociLayerNdZstd, none: MT.ociLayerNd }[c];
  return LAYER_MEDIA_TYPE[c];
}

const CONVERT: Record<string, string> = { [MT.dockerLayerGzip]: MT.ociLayerGzip, [MT.dockerForeignLayerGzip]: MT.ociLayerNdGzip };

class Recompressor {
  private readonly memo = new Map<string, Promise<Descriptor>>();
  private readonly layers = new Map<string, Promise<Descriptor>>();
  /** Layers actually recompressed (tests, --verbose). */
  recoded = 0;
  constructor(
    private readonly src: Layout,
    private readonly work: Layout,
    private readonly want: Compression,
    private readonly signal: AbortSignal | undefined,
  ) {}

  node(desc: Descriptor): Promise<Descriptor> {
    let p = this.memo.get(desc.digest);
    if (!p) {
      p = isIndexType(desc.mediaType) ? this.index(desc) : isManifestType(desc.mediaType) ? this.manifest(desc) : Promise.resolve(desc);
      this.memo.set(desc.digest, p);
    }
    return p.then((d) => ({ ...desc, mediaType: d.mediaType, digest: d.digest, size: d.size }));
  }

  private async doc(desc: Descriptor, kind: 'index' | 'manifest' | 'config'): Promise<Record<string, unknown>> {
    const doc = parseJsonCapped(await readBlob(this.src, desc), `${kind} ${desc.digest}`, { code: 'ESCHEMA' }) as Record<string, unknown>;
    checkDocument(kind, doc, desc.digest, kind === 'config' ? undefined : desc.mediaType);
    return doc;
  }

  private async put(doc: unknown, mediaType: string, old: Descriptor): Promise<Descriptor> {
    const bytes = Buffer.from(JSON.stringify(doc));
    const digest = await this.work.store.putBlob(bytes);
    return { ...old, mediaType, digest, size: bytes.length };
  }

  private async index(desc: Descriptor): Promise<Descriptor> {
    const doc = await this.doc(desc, 'index');
    const children = doc['manifests'] as Descriptor[];
    const next: Descriptor[] = [];
    for (const c of children) next.push(await this.node(c));
    if (next.every((n, i) => n.digest === children[i]!.digest)) return desc;
    return this.put({ ...doc, ...(doc['mediaType'] !== undefined ? { mediaType: MT.ociIndex } : {}), manifests: next }, MT.ociIndex, desc);
  }

  private async manifest(desc: Descriptor): Promise<Descriptor> {
    const doc = await this.doc(desc, 'manifest');
    const config = doc['config'] as Descriptor;
    const layers = doc['layers'] as Descriptor[];
    const todo = layers.map((l) => (l.urls?.length ? false : layerCompression(l.mediaType) !== this.want));
    if (!todo.some(Boolean)) return desc;
    const ids = diffIdsOf(await this.doc(config, 'config'), layers.length, `config ${config.digest}`);
    const next: Descriptor[] = [];
    for (const [i, l] of layers.entries()) {
      if (this.signal?.aborted) throw new OciBundleError('EINTERRUPTED', 'copy interrupted; nothing written');
      next.push(todo[i] ? await this.layer(l, ids[i]!) : { ...l, mediaType: CONVERT[l.mediaType] ?? l.mediaType });
    }
    const newConfig = { ...config, mediaType: MT.ociConfig };
    // mediaType is written when the source's document had one (as skopeo: an OCI manifest may omit it)
    return this.put({ ...doc, ...(doc['mediaType'] !== undefined ? { mediaType: MT.ociManifest } : {}), config: newConfig, layers: next }, MT.ociManifest, desc);
  }

  /** One layer in the wanted compression (once per digest); EDIFFID unless its tar hashes to `diffId`. */
  private layer(l: Descriptor, diffId: string): Promise<Descriptor> {
    let p = this.layers.get(l.digest);
    if (!p) {
      p = this.recode(l, diffId);
      this.layers.set(l.digest, p);
    }
    return p.then((d) => ({ ...l, mediaType: d.mediaType, digest: d.digest, size: d.size }));
  }

  private async recode(l: Descriptor, diffId: string): Promise<Descriptor> {
    const from = openBlob(this.src, l);
    const dec = createDecompressor(layerCompression(l.mediaType), { label: l.digest });
    const out = await writeLayerBytes(this.work, this.want, async (put) => {
      from.pipe(dec);
      from.on('error', (e) => dec.destroy(e));
      for await (const c of dec) await put(c as Buffer);
    });
    await out.pin.release();
    if (out.diffId !== diffId) throw new OciBundleError('EDIFFID', `layer ${l.digest} uncompresses to ${out.diffId}, but the config's diff_id is ${diffId}`);
    this.recoded++;
    return { ...out.descriptor, mediaType: layerType(l.mediaType, this.want) };
  }
}

/**
 * The source as a layout whose root (tag `latest`, the returned descriptor) has every layer in
 * `want`; new blobs go to a work layout under `workDir` (the caller removes it).
 */
export async function recompressedSource(src: Layout, root: Descriptor, want: Compression, workDir: string, signal?: AbortSignal): Promise<{ layout: Layout; root: Descriptor; recoded: number }> {
  const work = await initLayout(workDir);
  const r = new Recompressor(src, work, want, signal);
  const top = await r.node(root);
  const index: ImageIndex = { schemaVersion: 2, manifests: [top] };
  const layout: Layout = { path: src.path, store: new OverlayStore(work.store, src.store, Buffer.from(JSON.stringify(index))), index, synthesised: src.synthesised === true };
  return { layout, root: top, recoded: r.recoded };
}
