// The files of a store entry besides its tree: the completion marker (read: is the entry
// complete?), the content manifest, the last-use stamp, and writing a new one of them.
// Small and free of the extraction machinery, so the overlay path loads only this.
import { closeSync, openSync, readFileSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Warning } from '../errors.js';
import type { LayerManifest } from './manifest.js';
import { entryDir, LAST_USE, MANIFEST, MARKER, type LayerKey } from './paths.js';

/** The temp kind of an entry being made (`.ocibundle-layer-PID-HEX.tmp` beside the entries). */
export const LAYER_TEMP = 'layer';

export interface Marker {
  diffId: string;
  digest: string;
  manifestSha256: string;
  created: string;
  /** The warnings the extraction gave, repeated to every later user of the entry. */
  warnings?: Warning[];
}

/** The entry's marker when the entry is complete (marker present and naming this diff_id). */
export function readMarker(store: string, key: LayerKey): Marker | null {
  try {
    const m = JSON.parse(readFileSync(join(entryDir(store, key), MARKER), 'utf8')) as Marker;
    return m.diffId === key.diffId ? m : null;
  } catch {
    return null;
  }
}

export function readManifest(store: string, key: LayerKey): LayerManifest {
  return JSON.parse(readFileSync(join(entryDir(store, key), MANIFEST), 'utf8')) as LayerManifest;
}

/** Record a use of the entry (`store ls` shows it; nothing depends on it). */
export function touchUse(store: string, key: LayerKey): void {
  const p = join(entryDir(store, key), LAST_USE);
  const now = new Date();
  try {
    utimesSync(p, now, now);
  } catch {
    try {
      writeFileSync(p, '');
    } catch {
      /* a read-only store still works */
    }
  }
}

/** A new file with `text` (exclusive create; durability comes from seal.ts's syncfs). */
export function writeNewFile(path: string, text: string): void {
  const fd = openSync(path, 'wx', 0o600);
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
}
