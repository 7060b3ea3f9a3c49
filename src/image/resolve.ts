// Resolution: a tag (or digest) in a layout -> index.json entries -> nested indexes walked
// with memoisation and a depth limit -> ONE manifest for the wanted platform -> verified,
// schema-checked manifest and config. Reads blobs only through blob.ts; writes nothing.
import { OciBundleError } from '../errors.js';
import { readJsonBlob, readBlob, type JsonReadOptions } from './blob.js';
import { parseDigest, isValidDigest } from './digest.js';
import { openLayout, type Layout } from './layout.js';
import { isConfigType, isForeignLayerType, isIndexType, isManifestType, layerCompression, MT } from './media-types.js';
import { formatPlatform, hostPlatform, parsePlatform, platformMatches, type WantedPlatform } from './platform.js';
import { checkTag } from './reference.js';
import { noSuchTag, tagEntries } from './tags.js';
import type { Descriptor, ImageConfig, ImageIndex, Manifest, Platform } from './types.js';

export { tagEntries } from './tags.js';

export interface ResolveOptions extends JsonReadOptions {
  /** `os/arch[/variant]`; default: the host (linux + process.arch, arm64 -> v8). */
  platform?: string;
  /** Maximum nesting of indexes below index.json; default 8 (ETOODEEP beyond). */
  maxDepth?: number;
  /** Check layer media types and config diff_ids (default true; stat turns it off). */
  checkLayers?: boolean;
}

export interface ResolvedImage {
  layout: Layout;
  manifestDescriptor: Descriptor;
  manifest: Manifest;
  configDescriptor: Descriptor;
  config: ImageConfig;
  layers: Descriptor[];
  /** The descriptors from the index.json entry down to the manifest (umoci's descriptor_walk). */
  descriptorPath?: Descriptor[];
}

interface Candidate {
  desc: Descriptor;
  platform?: Platform;
  /** Descriptors of the indexes above `desc`, outermost first. */
  via: Descriptor[];
}

export const DEFAULT_MAX_DEPTH = 8;


/** The descriptor of a digest reference: from index.json if listed there, else sniffed from the blob. */
export async function digestRoot(layout: Layout, digest: string, opts: JsonReadOptions): Promise<Descriptor> {
  parseDigest(digest);
  const listed = layout.index.manifests.find((d) => d.digest === digest);
  if (listed) return listed;
  const size = await layout.store.statBlob(digest);
  if (size === undefined) throw new OciBundleError('ENOBLOB', `blob ${digest} not found in layout ${layout.path}`);
  const bytes = await readBlob(layout, { mediaType: 'application/octet-stream', digest, size }, opts.maxJsonBytes);
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new OciBundleError('EMEDIATYPE', `blob ${digest} is not an index or manifest`, { cause: e });
  }
  const declared = typeof doc?.['mediaType'] === 'string' ? (doc['mediaType'] as string) : undefined;
  const mediaType = declared ?? ('manifests' in doc ? MT.ociIndex : 'config' in doc ? MT.ociManifest : undefined);
  if (!mediaType || !(isIndexType(mediaType) || isManifestType(mediaType))) {
    throw new OciBundleError('EMEDIATYPE', `blob ${digest} is not an index or manifest`);
  }
  return { mediaType, digest, size };
}

/**
 * Every manifest reachable from `root` through nested indexes, each with the platform its
 * parent index declares. Memoised per digest, de-duplicated per level, depth-limited.
 */
async function collect(layout: Layout, root: Descriptor, want: WantedPlatform, opts: ResolveOptions): Promise<Candidate[]> {
  const maxDepth = opts.maxDepth ?? DEFAULT_MAX_DEPTH;
  const memo = new Map<string, Promise<Candidate[]>>();
  const walk = (desc: Descriptor, depth: number): Promise<Candidate[]> => {
    if (depth > maxDepth) {
      return Promise.reject(new OciBundleError('ETOODEEP', `index ${desc.digest} is nested more than ${maxDepth} levels deep`));
    }
    let p = memo.get(desc.digest);
    if (!p) {
      p = (async () => {
        const idx = await readJsonBlob<ImageIndex>(layout, desc, 'index', opts);
        const out = new Map<string, Candidate>();
        for (const child of idx.manifests) {
          if (isManifestType(child.mediaType)) {
            const c: Candidate = child.platform ? { desc: child, platform: child.platform, via: [desc] } : { desc: child, via: [desc] };
            out.set(`${child.digest} ${formatPlatform(child.platform)}`, c);
          } else if (isIndexType(child.mediaType)) {
            if (child.platform && !platformMatches(child.platform, want)) continue;
            for (const c of await walk(child, depth + 1)) out.set(`${c.desc.digest} ${formatPlatform(c.platform)}`, { ...c, via: [desc, ...c.via] });
          }
          // anything else (attestations, artifacts) is not an image: skipped
        }
        return [...out.values()];
      })();
      memo.set(desc.digest, p);
    }
    return p;
  };
  // A manifest listed in index.json keeps the platform its entry declares (several platform
  // manifests under one tag, with no index blob, are chosen from like an index's children).
  if (isManifestType(root.mediaType)) return [root.platform ? { desc: root, platform: root.platform, via: [] } : { desc: root, via: [] }];
  if (isIndexType(root.mediaType)) return walk(root, 1);
  throw new OciBundleError('EMEDIATYPE', `${root.digest} has media type ${root.mediaType}, which is neither an index nor a manifest`);
}

