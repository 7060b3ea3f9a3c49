// Commits a change to an image: a new config (diff_id and history appended, or mutated by
// `config`), a new manifest (layer appended), new indexes along the descriptor path from the
// tag down to the manifest, all written as blobs pinned against gc, then the tag moved under
// the layout lock. A failure before the tag moves leaves the old tag; new blobs are only
// garbage for a later gc.
import { OciBundleError } from '../errors.js';
import { digestOf, readJsonBlob, tagImage, validateSchema, type Descriptor, type HistoryEntry, type ImageConfig, type ImageIndex, type Layout, type Manifest } from '../image/index.js';
import { pinBlobs } from '../image/pins.js';
import { step } from '../test-hooks.js';
import { buildInterrupted } from './layer-blob.js';

export interface BaseImage {
  /** index.json entry first, the manifest last. */
  descriptorPath: Descriptor[];
  manifest: Manifest;
  config: ImageConfig;
}

export interface Change {
  layer?: { descriptor: Descriptor; diffId: string };
  /** Appended to the config's history (empty_layer is set when there is no layer). */
  history?: HistoryEntry | null;
  /** Further edits of the new config (config command). */
  editConfig?: (c: ImageConfig) => void;
  /** Manifest annotations to set (config --manifest.annotation); an empty value removes. */
  editManifest?: (m: Manifest) => void;
}

export interface Committed {
  descriptorPath: Descriptor[];
  manifest: Descriptor;
  config: ImageConfig;
}

function docDescriptor(old: Descriptor, bytes: Buffer): Descriptor {
  const d: Descriptor = { ...old, digest: digestOf(bytes), size: bytes.length };
  delete d.data;
  return d;
}

/** The new config, manifest and indexes, and the tag moved onto them. */
/** An aborted `signal` before the tag moves is EINTERRUPTED; once the tag moves, the commit completes. */
export async function commitImage(layout: Layout, base: BaseImage, change: Change, tag: string, signal?: AbortSignal): Promise<Committed> {
  const config = structuredClone(base.config) as ImageConfig;
  config.rootfs = { ...config.rootfs, diff_ids: [...config.rootfs.diff_ids] };
  if (change.layer) config.rootfs.diff_ids.push(change.layer.diffId);
  if (change.history) {
    const h: HistoryEntry = { ...change.history };
    if (!change.layer) h.empty_layer = true;
    config.history = [...(config.history ?? []), h];
  }
  change.editConfig?.(config);
  await validateSchema('config', config, 'new config');
  const configBytes = Buffer.from(JSON.stringify(config));
  const manifest = structuredClone(base.manifest) as Manifest;
  manifest.config = docDescriptor(base.manifest.config, configBytes);
  if (change.layer) manifest.layers = [...manifest.layers, change.layer.descriptor];
  change.editManifest?.(manifest);
  await validateSchema('manifest', manifest, 'new manifest');
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  const path = base.descriptorPath;
  const oldManifest = path[path.length - 1]!;
  let child = docDescriptor(oldManifest, manifestBytes);
  const writes: Buffer[] = [configBytes, manifestBytes];
  const newPath: Descriptor[] = [child];
  // the indexes above the manifest, innermost first: each gets the new child in place of the old
  for (let i = path.length - 2; i >= 0; i--) {
    const idxDesc = path[i]!;
    const oldChild = path[i + 1]!;
    const idx = await readJsonBlob<ImageIndex>(layout, idxDesc, 'index');
    let found = false;
    const manifests = idx.manifests.map((d) => {
      if (d.digest !== oldChild.digest) return d;
      found = true;
      return { ...d, digest: child.digest, size: child.size };
    });
    if (!found) throw new OciBundleError('EBUNDLE', `index ${idxDesc.digest} no longer lists ${oldChild.digest}`);
    const bytes = Buffer.from(JSON.stringify({ ...idx, manifests }));
    writes.push(bytes);
    child = docDescriptor(idxDesc, bytes);
    newPath.unshift(child);
  }
  const pin = await pinBlobs(layout, writes.map((b) => digestOf(b)));
  try {
    for (const b of writes) {
      if (signal?.aborted) throw buildInterrupted();
      await layout.store.putBlob(b);
    }
    step('blobs-written');
    if (signal?.aborted) throw buildInterrupted();
    const top = await tagImage(layout, newPath[0]!, tag);
    newPath[0] = top;
  } finally {
    await pin.release();
  }
  return { descriptorPath: newPath, manifest: newPath[newPath.length - 1]!, config };
}
