// Image status as data: the manifest and config (descriptor + parsed blob) and the history
// joined to the layers, shaped like umoci's stat JSON; an artifact manifest is described, not
// refused. Formatting for humans is the CLI's.
import { readJsonBlob } from './blob.js';
import { isConfigType } from './media-types.js';
import { loadImage, resolveManifestPath, type ResolveOptions } from './resolve.js';
import type { Layout } from './layout.js';
import type { Descriptor, ImageConfig, Manifest } from './types.js';

/**
 * One history entry as the config has it (fields it leaves out stay out, so JSON output is
 * faithful), joined to the layer it created: `layer` is null for an empty_layer entry (or
 * when no layer is left to match), and `diff_id` is present only with a layer.
 */
export interface StatHistoryEntry {
  layer: Descriptor | null;
  diff_id?: string;
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

export interface ImageStat {
  manifest: { descriptor: Descriptor; blob: Manifest };
  /** Absent for an artifact manifest (a config media type that is not an image config). */
  config?: { descriptor: Descriptor; blob: ImageConfig };
  /** For an artifact: its artifactType, else its config media type. */
  artifactType?: string;
  history: StatHistoryEntry[];
  /** The descriptors from the index.json entry down to the manifest (their annotations, ref.name). */
  descriptorPath: Descriptor[];
}

const HISTORY_FIELDS = ['created', 'created_by', 'author', 'comment', 'empty_layer'] as const;

export async function statImage(layout: Layout, ref: string, opts: ResolveOptions = {}): Promise<ImageStat> {
  const path = await resolveManifestPath(layout, ref, opts);
  const desc = path[path.length - 1]!;
  const manifest = await readJsonBlob<Manifest>(layout, desc, 'manifest', opts);
  if (!isConfigType(manifest.config.mediaType)) {
    // An OCI artifact (a Helm chart, a signature...): say what it is rather than refuse it.
    const artifactType = typeof manifest.artifactType === 'string' ? manifest.artifactType : manifest.config.mediaType;
    return { manifest: { descriptor: desc, blob: manifest }, artifactType, history: [], descriptorPath: path };
  }
  const img = await loadImage(layout, desc, { ...opts, checkLayers: false });
  const layers = img.layers;
  const ids = Array.isArray(img.config.rootfs?.diff_ids) ? img.config.rootfs.diff_ids : [];
  let li = 0;
  const history: StatHistoryEntry[] = (img.config.history ?? []).map((h) => {
    const out: StatHistoryEntry = { layer: null };
    if (h.empty_layer !== true) {
      out.layer = layers[li] ?? null;
      if (ids[li] !== undefined) out.diff_id = ids[li]!;
      li++;
    }
    for (const k of HISTORY_FIELDS) if (h[k] !== undefined) (out as unknown as Record<string, unknown>)[k] = h[k];
    return out;
  });
  return {
    manifest: { descriptor: img.manifestDescriptor, blob: img.manifest },
    config: { descriptor: img.configDescriptor, blob: img.config },
    history,
    descriptorPath: path,
  };
}
