// The layer store's API for unpack and the CLI: make sure an image's layers are in the store,
// build a rootfs from them, prepare and mount overlay bundles, and the store commands
// (ls, du, gc, verify). Re-exports and the two flows that combine several modules.
import { acquireLock } from '../host/lock.js';
import type { WarnFn } from '../errors.js';
import type { ResolvedImage } from '../image/index.js';
import type { Applier } from '../layer/apply.js';
import type { IdMap } from '../layer/ids.js';
import { ensureImageLayers } from './ensure.js';
import { readMarker } from './entry.js';
import { layerKey, lockPath, opaqueXattrFor, openStoreDir, type ExtractParams, type LayerKey } from './paths.js';
import { register, unregister } from './bundles.js';
import { replayLayers, type ReplayStats } from './replay.js';

export { defaultStoreDir, openStoreDir, opaqueXattrFor, layerKey, type ExtractParams, type LayerKey } from './paths.js';
export { ensureImageLayers } from './ensure.js';
export { readManifest, readMarker } from './entry.js';
export { dirOverrides, visibleFrom } from './stack.js';
export { ensureStack, stackKey, STACK_ALG, type OverlayPlan } from './plan.js';
export { register, unregister } from './bundles.js';
export { mountBundle, umountBundle, readRecord, writeRecord, isMounted, chooseDriver, bundleHasRecord, metaDir, type BundleRecord } from './overlay.js';
export { removeStoreTree, assertNoMountsUnder } from './remove.js';
export { storeList, storeDu, storeGc, storeVerify, type StoreLayerInfo, type GcResult, type VerifyResult } from './admin.js';

export interface StoreUseOptions {
  rootless?: boolean;
  uidMap?: IdMap[];
  gidMap?: IdMap[];
  keepDirlinks?: boolean;
  maxSize?: number;
  warn: WarnFn;
  signal?: AbortSignal;
  resolver?: 'openat2' | 'walk' | 'auto';
}

export function paramsOf(o: StoreUseOptions): ExtractParams {
  return { rootless: o.rootless ?? false, uidMap: o.uidMap ?? [], gidMap: o.gidMap ?? [], keepDirlinks: o.keepDirlinks ?? false, opaqueXattr: opaqueXattrFor(process.getuid?.()) };
}

/**
 * The image's layers, complete in the store and safe from a concurrent `store gc`: after the
 * caller registered what it uses, each layer's lock is taken once and its marker re-read (gc
 * removes a layer only under that lock, after re-reading the registrations).
 */
export async function layersInStore(img: ResolvedImage, store: string, o: StoreUseOptions): Promise<{ keys: LayerKey[]; results: LayerResult[] }> {
  const results: LayerResult[] = img.layers.map(() => 'hit');
  for (let attempt = 0; ; attempt++) {
    const keys = await ensureImageLayers(img, store, { params: paramsOf(o), warn: o.warn, ...(o.resolver ? { resolver: o.resolver } : {}), onLayer: (i, r) => { if (r === 'extracted') results[i] = r; }, ...(o.maxSize === undefined ? {} : { maxSize: o.maxSize }), ...(o.signal ? { signal: o.signal } : {}) });
    let lost = false;
    for (const k of keys) {
      const release = await acquireLock(lockPath(store, k));
      try {
        if (!readMarker(store, k)) lost = true;
      } finally {
        await release();
      }
    }
    if (!lost || attempt > 2) return { keys, results };
  }
}

/** Per layer of an image: found in the store, or extracted into it by this run. */
export type LayerResult = 'hit' | 'extracted';
export type { ReplayStats } from './replay.js';

/** `unpack --store` without --overlay: the rootfs the applier writes, from store layers. */

export async function rootfsFromStore(img: ResolvedImage, storeDir: string, applier: Applier, o: StoreUseOptions, target: string): Promise<{ results: LayerResult[]; replay: ReplayStats }> {
  const store = openStoreDir(storeDir);
  const params = paramsOf(o);
  // registered while it runs, so a concurrent gc leaves these layers alone
  const reg = register(store, target, img.config.rootfs.diff_ids.map((d) => { const k = layerKey(d, params); return `${k.alg}/${k.name}`; }));
  try {
    const { keys, results } = await layersInStore(img, store, o);
    const replay = replayLayers(store, keys, applier, params.opaqueXattr, params.keepDirlinks, o.signal);
    return { results, replay };
  } finally {
    unregister(store, reg);
  }
}
