// `unpack --store DIR --overlay`: a bundle whose rootfs is an overlay mount of store layers
// (the sequence is src/store/overlay-bundle.ts), config.json from the user db read through the
// mounted view. Afterwards a recipe is left in the store for the CLI's warm path when the
// image came straight from a layout's index.json and every option can be keyed.
import { OciBundleError, type Warning, type WarnFn } from './errors.js';
import { BundleRecorder } from './build/unpack-meta.js';
import { RootFS } from './fs/rootfs.js';
import { syncFileSystemOf } from './host/durable.js';
import type { ResolvedImage } from './image/index.js';
import { buildRuntimeConfig, readUserDb } from './runtime-config.js';
import { localSourcePaths, parseSourceName } from './source/index.js';
import { chooseDriver, layersInStore, layerKey, openStoreDir, paramsOf } from './store/index.js';
import { makeOverlayBundle } from './store/overlay-bundle.js';
import { indexHash, recipeId, recipeOptions, writeRecipe } from './store/recipe.js';
import type { UnpackOptions, UnpackSummary } from './unpack.js';

export async function unpackOverlay(img: ResolvedImage, opts: UnpackOptions, started: number): Promise<UnpackSummary> {
  if (opts.rootfsOnly) throw new OciBundleError('EUSAGE', '--overlay makes a bundle: use `unpack`, not `raw unpack`');
  if (opts.keepDirlinks) throw new OciBundleError('EUSAGE', '--keep-dirlinks cannot be honoured by an overlay mount: unpack without --overlay');
  const given: Warning[] = [];
  const warn: WarnFn = (w) => {
    given.push(w);
    opts.onWarning?.(w);
  };
  const store = openStoreDir(opts.store!);
  const driver = chooseDriver();
  const use = { rootless: opts.rootless ?? false, uidMap: opts.uidMap ?? [], gidMap: opts.gidMap ?? [], warn, ...(opts.maxSize === undefined ? {} : { maxSize: opts.maxSize }), ...(opts.signal ? { signal: opts.signal } : {}), ...(opts.resolver ? { resolver: opts.resolver } : {}) };
  const params = paramsOf(use);
  const keys = img.config.rootfs.diff_ids.map((d) => layerKey(d, params));
  const made = await makeOverlayBundle({
    store,
    bundle: opts.bundle,
    force: opts.force ?? false,
    driver,
    rootless: params.rootless,
    opaqueXattr: params.opaqueXattr,
    keys,
    ...(opts.signal ? { signal: opts.signal } : {}),
    layers: () => layersInStore(img, store, use),
    // umoci.json and the mtree only when asked: a walk of the mounted view, 1.2 MB for debian
    extras: {
      write: (bundle, rootfs) => (opts.mtree === true ? recordMtree(img, opts, bundle, rootfs) : BundleRecorder.publish(bundle, null, opts.force ?? false)),
      remove: (bundle) => BundleRecorder.publish(bundle, null, true),
    },
    configText: (rootfs) => {
      const fs = RootFS.open(rootfs);
      try {
        return `${JSON.stringify(buildRuntimeConfig(img.config, { ...opts, ...readUserDb(fs), warn }), null, '\t')}\n`;
      } finally {
        fs.close();
      }
    },
  });
  if (opts.sync === true) syncFileSystemOf(opts.bundle); // the upper dir, config.json, the record
  leaveRecipe(img, opts, store, { keys, driver, rootless: params.rootless, opaqueXattr: params.opaqueXattr, configText: made.configText, warnings: given });
  const { plan } = made;
  return {
    rootfs: made.rootfs,
    config: made.config,
    manifest: img.manifestDescriptor.digest,
    imageConfig: img.configDescriptor.digest,
    layers: img.layers.map((d, i) => ({ digest: d.digest, diffId: img.config.rootfs.diff_ids[i]!, mediaType: d.mediaType, size: d.size })),
    stats: { entries: plan.entries, files: plan.files, bytes: plan.bytes, whiteouts: 0 },
    resolver: 'openat2',
    ms: Math.round(performance.now() - started),
    store: { dir: store, layers: made.layers.results, overlay: true },
  };
}

/** umoci.json and the mtree of the mounted view (walked: no layer was applied here). */
function recordMtree(img: ResolvedImage, opts: UnpackOptions, bundle: string, rootfs: string): void {
  const rec = new BundleRecorder(img, opts);
  rec.observer.untracked('an overlay bundle: its rootfs is a mount of store layers');
  const fs = RootFS.open(rootfs);
  try {
    rec.finish(fs);
  } finally {
    fs.close();
  }
  BundleRecorder.publish(bundle, rec, opts.force ?? false);
}

/** A recipe for the next bundle of this image, when the image is a manifest named in a layout's index.json. */
function leaveRecipe(img: ResolvedImage, opts: UnpackOptions, store: string, made: { keys: ReturnType<typeof layerKey>[]; driver: 'kernel' | 'fuse-overlayfs'; rootless: boolean; opaqueXattr: string; configText: string; warnings: Warning[] }): void {
  const options = recipeOptions(opts as unknown as Record<string, unknown>);
  const layout = img.layout;
  if (options === null || layout.synthesised || !layout.index.manifests.some((d) => d.digest === img.manifestDescriptor.digest)) return;
  if (parseSourceName(opts.image).transport !== 'oci') return;
  const sources = localSourcePaths(opts.image, opts.source ?? {});
  writeRecipe(store, {
    version: 1,
    id: recipeId(opts.image, options),
    layout: layout.path,
    index: indexHash(layout.index),
    blobs: [img.manifestDescriptor, img.configDescriptor].map((d) => ({ digest: d.digest, size: d.size })),
    sources,
    ...made,
  });
}
