// Making a store entry, for every kind (a layer, a stack, a flat entry): a temporary directory
// beside the entries, TREE filled by the caller, then the content manifest, any extra files,
// the last-use stamp and the marker naming the manifest's sha256, each fsynced, marker last;
// one rename publishes the entry. A failure removes the temporary directory.
import { createHash } from 'node:crypto';
import { mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { Warning } from '../errors.js';
import { createTempDirSync } from '../host/temp.js';
import { LAYER_TEMP, writeDurable, type Marker } from './entry.js';
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
    writeDurable(join(tmp, MANIFEST), text);
    for (const [name, body] of Object.entries(f.files ?? {})) writeDurable(join(tmp, name), body);
    writeDurable(join(tmp, LAST_USE), '');
    const marker: Marker = { diffId: key.diffId, digest: f.digest, manifestSha256: createHash('sha256').update(text).digest('hex'), created: new Date().toISOString(), ...(f.warnings && f.warnings.length > 0 ? { warnings: f.warnings } : {}) };
    writeDurable(join(tmp, MARKER), `${JSON.stringify(marker)}\n`);
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
