// The overlay plan of a layer stack and its store entry: which layers the mount names (from the
// topmost opaque root up), the directory overrides of src/store/stack.ts built once as a tree
// in STORE/layers/stack/<id>/root (mounted as the topmost lower dir, so bundles share it and
// their upper dirs start empty), and entry counts for summaries. Made under the entry's lock,
// marker last, verified and collected like a layer; a warm bundle reads one small file.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { acquireLock } from '../host/lock.js';
import { clearDeadTemps } from '../host/temp.js';
import { LAYER_TEMP, readManifest, readMarker } from './entry.js';
import type { LayerManifest } from './manifest.js';
import { applyOverrides } from './overlay.js';
import { algDir, entryDir, lockPath, type LayerKey } from './paths.js';
import { makeEntry } from './seal.js';
import { removeStoreTree } from './remove.js';
import { dirOverrides, visibleFrom, type DirOverride } from './stack.js';

export interface OverlayPlan {
  /** The layers to mount, lowest first (the stack entry goes on top of them). */
  layers: LayerKey[];
  /** The metadata of the rootfs root, set on each bundle's upper dir (null: no layer declares it). */
  root: DirOverride | null;
  entries: number;
  files: number;
  bytes: number;
}

/** The `ALG` directory of stack entries under STORE/layers. */
export const STACK_ALG = 'stack';
const PLAN = 'plan.json';

/** The stack entry of layers `keys` (lowest first) under the opaque marker `opaqueXattr`. */
export function stackKey(keys: LayerKey[], opaqueXattr: string): LayerKey {
  const hex = createHash('sha256').update(JSON.stringify([keys.map((k) => `${k.alg}/${k.name}`), opaqueXattr])).digest('hex');
  return { alg: STACK_ALG, name: hex, diffId: `${STACK_ALG}:${hex}` };
}

/**
 * The stack entry of `keys`, built when missing. Its lock is taken once even when it is there,
 * after the caller registered it, so a concurrent `store gc` (which removes under that lock
 * after re-reading registrations) cannot take it away between this check and the mount.
 */
export async function ensureStack(store: string, keys: LayerKey[], opaqueXattr: string, rootless: boolean): Promise<{ key: LayerKey; plan: OverlayPlan }> {
  const key = stackKey(keys, opaqueXattr);
  mkdirSync(algDir(store, STACK_ALG), { recursive: true, mode: 0o700 });
  const release = await acquireLock(lockPath(store, key), 3_600_000);
  try {
    if (readMarker(store, key)) {
      const plan = readPlan(store, key);
      if (await madeEntriesComplete(store, plan, keys)) return { key, plan };
    }
    await clearDeadTemps(algDir(store, STACK_ALG), { kinds: [LAYER_TEMP] });
    if (existsSync(entryDir(store, key))) removeStoreTree(entryDir(store, key)); // no marker, or a flat entry gone: a leftover
    await buildStack(store, key, keys, opaqueXattr, rootless);
    return { key, plan: readPlan(store, key) };
  } finally {
    await release();
  }
}

/** The layers a stack entry's plan mounts (`store gc` keeps a flat entry a used stack names); [] when unreadable. */
export function stackEntryLayers(store: string, id: string): LayerKey[] {
  try {
    return (JSON.parse(readFileSync(join(store, 'layers', id, PLAN), 'utf8')) as OverlayPlan).layers;
  } catch {
    return [];
  }
}

function readPlan(store: string, key: LayerKey): OverlayPlan {
  return JSON.parse(readFileSync(join(entryDir(store, key), PLAN), 'utf8')) as OverlayPlan;
}

/** The plan's entries that are not image layers (a flat entry) are complete, each lock taken once. */
async function madeEntriesComplete(store: string, plan: OverlayPlan, keys: LayerKey[]): Promise<boolean> {
  for (const k of plan.layers) {
    if (keys.some((i) => i.name === k.name && i.alg === k.alg)) continue;
    const release = await acquireLock(lockPath(store, k), 3_600_000);
    try {
      if (!readMarker(store, k)) return false;
    } finally {
      await release();
    }
  }
  return true;
}

/**
 * The most lower dirs one mount names: overlayfs takes 500, and mount(8) with 11-byte short
 * links fits this many in its one-page option string with room for long bundle paths.
 */
export const MAX_LOWERS = 250;

async function buildStack(store: string, key: LayerKey, keys: LayerKey[], opaqueXattr: string, rootless: boolean): Promise<void> {
  const all = keys.map((k) => readManifest(store, k));
  const from = visibleFrom(all, opaqueXattr);
  let layers = keys.slice(from);
  let manifests = all.slice(from);
  let releaseFlat: (() => Promise<void>) | null = null;
  if (layers.length + 1 > MAX_LOWERS) {
    // the lowest layers become one flat entry: it, the rest and the stack entry make MAX_LOWERS
    const n = layers.length + 2 - MAX_LOWERS;
    const { ensureFlat } = await import('./flatten.js');
    const flat = await ensureFlat(store, layers.slice(0, n), opaqueXattr, rootless);
    releaseFlat = flat.release;
    layers = [flat.key, ...layers.slice(n)];
    manifests = [readManifest(store, flat.key), ...manifests.slice(n)];
  }
  try {
    await writeStack(store, key, layers, manifests, opaqueXattr, rootless);
  } finally {
    await releaseFlat?.();
  }
}

function writeStack(store: string, key: LayerKey, layers: LayerKey[], manifests: LayerManifest[], opaqueXattr: string, rootless: boolean): Promise<void> {
  let entries = 0;
  let files = 0;
  let bytes = 0;
  for (const m of manifests) {
    entries += m.entries.length;
    for (const e of m.entries) {
      if (e.k !== 'file') continue;
      files++;
      if (e.n === undefined) bytes += e.s;
    }
  }
  const overrides = dirOverrides(manifests, opaqueXattr);
  const plan: OverlayPlan = { layers, root: overrides.find((o) => o.p === '.') ?? null, entries, files, bytes };
  const text = JSON.stringify(plan);
  return makeEntry(store, key, (tree) => {
    applyOverrides(tree, overrides.filter((o) => o.p !== '.'), opaqueXattr, rootless);
    return { implicit: [], rootDeclared: false, digest: `sha256:${createHash('sha256').update(text).digest('hex')}`, files: { [PLAN]: text } };
  });
}