function choose(cands: Candidate[], want: WantedPlatform, what: string): Candidate {
  const explicit = cands.filter((c) => c.platform && platformMatches(c.platform, want));
  const pool = explicit.length > 0 ? explicit : cands.filter((c) => !c.platform);
  const byDigest = new Map(pool.map((c) => [c.desc.digest, c]));
  if (byDigest.size === 1) return [...byDigest.values()][0]!;
  if (byDigest.size === 0) {
    const avail = [...new Set(cands.map((c) => formatPlatform(c.platform)))].join(', ') || 'none';
    throw new OciBundleError('ENOPLATFORM', `${what} has no manifest for platform ${formatPlatform(want)}; available: ${avail}`);
  }
  const list = [...byDigest.values()].map((c) => `${c.desc.digest} (${formatPlatform(c.platform)})`).join(', ');
  throw new OciBundleError('EAMBIGUOUS', `${what} has several manifests for platform ${formatPlatform(want)}: ${list}`);
}

/** Resolves a tag, or `@sha256:HEX`, to one manifest descriptor in an open layout. */
export async function resolveManifestDescriptor(layout: Layout, ref: string, opts: ResolveOptions = {}): Promise<Descriptor> {
  const path = await resolveManifestPath(layout, ref, opts);
  return path[path.length - 1]!;
}

/** Like resolveManifestDescriptor, with the indexes on the way: [index.json entry, ..., manifest]. */
export async function resolveManifestPath(layout: Layout, ref: string, opts: ResolveOptions = {}): Promise<Descriptor[]> {
  const want = opts.platform ? parsePlatform(opts.platform) : hostPlatform();
  let roots: Descriptor[];
  let what: string;
  if (ref.startsWith('@')) {
    roots = [await digestRoot(layout, ref.slice(1), opts)];
    what = `image ${ref.slice(1)}`;
  } else {
    checkTag(ref);
    roots = tagEntries(layout.index, ref);
    what = `tag ${ref}`;
    if (roots.length === 0) throw noSuchTag(ref, `layout ${layout.path}`, layout.index);
  }
  const all: Candidate[] = [];
  for (const r of roots) all.push(...(await collect(layout, r, want, opts)));
  const c = choose(all, want, what);
  return [...c.via, c.desc];
}

function dropNulls(obj: Record<string, unknown>): void {
  for (const k of Object.keys(obj)) if (obj[k] === null) delete obj[k];
}

/** Reads, verifies and checks the manifest and config a manifest descriptor names. */
export async function loadImage(layout: Layout, manifestDescriptor: Descriptor, opts: ResolveOptions = {}): Promise<ResolvedImage> {
  const manifest = await readJsonBlob<Manifest>(layout, manifestDescriptor, 'manifest', opts);
  const configDescriptor = manifest.config;
  if (!isConfigType(configDescriptor.mediaType)) {
    throw new OciBundleError('EMEDIATYPE', `manifest ${manifestDescriptor.digest}: config ${configDescriptor.digest} has media type ${configDescriptor.mediaType}, not an image config`);
  }
  const config = await readJsonBlob<ImageConfig>(layout, configDescriptor, 'config', opts);
  dropNulls(config);
  if (config.config) dropNulls(config.config as Record<string, unknown>);
  const layers = manifest.layers;
  if (opts.checkLayers !== false) {
    for (const l of layers) {
      parseDigest(l.digest, `digest of layer in manifest ${manifestDescriptor.digest}`);
      layerCompression(l.mediaType);
      // Foreign layers are unpacked like any other when their blob is here; ocibundle never
      // fetches them from their urls, so a missing one is refused before anything is written.
      if ((isForeignLayerType(l.mediaType) || l.urls !== undefined) && (await layout.store.statBlob(l.digest)) === undefined) {
        const urls = Array.isArray(l.urls) && l.urls.length > 0 ? ` (urls: ${l.urls.slice(0, 3).map(String).join(', ')})` : '';
        throw new OciBundleError('ENOBLOB', `foreign layer ${l.digest}${urls} is not in ${layout.path}; ocibundle does not download foreign layers`);
      }
    }
    const ids = config.rootfs.diff_ids;
    if (ids.length !== layers.length) {
      throw new OciBundleError('EDIFFID', `config ${configDescriptor.digest} lists ${ids.length} diff_ids for ${layers.length} layers`);
    }
    ids.forEach((d, i) => {
      if (!isValidDigest(d)) throw new OciBundleError('EBADDIGEST', `config ${configDescriptor.digest}: diff_ids[${i}] ${JSON.stringify(String(d).slice(0, 200))} is not a valid digest`);
    });
  }
  return { layout, manifestDescriptor, manifest, configDescriptor, config, layers };
}

/**
 * THE entry point of the unpacker: opens the layout at `layoutPath` and resolves `ref` — a
 * tag (org.opencontainers.image.ref.name) or `@sha256:HEX` — to one image for the platform.
 */
export async function resolveImage(layoutPath: string, ref: string, opts: ResolveOptions = {}): Promise<ResolvedImage> {
  const layout = await openLayout(layoutPath);
  return resolveInLayout(layout, ref, opts);
}

export async function resolveInLayout(layout: Layout, ref: string, opts: ResolveOptions = {}): Promise<ResolvedImage> {
  const path = await resolveManifestPath(layout, ref, opts);
  return { ...(await loadImage(layout, path[path.length - 1]!, opts)), descriptorPath: path };
}
