// Image status as data: the manifest and config (descriptor + parsed blob) and the history
// joined to the layers, shaped like umoci's stat JSON. Formatting for humans is the CLI's.
import { loadImage, resolveManifestDescriptor, type ResolveOptions } from './resolve.js';
import type { Layout } from './layout.js';
import type { Descriptor, ImageConfig, Manifest } from './types.js';

export interface StatHistoryEntry {
  /** The layer this entry created; null for an empty layer (or when none is left to match). */
  layer: Descriptor | null;
  diff_id: string | null;
  created: string | null;
  created_by: string | null;
  author: string | null;
  comment: string | null;
  empty_layer: boolean;
}

export interface ImageStat {
  manifest: { descriptor: Descriptor; blob: Manifest };
  config: { descriptor: Descriptor; blob: ImageConfig };
  history: StatHistoryEntry[];
}

export async function statImage(layout: Layout, ref: string, opts: ResolveOptions = {}): Promise<ImageStat> {
  const desc = await resolveManifestDescriptor(layout, ref, opts);
  const img = await loadImage(layout, desc, { ...opts, checkLayers: false });
  const layers = img.layers;
  const ids = Array.isArray(img.config.rootfs?.diff_ids) ? img.config.rootfs.diff_ids : [];
  let li = 0;
  const history: StatHistoryEntry[] = (img.config.history ?? []).map((h) => {
    const empty = h.empty_layer === true;
    let layer: Descriptor | null = null;
    let diffId: string | null = null;
    if (!empty) {
      layer = layers[li] ?? null;
      diffId = ids[li] ?? null;
      li++;
    }
    return {
      layer,
      diff_id: diffId,
      created: h.created ?? null,
      created_by: h.created_by ?? null,
      author: h.author ?? null,
      comment: h.comment ?? null,
      empty_layer: empty,
    };
  });
  return {
    manifest: { descriptor: img.manifestDescriptor, blob: img.manifest },
    config: { descriptor: img.configDescriptor, blob: img.config },
    history,
  };
}
