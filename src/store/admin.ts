// The `store` commands over a store directory: ls (layers, their size and last use), du
// (total disk use), gc (remove layers no live bundle references, and leftovers of killed
// extractions, recipes naming what is gone) and verify (walk a layer's tree again and compare it with its manifest).
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { acquireLock } from '../host/lock.js';
import { clearDeadTemps } from '../host/temp.js';
import { registrations } from './bundles.js';
import { dropStaleRecipes } from './recipe.js';
import { STACK_ALG, stackEntryLayers } from './plan.js';
import { FLAT_ALG } from './flatten.js';
import { LAYER_TEMP, readMarker } from './entry.js';
import { compareEntries, walkTree, type LayerManifest } from './manifest.js';
import { LAST_USE, MANIFEST, MARKER, TREE, type LayerKey } from './paths.js';
import { removeStoreTree } from './remove.js';

export interface StoreLayerInfo {
  /** `ALG/NAME` under STORE/layers */
  id: string;
  diffId: string | null;
  complete: boolean;
  bytes: number;
  lastUse: string | null;
  bundles: number;
}

/** Disk use of a tree (allocated blocks; each inode once). */
function diskUse(path: string, seen = new Set<number>()): number {
  const st = lstatSync(path, { throwIfNoEntry: false });
  if (!st || seen.has(st.ino)) return 0;
  seen.add(st.ino);
  let n = st.blocks * 512;
  if (st.isDirectory()) for (const name of readdirSync(path)) n += diskUse(join(path, name), seen);
  return n;
}

interface EntryRef {
  id: string;
  alg: string;
  name: string;
  dir: string;
}

function entries(store: string): EntryRef[] {
  const out: EntryRef[] = [];
  const layers = join(store, 'layers');
  if (!existsSync(layers)) return out;
  for (const alg of readdirSync(layers).sort()) {
    for (const name of readdirSync(join(layers, alg)).sort()) {
      if (name.startsWith('.') || name.endsWith('.lock') || name.endsWith('.break')) continue;
      out.push({ id: `${alg}/${name}`, alg, name, dir: join(layers, alg, name) });
    }
  }
  return out;
}

function keyOf(e: EntryRef): LayerKey | null {
  try {
    const m = JSON.parse(readFileSync(join(e.dir, MARKER), 'utf8')) as { diffId?: string };
    return typeof m.diffId === 'string' ? { alg: e.alg, name: e.name, diffId: m.diffId } : null;
  } catch {
    return null;
  }
}

function referenced(store: string): Map<string, number> {
  const refs = new Map<string, number>();
  for (const r of registrations(store)) if (r.live && r.reg) for (const id of r.reg.layers) refs.set(id, (refs.get(id) ?? 0) + 1);
  // a flat entry is used through the stack entries whose plan mounts it
  for (const [id, n] of [...refs]) {
    if (!id.startsWith(`${STACK_ALG}/`)) continue;
    for (const k of stackEntryLayers(store, id)) if (k.alg === FLAT_ALG) refs.set(`${k.alg}/${k.name}`, (refs.get(`${k.alg}/${k.name}`) ?? 0) + n);
  }
  return refs;
}

export function storeList(store: string): StoreLayerInfo[] {
  const refs = referenced(store);
  return entries(store).map((e) => {
    const key = keyOf(e);
    const used = lstatSync(join(e.dir, LAST_USE), { throwIfNoEntry: false });
    return { id: e.id, diffId: key?.diffId ?? null, complete: key !== null && readMarker(store, key) !== null, bytes: diskUse(e.dir), lastUse: used ? used.mtime.toISOString() : null, bundles: refs.get(e.id) ?? 0 };
  });
}

export function storeDu(store: string): { layers: number; bytes: number } {
  return { layers: entries(store).length, bytes: diskUse(store) };
}

export interface GcResult {
  removed: string[];
  kept: number;
  freedBytes: number;
}

/** Remove every layer no live bundle references, each under its lock; skip layers being extracted. */
export async function storeGc(store: string): Promise<GcResult> {
  const result: GcResult = { removed: [], kept: 0, freedBytes: 0 };
  for (const r of registrations(store)) if (!r.live) rmSync(r.path, { force: true });
  const layersDir = join(store, 'layers');
  for (const e of entries(store)) {
    if (referenced(store).has(e.id)) {
      result.kept++;
      continue;
    }
    let release;
    try {
      release = await acquireLock(join(layersDir, e.alg, `${e.name}.lock`), 0);
    } catch {
      result.kept++; // an extraction (or another gc) holds it
      continue;
    }
    try {
      // re-read under the lock: a bundle may have registered this layer meanwhile
      if (referenced(store).has(e.id)) {
        result.kept++;
        continue;
      }
      const bytes = diskUse(e.dir);
      removeStoreTree(e.dir);
      result.removed.push(e.id);
      result.freedBytes += bytes;
    } finally {
      await release();
    }
  }
  dropStaleRecipes(store);
  // short links (overlay.ts) of layers that are gone
  const links = join(store, 'l');
  if (existsSync(links)) for (const name of readdirSync(links)) if (!existsSync(join(links, name))) rmSync(join(links, name), { force: true });
  // temporary trees of extractions whose process is gone
  if (existsSync(layersDir)) {
    for (const alg of readdirSync(layersDir)) {
      for (const name of await clearDeadTemps(join(layersDir, alg), { kinds: [LAYER_TEMP] })) result.removed.push(`${alg}/${name}`);
    }
  }
  return result;
}

export interface VerifyResult {
  id: string;
  ok: boolean;
  problems: string[];
}

/** Check one layer (`ALG/NAME`, `ALG:HEX` or a bare hex prefix) or all against their manifests. */
export function storeVerify(store: string, which?: string): VerifyResult[] {
  const want = which?.replace(':', '/');
  const list = entries(store).filter((e) => !want || e.id === want || e.id.startsWith(want) || e.name.startsWith(want));
  return list.map((e) => {
    const problems: string[] = [];
    const key = keyOf(e);
    if (!key) return { id: e.id, ok: false, problems: ['no completion marker: an interrupted extraction (store gc removes it)'] };
    try {
      const marker = readMarker(store, key)!;
      const text = readFileSync(join(e.dir, MANIFEST), 'utf8');
      if (createHash('sha256').update(text).digest('hex') !== marker.manifestSha256) problems.push('manifest.json does not match the hash its marker recorded');
      const manifest = JSON.parse(text) as LayerManifest;
      if (manifest.diffId !== key.diffId) problems.push(`manifest names ${manifest.diffId}, marker ${key.diffId}`);
      if (!statSync(join(e.dir, TREE)).isDirectory()) problems.push('no tree');
      else problems.push(...compareEntries(manifest.entries, walkTree(join(e.dir, TREE))));
    } catch (err) {
      problems.push(`cannot read: ${(err as Error).message}`);
    }
    return { id: e.id, ok: problems.length === 0, problems };
  });
}
