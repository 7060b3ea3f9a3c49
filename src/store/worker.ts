// The store's extraction worker: one thread extracts one layer (read, verify, decompress,
// hash, write the tree and its manifest) so that the layers of an image go to disk in
// parallel. It reopens the layout by its path; warnings and the result go back as messages.
import { parentPort, workerData } from 'node:worker_threads';
import { OciBundleError } from '../errors.js';
import { openLayout } from '../image/index.js';
import { ensureLayer, type ExtractJob } from './extract.js';

export interface StoreWorkerInput {
  layoutPath: string;
  job: ExtractJob;
}

export type StoreWorkerMessage =
  | { t: 'warn'; code: string; message: string }
  | { t: 'done'; result: 'hit' | 'extracted' }
  | { t: 'error'; code: string; message: string };

const input = workerData as StoreWorkerInput;
const port = parentPort!;
const abort = new AbortController();
port.on('message', (m: { t: string }) => {
  if (m.t === 'abort') abort.abort();
});

async function run(): Promise<void> {
  try {
    const layout = await openLayout(input.layoutPath);
    const result = await ensureLayer(layout, input.job, (w) => port.postMessage({ t: 'warn', code: w.code, message: w.message } satisfies StoreWorkerMessage), abort.signal);
    port.postMessage({ t: 'done', result } satisfies StoreWorkerMessage);
  } catch (e) {
    port.postMessage({ t: 'error', code: e instanceof OciBundleError ? e.code : 'EIO', message: e instanceof Error ? e.message : String(e) } satisfies StoreWorkerMessage);
  }
}

void run().finally(() => port.close());
