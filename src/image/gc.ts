// Garbage collection of a layout: under the index lock, removes blobs that neither index.json
// nor a live writer's pin reaches, pins and temp files (in the layout and in blobs/<alg>/, the
// latter by fd, never through a planted symlink) whose owner process is gone. Refuses
// to delete anything if the reachability walk fails (a broken index must not cost the user
// their blobs).
import { clearDeadTemps } from '../host/temp.js';
import { parseIndexJson, type Layout } from './layout.js';
import { livePins } from './pins.js';
import { DirStore } from './store.js';
import { walkReachable } from './walk.js';

export interface GcResult {
  removedBlobs: string[];
  /** Temp files and directories, and pins, whose owner process is gone. */
  removedTemps: string[];
}

export async function gcLayout(layout: Layout): Promise<GcResult> {
  const release = await layout.store.lock();
  try {
    const index = parseIndexJson(await layout.store.readIndex(), layout.path);
    const live = await walkReachable({ ...layout, index }, index.manifests);
    const removedTemps: string[] = [];
    if (layout.store instanceof DirStore) {
      const pins = await livePins(layout.store.root);
      for (const d of pins.digests) live.add(d);
      removedTemps.push(...pins.removed, ...(await clearDeadTemps(layout.store.root)), ...(await layout.store.clearBlobTemps()));
    }
    const removedBlobs: string[] = [];
    for (const d of await layout.store.listBlobs()) {
      if (live.has(d)) continue;
      await layout.store.removeBlob(d);
      removedBlobs.push(d);
    }
    return { removedBlobs, removedTemps };
  } finally {
    await release();
  }
}
