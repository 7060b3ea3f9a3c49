// Where the unpacker gets each layer's decompressed, verified bytes from: a worker thread for
// images big enough to pay for its start-up (decompression and hashing run beside the file
// writes), or the same steps inline for small ones. Either way: chunks in order, and the
// layer's blob digest, size and diff_id checked before its end is reported.
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Worker } from 'node:worker_threads';
import { OciBundleError } from '../errors.js';
import { workerEntry } from '../package-files.js';
import { workerThreads } from '../host/lazy-builtins.js';
import { DirStore, openBlob, layerCompression, type ResolvedImage } from '../image/index.js';
import { createDecompressor } from '../layer/decompress.js';
import { fromWire, type FromWorker, type WorkerInput } from './protocol.js';

/** Per-layer byte sources: call `layer(i)` for i = 0, 1, ... in order, then `close()`. */
export interface LayerStreams {
  layer(i: number): AsyncIterable<Buffer>;
  /**
   * After layer i failed: EDIGEST/ESIZE when its blob does not match its descriptor (the real
   * fault behind a broken gzip or tar), else null. Inline streams finish reading the blob they
   * had open (a registry body is not fetched again); worker streams re-read the local file.
   */
  fault(i: number): Promise<OciBundleError | null>;
  close(): Promise<void>;
}

export interface LayerStreamOptions {
  worker?: boolean;
  signal?: AbortSignal;
  /** After each chunk is consumed: bytes of layer `layer`'s blob read to produce it (progress). */
  onRead?: (layer: number, bytes: number) => void;
}

function blobFaultOf(e: unknown): OciBundleError | null {
  return e instanceof OciBundleError && (e.code === 'EDIGEST' || e.code === 'ESIZE') ? e : null;
}

/** Reads what is left of a verified blob stream; its size/digest error, if any. */
async function finishBlob(blob: Readable): Promise<OciBundleError | null> {
  try {
    for await (const _ of blob) void _;
    return null;
  } catch (e) {
    return blobFaultOf(e);
  }
}

/** Below this much compressed data, a worker's start-up (~30 ms) costs more than it saves. */
export const WORKER_THRESHOLD = 4 * 1024 * 1024;
/** The worker's output ring: bounds the decompressed bytes in flight. */
const RING_BYTES = 8 * 1024 * 1024;

export function layerStreams(img: ResolvedImage, opts: LayerStreamOptions = {}): LayerStreams {
  const total = img.layers.reduce((n, l) => n + l.size, 0);
  // The worker reopens the layout by its directory path, so other stores (archives,
  // registries) stream inline.
  const useWorker = opts.worker ?? (total >= WORKER_THRESHOLD && img.layout.store instanceof DirStore);
  const onRead = opts.onRead ?? (() => {});
  return useWorker ? new WorkerStreams(img, opts.signal, onRead) : new InlineStreams(img, opts.signal, onRead);
}

class InlineStreams implements LayerStreams {
  private readonly faults = new Map<number, Promise<OciBundleError | null>>();
  constructor(
    private readonly img: ResolvedImage,
    private readonly signal: AbortSignal | undefined,
    private readonly onRead: (layer: number, bytes: number) => void,
  ) {}

  async *layer(i: number): AsyncIterable<Buffer> {
    const desc = this.img.layers[i]!;
    const diffId = this.img.config.rootfs.diff_ids[i]!;
    const alg = diffId.slice(0, diffId.indexOf(':'));
    const hash = createHash(alg);
    const blob = openBlob(this.img.layout, desc);
    const source = createDecompressor(layerCompression(desc.mediaType), { label: desc.digest });
    let blobEnded = false;
    let blobError: unknown;
    blob.once('end', () => (blobEnded = true));
    // The blob's size/digest error (raised at its end) must fail the decompressed stream too.
    blob.on('error', (e) => {
      blobError = e;
      source.destroy(e);
    });
    const onAbort = () => blob.destroy(new OciBundleError('EINTERRUPTED', 'unpack interrupted'));
    this.signal?.addEventListener('abort', onAbort);
    let ok = false;
    let read = 0;
    blob.on('data', (b: Buffer) => (read += b.length));
    try {
      blob.pipe(source);
      for await (const chunk of source as AsyncIterable<Buffer>) {
        hash.update(chunk);
        yield chunk;
        this.onRead(i, read);
      }
      ok = true;
    } finally {
      const done = () => {
        this.signal?.removeEventListener('abort', onAbort);
        blob.destroy();
      };
      if (ok || blobEnded || blobError !== undefined || this.signal?.aborted) {
        this.faults.set(i, Promise.resolve(blobFaultOf(blobError)));
        done();
      } else {
        // the gzip or tar broke first: the rest of the open blob still tells whether its bytes are wrong
        blob.unpipe(source);
        source.destroy();
        this.faults.set(i, finishBlob(blob).finally(done));
      }
    }
    const got = `${alg}:${hash.digest('hex')}`;
    if (got !== diffId) throw new OciBundleError('EDIFFID', `layer ${desc.digest} has diff_id ${got}, but the config says ${diffId}`);
  }

  fault(i: number): Promise<OciBundleError | null> {
    return this.faults.get(i) ?? Promise.resolve(null);
  }

  async close(): Promise<void> {}
}

class WorkerStreams implements LayerStreams {
  private readonly worker: Worker;
  private readonly queues: FromWorker[][] = [];
  private wake: (() => void) | null = null;
  private fatal: unknown = null;
  private closed = false;
  private readonly ring = new SharedArrayBuffer(RING_BYTES);

  constructor(
    private readonly img: ResolvedImage,
    signal: AbortSignal | undefined,
    private readonly onRead: (layer: number, bytes: number) => void,
  ) {
    const input: WorkerInput = {
      layoutPath: img.layout.path,
      layers: img.layers.map((descriptor, i) => ({ descriptor, diffId: img.config.rootfs.diff_ids[i]! })),
      ring: this.ring,
    };
    // A small young generation: the worker's garbage is zlib output it has already copied.
    this.worker = new (workerThreads().Worker)(workerEntry('pipeline'), { workerData: input, resourceLimits: { maxYoungGenerationSizeMb: 8 } });
    this.worker.on('message', (m: FromWorker) => {
      (this.queues[m.layer] ??= []).push(m);
      this.poke();
    });
    this.worker.on('error', (e) => {
      this.fatal = e;
      this.poke();
    });
    this.worker.on('exit', (code) => {
      if (!this.closed && code !== 0) this.fatal ??= new OciBundleError('EIO', `layer worker exited with status ${code}`);
      this.poke();
    });
    signal?.addEventListener('abort', () => {
      this.fatal ??= new OciBundleError('EINTERRUPTED', 'unpack interrupted');
      this.poke();
    });
  }

  private poke(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  async *layer(i: number): AsyncIterable<Buffer> {
    const q = (this.queues[i] ??= []);
    while (true) {
      // An abort or a dead worker wins over chunks already queued (the worker runs ahead).
      if (this.fatal) throw this.fatal;
      const m = q.shift();
      if (m === undefined) {
        await new Promise<void>((r) => (this.wake = r));
        continue;
      }
      if (m.t === 'end') return;
      if (m.t === 'error') throw fromWire(m);
      // The view is valid until credit returns its space; the consumer uses it synchronously.
      yield Buffer.from(this.ring, m.off, m.len);
      this.worker.postMessage({ t: 'credit', bytes: m.skip + m.len });
      this.onRead(i, m.read);
    }
  }

  fault(i: number): Promise<OciBundleError | null> {
    return finishBlob(openBlob(this.img.layout, this.img.layers[i]!));
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.worker.terminate();
  }
}
