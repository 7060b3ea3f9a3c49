// Pins: a writer that puts blobs into a layout before any tag reaches them (copy) lists their
// digests in a pin file (`.ocibundle-pin-PID-RANDOM.tmp`), created under the index lock and
// flock-held for as long as the writer runs. gc, under the same lock, spares the digests of
// every held pin and removes the pins whose writer is gone. Knows nothing of what is copied.
import { constants as C, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { tryFlock } from '../host/lock.js';
import { ownerToken, tokenAlive } from '../host/owner.js';
import { createTempFile, parseTempName } from '../host/temp.js';
import { DirStore } from './store.js';
import type { Layout } from './layout.js';

const PIN_CAP = 64 * 1024 * 1024;

export interface Pin {
  /** Removes the pin; the digests may be collected from then on unless a tag reaches them. */
  release(): Promise<void>;
}

const NO_PIN: Pin = { release: async () => undefined };

/** Pins `digests` in the layout (under its lock); a no-op for stores that have no gc. */
export async function pinBlobs(layout: Layout, digests: Iterable<string>): Promise<Pin> {
  if (!(layout.store instanceof DirStore)) return NO_PIN;
  const root = layout.store.root;
  const unlock = await layout.store.lock();
  let path: string;
  let fh: fsp.FileHandle;
  try {
    ({ path, fh } = await createTempFile(root, 'pin', 0o600));
    try {
      tryFlock(fh.fd);
      await fh.writeFile(`${ownerToken()}\n${[...digests].join('\n')}\n`);
    } catch (e) {
      await fsp.unlink(path).catch(() => undefined);
      await fh.close();
      throw e;
    }
  } finally {
    await unlock();
  }
  return {
    release: async () => {
      await fsp.unlink(path).catch(() => undefined);
      await fh.close();
    },
  };
}

/**
 * The digests pinned by live writers; pins of writers gone are removed (returned as
 * `removed`). Call under the index lock. A pin path that is not a regular file is ignored.
 */
export async function livePins(root: string): Promise<{ digests: Set<string>; removed: string[] }> {
  const digests = new Set<string>();
  const removed: string[] = [];
  for (const name of await fsp.readdir(root)) {
    if (parseTempName(name)?.kind !== 'pin') continue;
    const p = join(root, name);
    let fh: fsp.FileHandle;
    try {
      fh = await fsp.open(p, C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK);
    } catch {
      continue;
    }
    try {
      const st = await fh.stat();
      if (!st.isFile() || st.size > PIN_CAP) continue;
      const text = (await fh.readFile()).toString('utf8');
      const lines = text.split('\n');
      const free = tryFlock(fh.fd);
      const dead = free ?? tokenAlive(lines[0] ?? '') === false;
      if (dead) {
        await fsp.unlink(p).catch(() => undefined);
        removed.push(name);
        continue;
      }
      for (const l of lines.slice(1)) if (l) digests.add(l);
    } catch {
      // unreadable: neither trusted nor removed
    } finally {
      await fh.close();
    }
  }
  return { digests, removed };
}
