// `copy SRC DEST`: any source -> an OCI layout (`oci:PATH[:TAG]` or a bare path) or an
// `oci-archive:FILE[:TAG]`. Docker media types become OCI ones (manifest and config JSON are
// re-serialised, so their digests change; layer bytes are copied verbatim). Every blob is
// verified while it streams; blobs already in DEST are not read. Never touches a rootfs.
import { createWriteStream, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { OciBundleError } from '../errors.js';
import { openBlob, readBlob } from '../image/blob.js';
import { blobRelPath, digestOf } from '../image/digest.js';
import { tempName, fsyncDir } from '../image/fsutil.js';
import { initLayout, openLayout, type Layout } from '../image/layout.js';
import { isConfigType, isIndexType, isManifestType, MT } from '../image/media-types.js';
import { parseImageRef } from '../image/reference.js';
import { digestRoot, resolveManifestDescriptor } from '../image/resolve.js';
import { validateSchema } from '../image/schema.js';
import { checkDocument } from '../image/checks.js';
import { tagEntries } from '../image/tags.js';
import { tagImage } from '../image/update-index.js';
import type { Descriptor } from '../image/types.js';
import { openSource, type SourceOptions } from './index.js';
import { writeLayoutArchive } from './tar-write.js';

export interface CopyOptions extends SourceOptions {}

export interface CopyResult {
  /** The descriptor DEST's index.json now carries for the tag. */
  descriptor: Descriptor;
  tag: string;
  /** Blobs written to DEST, and blobs skipped because DEST already had them. */
  copied: number;
  skipped: number;
}

export type DestName = { kind: 'oci' | 'oci-archive'; path: string; tag: string };

export function parseDestName(name: string): DestName {
  if (name.startsWith('docker://') || name.startsWith('docker-archive:')) {
    throw new OciBundleError('EUSAGE', `cannot copy to ${name.split(':')[0]}: destinations are oci:PATH[:TAG] or oci-archive:FILE[:TAG]`);
  }
  const kind = name.startsWith('oci-archive:') ? 'oci-archive' : 'oci';
  const rest = kind === 'oci-archive' ? name.slice('oci-archive:'.length) : name.startsWith('oci:') ? name.slice(4) : name;
  const r = parseImageRef(rest);
  if (r.digest) throw new OciBundleError('EUSAGE', `copy destination ${JSON.stringify(name)} names a digest: give a tag`);
  return { kind, path: r.path, tag: r.tag ?? 'latest' };
}

const CONVERT_LAYER: Record<string, string> = {
  [MT.dockerLayerGzip]: MT.ociLayerGzip,
  [MT.dockerForeignLayerGzip]: MT.ociLayerNdGzip,
};

function parseJson(bytes: Buffer, what: string): Record<string, unknown> {
  try {
    return JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new OciBundleError('ESCHEMA', `${what} is not valid json`, { cause: e });
  }
}

class Copier {
  copied = 0;
  skipped = 0;
  private done = new Map<string, Promise<Descriptor>>();
  constructor(
    private readonly src: Layout,
    private readonly dest: Layout,
  ) {}

  /** Streams one blob, verified, into DEST unless it is already there. */
  async blob(desc: Descriptor): Promise<void> {
    if ((await this.dest.store.statBlob(desc.digest)) === desc.size) {
      this.skipped++;
      return;
    }
    if ((await this.src.store.statBlob(desc.digest)) === undefined && desc.urls?.length) {
      throw new OciBundleError('ENOBLOB', `foreign layer ${desc.digest} is not in the source; it lives at ${desc.urls.join(', ')} and is not fetched`);
    }
    const rel = blobRelPath(desc.digest);
    const final = join(this.dest.path, rel);
    await fsp.mkdir(join(final, '..'), { recursive: true, mode: 0o755 });
    const tmp = tempName(this.dest.path);
    try {
      const out = createWriteStream(tmp, { flags: 'wx', mode: 0o644 });
      await pipeline(openBlob(this.src, desc), out);
      const fh = await fsp.open(tmp, 'r');
      await fh.sync().finally(() => fh.close());
      await fsp.rename(tmp, final);
    } catch (e) {
      await fsp.unlink(tmp).catch(() => undefined);
      throw e;
    }
    this.copied++;
  }

  /** Stores a re-serialised document; returns its new descriptor. */
  private async put(doc: unknown, mediaType: string, old: Descriptor): Promise<Descriptor> {
    const bytes = Buffer.from(JSON.stringify(doc));
    const digest = digestOf(bytes);
    if ((await this.dest.store.statBlob(digest)) === bytes.length) this.skipped++;
    else {
      await this.dest.store.putBlob(bytes);
      this.copied++;
    }
    const d: Descriptor = { ...old, mediaType, digest, size: bytes.length };
    delete d.data;
    return d;
  }

  node(desc: Descriptor): Promise<Descriptor> {
    let p = this.done.get(desc.digest);
    if (!p) {
      p = this.copyNode(desc);
      this.done.set(desc.digest, p);
    }
    return p.then((d) => ({ ...desc, mediaType: d.mediaType, digest: d.digest, size: d.size }));
  }

  private async copyNode(desc: Descriptor): Promise<Descriptor> {
    if (isIndexType(desc.mediaType)) return this.index(desc);
    if (isManifestType(desc.mediaType)) return this.manifest(desc);
    await this.blob(desc);
    return desc;
  }

  private async readDoc(desc: Descriptor, kind: 'index' | 'manifest' | 'config'): Promise<{ bytes: Buffer; doc: Record<string, unknown> }> {
    const bytes = await readBlob(this.src, desc);
    const doc = parseJson(bytes, `${kind} ${desc.digest}`);
    checkDocument(kind, doc, desc.digest, kind === 'config' ? undefined : desc.mediaType);
    await validateSchema(kind, doc, desc.digest);
    return { bytes, doc };
  }

  private async index(desc: Descriptor): Promise<Descriptor> {
    const { doc } = await this.readDoc(desc, 'index');
    const children = doc['manifests'] as Descriptor[];
    const next = await Promise.all(children.map((c) => this.node(c)));
    const changed = desc.mediaType !== MT.ociIndex || next.some((n, i) => n.digest !== children[i]!.digest);
    if (!changed) {
      await this.blob(desc);
      return desc;
    }
    return this.put({ ...doc, mediaType: MT.ociIndex, manifests: next }, MT.ociIndex, desc);
  }

  private async manifest(desc: Descriptor): Promise<Descriptor> {
    const { doc } = await this.readDoc(desc, 'manifest');
    const config = doc['config'] as Descriptor;
    const layers = doc['layers'] as Descriptor[];
    if (!isConfigType(config.mediaType)) {
      throw new OciBundleError('EMEDIATYPE', `manifest ${desc.digest}: config ${config.digest} has media type ${config.mediaType}, not an image config`);
    }
    let newConfig = config;
    if (config.mediaType === MT.dockerConfig) {
      const { doc: cfg } = await this.readDoc(config, 'config');
      newConfig = await this.put(cfg, MT.ociConfig, config);
    } else {
      await this.blob(config);
    }
    const newLayers: Descriptor[] = [];
    for (const l of layers) {
      await this.blob(l);
      const mt = CONVERT_LAYER[l.mediaType];
      newLayers.push(mt ? { ...l, mediaType: mt } : l);
    }
    const changed = desc.mediaType !== MT.ociManifest || newConfig !== config || newLayers.some((l, i) => l !== layers[i]);
    if (!changed) {
      await this.blob(desc);
      return desc;
    }
    return this.put({ ...doc, mediaType: MT.ociManifest, config: newConfig, layers: newLayers }, MT.ociManifest, desc);
  }
}

async function openOrInit(path: string): Promise<Layout> {
  try {
    return await openLayout(path);
  } catch (e) {
    if (e instanceof OciBundleError && e.code === 'ENOLAYOUT' && /no such directory/.test(e.message)) return initLayout(path);
    throw e;
  }
}

/** The root descriptor SRC names: the whole tagged index, or one manifest with a platform. */
async function rootOf(layout: Layout, ref: string, platform: string | undefined): Promise<Descriptor> {
  if (platform !== undefined) return resolveManifestDescriptor(layout, ref, { platform });
  if (ref.startsWith('@')) return digestRoot(layout, ref.slice(1), {});
  const found = tagEntries(layout.index, ref);
  if (found.length === 0) throw new OciBundleError('ENOTAG', `tag ${ref} not found in ${layout.path}`);
  if (new Set(found.map((d) => d.digest)).size > 1) throw new OciBundleError('EAMBIGUOUS', `tag ${ref} names several images in ${layout.path}; pick one with --platform`);
  return found[0]!;
}

export async function copyImage(src: string, dest: string, opts: CopyOptions = {}): Promise<CopyResult> {
  const d = parseDestName(dest);
  const source = await openSource(src, opts);
  try {
    const root = await rootOf(source.layout, source.ref, opts.platform);
    let layoutPath = d.path;
    if (d.kind === 'oci-archive') {
      layoutPath = `${d.path}.ocibundle-tmp-${process.pid}-${Date.now().toString(36)}`;
      await fsp.rm(layoutPath, { recursive: true, force: true });
    }
    try {
      const target = d.kind === 'oci' ? await openOrInit(layoutPath) : await initLayout(layoutPath);
      const copier = new Copier(source.layout, target);
      const top = await copier.node({ mediaType: root.mediaType, digest: root.digest, size: root.size, ...(root.platform ? { platform: root.platform } : {}) });
      const entry = await tagImage(target, top, d.tag);
      await fsyncDir(join(layoutPath, 'blobs', 'sha256')).catch(() => undefined);
      if (d.kind === 'oci-archive') await writeLayoutArchive(layoutPath, d.path);
      return { descriptor: entry, tag: d.tag, copied: copier.copied, skipped: copier.skipped };
    } finally {
      if (d.kind === 'oci-archive') await fsp.rm(layoutPath, { recursive: true, force: true });
    }
  } finally {
    await source.close();
  }
}
