// All layers of one image in the store: the ones missing are extracted concurrently (each in
// its own worker thread when the image is a layout directory and big enough, bounded by the
// number of cores), the ones present are only touched. Returns the layers' keys in order.
import { mkdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { OciBundleError, type ErrorCode, ERROR_CODES, type WarnFn, type WarningCode } from '../errors.js';
import { DirStore, type ResolvedImage } from '../image/index.js';
import { clearDeadTemps } from '../host/temp.js';
import { workerEntry } from '../package-files.js';
import { LAYER_TEMP, readMarker, touchUse } from './entry.js';
import { ensureLayer, type ExtractJob } from './extract.js';
import { algDir, layerKey, type ExtractParams, type LayerKey } from './paths.js';
import type { StoreWorkerInput, StoreWorkerMessage } from './worker.js';

/** Below this much compressed data in the missing layers, a worker costs more than it saves. */
const WORKER_THRESHOLD = 4 * 1024 * 1024;

export interface EnsureOptions {
  params: ExtractParams;
  maxSize?: number;
  warn: WarnFn;
  signal?: AbortSignal;
  /** Force worker threads on or off (tests). */
  workers?: boolean;
  resolver?: 'openat2' | 'walk' | 'auto';
  onLayer?: (index: number, result: 'hit' | 'extracted') => void;
}

export async function ensureImageLayers(img: ResolvedImage, store: string, opts: EnsureOptions): Promise<LayerKey[]> {
  const keys = img.config.rootfs.diff_ids.map((d) => layerKey(d, opts.params));
  if (keys.length !== img.layers.length) throw new OciBundleError('ECONFIG', `the config lists ${keys.length} diff_ids for ${img.layers.length} layers`);
  for (const alg of new Set(keys.map((k) => k.alg))) {
    mkdirSync(algDir(store, alg), { recursive: true, mode: 0o700 });
    await clearDeadTemps(algDir(store, alg), { kinds: [LAYER_TEMP] }); // killed extractions
  }
  const missing: number[] = [];
  for (const [i, key] of keys.entries()) {
    const marker = readMarker(store, key);
    if (marker) {
      for (const w of marker.warnings ?? []) opts.warn(w);
      touchUse(store, key);
      opts.onLayer?.(i, 'hit');
    } else missing.push(i);
  }
  // one job per distinct layer (an image may repeat a layer)
  const seen = new Set<string>();
  const jobs = missing.filter((i) => !seen.has(keys[i]!.name) && seen.add(keys[i]!.name));
  const bytes = jobs.reduce((n, i) => n + img.layers[i]!.size, 0);
  const useWorkers = opts.workers ?? (img.layout.store instanceof DirStore && bytes >= WORKER_THRESHOLD);
  const width = Math.max(1, Math.min(availableParallelism(), jobs.length));
  let next = 0;
  let failed: unknown = null;
  const inner = new AbortController();
  const onAbort = () => inner.abort();
  opts.signal?.addEventListener('abort', onAbort);
  const lane = async () => {
    while (next < jobs.length && failed === null) {
      const i = jobs[next++]!;
      const job: ExtractJob = { store, key: keys[i]!, desc: img.layers[i]!, params: opts.params, ...(opts.maxSize === undefined ? {} : { maxSize: opts.maxSize }), ...(opts.resolver ? { resolver: opts.resolver } : {}) };
      try {
        const r = useWorkers ? await inWorker(img.layout.path, job, opts.warn, inner.signal) : await ensureLayer(img.layout, job, opts.warn, inner.signal);
        opts.onLayer?.(i, r);
      } catch (e) {
        failed ??= e;
        inner.abort(); // the other lanes stop too; what they made is removed by them
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: width }, lane));
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
  }
  if (failed !== null) {
    if (opts.signal?.aborted) throw new OciBundleError('EINTERRUPTED', 'unpack interrupted; nothing was left behind', { cause: failed });
    throw failed;
  }
  for (const i of missing) touchUse(store, keys[i]!);
  return keys;
}

function inWorker(layoutPath: string, job: ExtractJob, warn: WarnFn, signal: AbortSignal): Promise<'hit' | 'extracted'> {
  return new Promise((resolve, reject) => {
    const input: StoreWorkerInput = { layoutPath, job };
    const w = new Worker(workerEntry('store'), { workerData: input });
    let settled = false;
    const onAbort = () => w.postMessage({ t: 'abort' });
    signal.addEventListener('abort', onAbort);
    const settle = (f: () => void) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      f();
    };
    w.on('message', (m: StoreWorkerMessage) => {
      if (m.t === 'warn') warn({ code: m.code as WarningCode, message: m.message });
      else if (m.t === 'done') settle(() => resolve(m.result));
      else settle(() => reject(new OciBundleError((m.code in ERROR_CODES ? m.code : 'EIO') as ErrorCode, m.message)));
    });
    w.on('error', (e) => settle(() => reject(e)));
    w.on('exit', (code) => settle(() => reject(new OciBundleError('EIO', `store worker exited with status ${code} before finishing ${job.key.diffId}`))));
    if (signal.aborted) onAbort();
  });
}
