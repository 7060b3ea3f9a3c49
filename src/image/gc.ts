// Garbage collection of a layout: under the index lock, removes blobs not reachable from
// index.json and temp files older than a grace period. Refuses to delete anything if the
// reachability walk fails (a broken index must not cost the user their blobs).
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { parseIndexJson, type Layout } from './layout.js';
import { TMP_PREFIX } from './fsutil.js';
import { DirStore } from './store.js';
import { walkReachable } from './walk.js';

export interface GcOptions {
  /** Temp files younger than this are kept (a writer may still be using them); default 10 min. */
  tempMinAgeMs?: number;
}

export interface GcResult {
  removedBlobs: string[];
  removedTemps: string[];
}

export async function gcLayout(layout: Layout, opts: GcOptions = {}): Promise<GcResult> {
  const minAge = opts.tempMinAgeMs ?? 10 * 60 * 1000;
  const release = await layout.store.lock();
  try {
    const index = parseIndexJson(await layout.store.readIndex(), layout.path);
    const live = await walkReachable({ ...layout, index }, index.manifests);
    const removedBlobs: string[] = [];
    for (const d of await layout.store.listBlobs()) {
      if (live.has(d)) continue;
      await layout.store.removeBlob(d);
      removedBlobs.push(d);
    }
    const removedTemps: string[] = [];
    if (layout.store instanceof DirStore) {
      const now = Date.now();
      for (const name of await fsp.readdir(layout.path)) {
        if (!name.startsWith(TMP_PREFIX)) continue;
        const p = join(layout.path, name);
        const st = await fsp.lstat(p).catch(() => undefined);
        if (st && st.isFile() && now - st.mtimeMs > minAge) {
          await fsp.unlink(p).catch(() => undefined);
          removedTemps.push(name);
        }
      }
    }
    return { removedBlobs, removedTemps };
  } finally {
    await release();
  }
}
