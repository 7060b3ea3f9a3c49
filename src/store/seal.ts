// Making a store entry, for every kind (a layer, a stack, a flat entry): a temporary directory
// beside the entries, TREE filled by the caller, then the content manifest, any extra files and
// the last-use stamp, one syncfs of the store's file system, and the marker naming the
// manifest's sha256 last; one rename publishes the entry. A failure removes the temporary
// directory.
import { createHash } from 'node:crypto';
import { mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { Warning } from '../errors.js';
import { createTempDirSync } from '../host/temp.js';
import { LAYER_TEMP, writeNewFile, type Marker } from './entry.js';
import { syncFileSystemOf } from '../host/durable.js';
import { step } from '../test-hooks.js';
import { walkTree, type LayerManifest } from './manifest.js';
import { algDir, entryDir, LAST_USE, MANIFEST, MARKER, TREE, type LayerKey } from './paths.js';
import { removeStoreTree } from './remove.js';

export interface Filled {
  /** Directories no entry declared (made as missing parents), sorted. */
  implicit: string[];
  rootDeclared: boolean;
  /** What the marker names as the source (a blob digest, or the entry's own id). */
  digest: string;
  warnings?: Warning[];
  /** More files of the entry: name -> text. */
  files?: Record<string, string>;
  /** Content digests the filler already has (path, size -> sha256), so the manifest need not read them. */
  digests?: (path: string, size: number) => string | undefined;
}

export async function makeEntry(store: string, key: LayerKey, fill: (tree: string, tmp: string) => Filled | Promise<Filled>): Promise<void> {
  const tmp = createTempDirSync(algDir(store, key.alg), LAYER_TEMP);
  try {
    const tree = join(tmp, TREE);
    mkdirSync(tree, { mode: 0o755 });
    const f = await fill(tree, tmp);
    const manifest: LayerManifest = { version: 1, diffId: key.diffId, implicit: f.implicit, rootDeclared: f.rootDeclared, entries: walkTree(tree, f.digests) };
    const text = JSON.stringify(manifest);
    writeNewFile(join(tmp, MANIFEST), text);
    for (const [name, body] of Object.entries(f.files ?? {})) writeNewFile(join(tmp, name), body);
    writeNewFile(join(tmp, LAST_USE), '');
    // Tree, manifest and files reach the disk before the marker exists: after a power loss an
    // entry is complete or has no valid marker (cleared and made again), never a marker over
    // files the kernel had not written yet (containerd's zero-byte-layer failure).
    syncFileSystemOf(tmp);
    step('store-synced');
    const marker: Marker = { diffId: key.diffId, digest: f.digest, manifestSha256: createHash('sha256').update(text).digest('hex'), created: new Date().toISOString(), ...(f.warnings && f.warnings.length > 0 ? { warnings: f.warnings } : {}) };
    writeNewFile(join(tmp, MARKER), `${JSON.stringify(marker)}\n`);
    renameSync(tmp, entryDir(store, key));
  } catch (e) {
    try {
      removeStoreTree(tmp);
    } catch {
      /* keep the first error; the next maker clears it */
    }
    throw e;
  }
}
