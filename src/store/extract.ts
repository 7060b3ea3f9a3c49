// Extracts one layer into the store, once: under the layer's lock, into a temporary directory
// beside the entry, in the overlay format (src/layer/apply.ts with format 'overlay'), with the
// blob's digest, size and diff_id verified as it streams; then the content manifest, then the
// completion marker, then one rename makes the entry visible. Anything without the marker is
// never used and is removed by the next extractor of that layer (or by `store gc`).
import { existsSync } from 'node:fs';
import { OciBundleError, type Warning, type WarnFn } from '../errors.js';
import { RootFS } from '../fs/rootfs.js';
import { DirStore, type Descriptor, type Layout, type ResolvedImage } from '../image/index.js';
import { acquireLock } from '../host/lock.js';
import { Applier } from '../layer/apply.js';
import { MtreeRecorder } from '../build/mtree-record.js';
import { applyLayerBytes } from '../pipeline/apply-layer.js';
import { layerStreams, WORKER_THRESHOLD, type LayerStreams } from '../pipeline/layer-stream.js';
import { entryDir, lockPath, type ExtractParams, type LayerKey } from './paths.js';
import { makeEntry } from './seal.js';
import { readMarker } from './entry.js';

import { removeStoreTree } from './remove.js';

export interface ExtractJob {
  store: string;
  key: LayerKey;
  desc: Descriptor;
  params: ExtractParams;
  maxSize?: number;
  /** Path resolver for the tree (tests); not part of the key: every resolver writes the same. */
  resolver?: 'openat2' | 'walk' | 'auto';
}

/** Waiting for another process's extraction of the same layer: as long as that takes. */
const LOCK_WAIT_MS = 3_600_000;

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
  try {
    await makeEntry(store, key, async (tree, tmp) => {
      const fs = RootFS.open(tree, job.resolver === undefined ? {} : { resolver: job.resolver });
      // file digests for the content manifest, taken where the applier writes each file
      const rec = new MtreeRecorder();
      try {
        const applier = new Applier(fs, {
          observer: rec,
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
        const model = rec.finish(fs);
        const digests = rec.lost === null ? (p: string, size: number) => { const e = model.get(p); return e?.type === 'file' && e.size === size ? e.sha256 : undefined; } : undefined;
        return { implicit: [...applier.implicitDirs].sort(), rootDeclared: applier.rootDeclared, digest: desc.digest, warnings: given, ...(digests ? { digests } : {}) };
      } finally {
        fs.close();
      }
    });
  } catch (e) {
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
