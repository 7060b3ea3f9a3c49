// The overlay plan of a layer stack and its store entry: which layers the mount names (from the
// topmost opaque root up), the directory overrides of src/store/stack.ts built once as a tree
// in STORE/layers/stack/<id>/root (mounted as the topmost lower dir, so bundles share it and
// their upper dirs start empty), and entry counts for summaries. Made under the entry's lock,
// marker last, verified and collected like a layer; a warm bundle reads one small file.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { acquireLock } from '../host/lock.js';
import { clearDeadTemps, createTempDirSync } from '../host/temp.js';
import { RootFS } from '../fs/rootfs.js';
import { LAYER_TEMP, readManifest, readMarker, writeDurable, type Marker } from './extract.js';
import { walkTree, type LayerManifest } from './manifest.js';
import { algDir, entryDir, LAST_USE, lockPath, MANIFEST, MARKER, TREE, type LayerKey } from './paths.js';
import { removeStoreTree } from './remove.js';
import { parseTime, xattrsOf } from './replay.js';
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
    if (!readMarker(store, key)) {
      await clearDeadTemps(algDir(store, STACK_ALG), { kinds: [LAYER_TEMP] });
      if (existsSync(entryDir(store, key))) removeStoreTree(entryDir(store, key)); // no marker: a leftover
      buildStack(store, key, keys, opaqueXattr, rootless);
    }
    return { key, plan: JSON.parse(readFileSync(join(entryDir(store, key), PLAN), 'utf8')) as OverlayPlan };
  } finally {
    await release();
  }
}

function buildStack(store: string, key: LayerKey, keys: LayerKey[], opaqueXattr: string, rootless: boolean): void {
  const all = keys.map((k) => readManifest(store, k));
  const from = visibleFrom(all, opaqueXattr);
  const manifests = all.slice(from);
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
  const plan: OverlayPlan = { layers: keys.slice(from), root: overrides.find((o) => o.p === '.') ?? null, entries, files, bytes };
  const tmp = createTempDirSync(algDir(store, STACK_ALG), LAYER_TEMP);
  try {
    const tree = join(tmp, TREE);
    mkdirSync(tree, { mode: 0o755 });
    applyOverrides(tree, overrides.filter((o) => o.p !== '.'), opaqueXattr, rootless);
    const manifest: LayerManifest = { version: 1, diffId: key.diffId, implicit: [], rootDeclared: false, entries: walkTree(tree) };
    const text = JSON.stringify(manifest);
    writeDurable(join(tmp, MANIFEST), text);
    writeDurable(join(tmp, PLAN), JSON.stringify(plan));
    writeDurable(join(tmp, LAST_USE), '');
    const marker: Marker = { diffId: key.diffId, digest: `sha256:${createHash('sha256').update(JSON.stringify(plan)).digest('hex')}`, manifestSha256: createHash('sha256').update(text).digest('hex'), created: new Date().toISOString() };
    writeDurable(join(tmp, MARKER), `${JSON.stringify(marker)}\n`);
    renameSync(tmp, entryDir(store, key));
  } catch (e) {
    try {
      removeStoreTree(tmp);
    } catch {
      /* keep the first error; the next builder clears it */
    }
    throw e;
  }
}

/** Create `overrides` (parents first) below `dir` with their recorded metadata; `.` sets dir's own. */
export function applyOverrides(dir: string, overrides: DirOverride[], opaqueXattr: string, rootless: boolean): void {
  const fs = RootFS.open(dir);
  try {
    for (const o of overrides) {
      if (o.w) {
        fs.mknod(o.p, 'char', 0, 0, 0);
        continue;
      }
      if (o.p !== '.') fs.mkdir(o.p, 0o700);
      const t = parseTime(o.t);
      fs.setMeta(o.p, { uid: o.u, gid: o.g, mode: o.m, atime: t, mtime: t, xattrs: xattrsOf({ p: o.p, k: 'dir', m: o.m, u: o.u, g: o.g, s: 0, t: o.t, ...(o.x ? { x: o.x } : {}) }, opaqueXattr), chown: !rootless });
    }
    // children made the parents' mtimes move: set them again, deepest first
    for (const o of [...overrides].reverse()) {
      if (o.w) continue;
      const t = parseTime(o.t);
      fs.setTimes(o.p, t, t);
    }
  } finally {
    fs.close();
  }
}
