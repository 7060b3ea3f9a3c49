// The overlay plan of a layer stack: which layers the mount names (from the topmost opaque
// root up) and the upper-dir overrides (src/store/stack.ts), with entry counts for summaries.
// Computed once per stack from the layers' manifests and cached in STORE/stacks/, so a warm
// overlay bundle reads one small file instead of every manifest. Pure data plus that cache.
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { createTempFileSync } from '../host/temp.js';
import { readManifest, readMarker } from './extract.js';
import type { LayerKey } from './paths.js';
import { dirOverrides, visibleFrom, type DirOverride } from './stack.js';

export interface OverlayPlan {
  /** The layers to mount, lowest first. */
  layers: LayerKey[];
  overrides: DirOverride[];
  entries: number;
  files: number;
  bytes: number;
}

const STACKS = 'stacks';

function planPath(store: string, keys: LayerKey[], opaqueXattr: string): string {
  const id = createHash('sha256').update(JSON.stringify([keys.map((k) => `${k.alg}/${k.name}`), opaqueXattr])).digest('hex');
  return join(store, STACKS, `${id}.json`);
}

export function overlayPlan(store: string, keys: LayerKey[], opaqueXattr: string): OverlayPlan {
  const path = planPath(store, keys, opaqueXattr);
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as OverlayPlan;
  } catch {
    // not cached yet (or unreadable): compute
  }
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
  const plan: OverlayPlan = { layers: keys.slice(from), overrides: dirOverrides(manifests, opaqueXattr), entries, files, bytes };
  try {
    mkdirSync(join(store, STACKS), { recursive: true, mode: 0o700 });
    const { path: tmp, fd } = createTempFileSync(join(store, STACKS), 'plan', 0o600);
    try {
      writeSync(fd, JSON.stringify(plan));
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch {
    // a read-only store still mounts; the plan is computed again next time
  }
  return plan;
}

/** `store gc`: drop cached plans that name a layer no longer complete in the store. */
export function dropStalePlans(store: string): void {
  const dir = join(store, STACKS);
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    try {
      const plan = JSON.parse(readFileSync(p, 'utf8')) as OverlayPlan;
      if (plan.layers.every((k) => readMarker(store, k))) continue;
    } catch {
      // unreadable: drop it
    }
    rmSync(p, { force: true });
  }
}
