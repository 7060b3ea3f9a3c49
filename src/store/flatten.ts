// Flattening the lowest layers of a stack too long for one overlay mount into one store entry
// (STORE/layers/flat/ID/): the layers' manifests replayed in order through the flat applier,
// as `unpack --store` builds a rootfs, so the entry is exactly the flattened unpack of those
// layers and needs no whiteouts (nothing lies below it). Made under its lock, manifest and
// marker last, verified and collected like a layer. Loaded only when a stack needs it.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { RootFS } from '../fs/rootfs.js';
import { acquireLock, type Release } from '../host/lock.js';
import { clearDeadTemps } from '../host/temp.js';
import { Applier } from '../layer/apply.js';
import { LAYER_TEMP, readManifest, readMarker } from './entry.js';
import { algDir, entryDir, lockPath, type LayerKey } from './paths.js';
import { makeEntry } from './seal.js';
import { removeStoreTree } from './remove.js';
import { replayLayers } from './replay.js';

export const FLAT_ALG = 'flat';

export function flatKey(keys: LayerKey[]): LayerKey {
  const hex = createHash('sha256').update(JSON.stringify(keys.map((k) => `${k.alg}/${k.name}`))).digest('hex');
  return { alg: FLAT_ALG, name: hex, diffId: `${FLAT_ALG}:${hex}` };
}

/**
 * The flat entry of `keys` (lowest first), made when missing. Returns with its lock held: the
 * caller releases it once the stack entry naming it is complete, so `store gc` (which keeps a
 * flat entry while a complete stack of a live bundle names it) cannot take it before.
 */
export async function ensureFlat(store: string, keys: LayerKey[], opaqueXattr: string, rootless: boolean): Promise<{ key: LayerKey; release: Release }> {
  const key = flatKey(keys);
  mkdirSync(algDir(store, FLAT_ALG), { recursive: true, mode: 0o700 });
  const release = await acquireLock(lockPath(store, key), 3_600_000);
  try {
    if (!readMarker(store, key)) {
      await clearDeadTemps(algDir(store, FLAT_ALG), { kinds: [LAYER_TEMP] });
      if (existsSync(entryDir(store, key))) removeStoreTree(entryDir(store, key)); // no marker: a leftover
      await build(store, key, keys, opaqueXattr, rootless);
    }
    return { key, release };
  } catch (e) {
    await release();
    throw e;
  }
}

function build(store: string, key: LayerKey, keys: LayerKey[], opaqueXattr: string, rootless: boolean): Promise<void> {
  return makeEntry(store, key, (tree, tmp) => {
    const fs = RootFS.open(tree);
    try {
      const applier = new Applier(fs, { verbatim: true, rootless, diskPath: tmp });
      replayLayers(store, keys, applier, opaqueXattr, false); // overlay refuses --keep-dirlinks
      applier.finish();
    } finally {
      fs.close();
    }
    // every directory here is what the flattened unpack of these layers shows: none is implicit
    return { implicit: [], rootDeclared: keys.some((k) => readManifest(store, k).rootDeclared), digest: key.diffId };
  });
}
