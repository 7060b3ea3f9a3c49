// Extracts one layer into the store, once: under the layer's lock, into a temporary directory
// beside the entry, in the overlay format (src/layer/apply.ts with format 'overlay'), with the
// blob's digest, size and diff_id verified as it streams; then the content manifest, then the
// completion marker, then one rename makes the entry visible. Anything without the marker is
// never used and is removed by the next extractor of that layer (or by `store gc`).
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { OciBundleError, type Warning, type WarnFn } from '../errors.js';
import { RootFS } from '../fs/rootfs.js';
import { DirStore, type Descriptor, type Layout, type ResolvedImage } from '../image/index.js';
import { acquireLock } from '../host/lock.js';
import { Applier } from '../layer/apply.js';
import { applyLayerBytes } from '../pipeline/apply-layer.js';
import { layerStreams, WORKER_THRESHOLD, type LayerStreams } from '../pipeline/layer-stream.js';
import { walkTree, type LayerManifest } from './manifest.js';
import { algDir, entryDir, LAST_USE, lockPath, MANIFEST, MARKER, TREE, type ExtractParams, type LayerKey } from './paths.js';
import { removeStoreTree } from './remove.js';
import { createTempDirSync } from '../host/temp.js';

/** The temp kind of an extraction in progress (`.ocibundle-layer-PID-HEX.tmp` beside the entries). */
export const LAYER_TEMP = 'layer';

export interface ExtractJob {
  store: string;
  key: LayerKey;
  desc: Descriptor;
  params: ExtractParams;
  maxSize?: number;
  /** Path resolver for the tree (tests); not part of the key: every resolver writes the same. */
  resolver?: 'openat2' | 'walk' | 'auto';
}

export interface Marker {
  diffId: string;
  digest: string;
  manifestSha256: string;
  created: string;
  /** The warnings the extraction gave, repeated to every later user of the entry. */
  warnings?: Warning[];
}

/** Waiting for another process's extraction of the same layer: as long as that takes. */
const LOCK_WAIT_MS = 3_600_000;

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

/** Make sure the layer is in the store; 'hit' when it already was. */
export async function ensureLayer(layout: Layout, job: ExtractJob, warn: WarnFn, signal?: AbortSignal): Promise<'hit' | 'extracted'> {
  if (readMarker(job.store, job.key)) return 'hit';
  const release = await acquireLock(lockPath(job.store, job.key), LOCK_WAIT_MS);
  try {
    if (readMarker(job.store, job.key)) return 'hit'; // another process extracted it meanwhile
    clearIncomplete(job.store, job.key);
    await extract(layout, job, warn, signal);
    return 'extracted';
  } finally {
    await release();
  }
}

/** Under the layer's lock: an entry without its marker is a leftover (dead runs' temps: ensure.ts). */
function clearIncomplete(store: string, key: LayerKey): void {
  const dir = entryDir(store, key);
  if (existsSync(dir)) removeStoreTree(dir);
}

async function extract(layout: Layout, job: ExtractJob, warn: WarnFn, signal: AbortSignal | undefined): Promise<void> {
  const { store, key, desc, params } = job;
  const given: Warning[] = [];
  const record: WarnFn = (w) => {
    given.push(w);
    warn(w);
  };
  const tmp = createTempDirSync(algDir(store, key.alg), LAYER_TEMP);
  try {
    const tree = join(tmp, TREE);
    mkdirSync(tree, { mode: 0o755 });
    const fs = RootFS.open(tree, job.resolver === undefined ? {} : { resolver: job.resolver });
    let implicit: string[];
    let rootDeclared: boolean;
    try {
      const applier = new Applier(fs, {
        format: 'overlay',
        opaqueXattr: params.opaqueXattr,
        rootless: params.rootless,
        uidMap: params.uidMap,
        gidMap: params.gidMap,
        keepDirlinks: params.keepDirlinks,
        diskPath: tmp,
        warn: record,
        ...(job.maxSize === undefined ? {} : { maxBytes: job.maxSize }),
      });
      const handler = applier.layer();
      const streams = layerBytes(layout, desc, key.diffId, signal);
      try {
        await applyLayerBytes(streams, 0, desc, handler, () => applier.abort(), signal);
      } finally {
        await streams.close();
      }
      applier.finish();
      implicit = [...applier.implicitDirs].sort();
      rootDeclared = applier.rootDeclared;
    } finally {
      fs.close();
    }
    const manifest: LayerManifest = { version: 1, diffId: key.diffId, implicit, rootDeclared, entries: walkTree(tree) };
    const text = JSON.stringify(manifest);
    writeDurable(join(tmp, MANIFEST), text);
    const marker: Marker = { diffId: key.diffId, digest: desc.digest, manifestSha256: createHash('sha256').update(text).digest('hex'), created: new Date().toISOString(), ...(given.length > 0 ? { warnings: given } : {}) };
    writeDurable(join(tmp, LAST_USE), '');
    writeDurable(join(tmp, MARKER), `${JSON.stringify(marker)}\n`);
    renameSync(tmp, entryDir(store, key));
  } catch (e) {
    try {
      removeStoreTree(tmp);
    } catch {
      /* keep the first error; the next extractor clears it */
    }
    if (signal?.aborted && !(e instanceof OciBundleError && e.code === 'EINTERRUPTED')) throw new OciBundleError('EINTERRUPTED', 'unpack interrupted', { cause: e });
    throw e;
  }
}

/**
 * The layer's verified bytes: from a decompression worker of its own when the layer is big
 * and in a layout directory (decompression then runs beside the writes, as in a flattened
 * unpack), else inline.
 */
function layerBytes(layout: Layout, desc: Descriptor, diffId: string, signal: AbortSignal | undefined): LayerStreams {
  const one = { layout, layers: [desc], config: { rootfs: { type: 'layers', diff_ids: [diffId] } } } as unknown as ResolvedImage;
  const worker = desc.size >= WORKER_THRESHOLD && layout.store instanceof DirStore;
  return layerStreams(one, { worker, ...(signal ? { signal } : {}) });
}

export function writeDurable(path: string, text: string): void {
  const fd = openSync(path, 'wx', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
