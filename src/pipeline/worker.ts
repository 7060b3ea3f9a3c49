// The layer-stream worker: for each layer in order, reads the blob (size and digest verified
// by src/image), decompresses it, hashes the result for the diff_id, and posts the bytes to
// the main thread, which only parses tar and writes files; when asked, it also hashes each
// file's content for the bundle's mtree (file-digests.ts). Runs ahead across layers within a
// credit window, so decompression of layer N+1 overlaps the writes of layer N. No disk writes.
import { createHash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { openBlob, openLayout, layerCompression } from '../image/index.js';
import { createDecompressor } from '../layer/decompress.js';
import { OciBundleError } from '../errors.js';
import { FileDigests } from './file-digests.js';
import { toWire, type FromWorker, type ToWorker, type WorkerInput } from './protocol.js';

const input = workerData as WorkerInput;
const port = parentPort!;
const ring = Buffer.from(input.ring);
let inFlight = 0; // ring bytes (data + wrap skips) not yet handed back
let writePos = 0;
let wake: (() => void) | null = null;

port.on('message', (m: ToWorker) => {
  if (m.t === 'credit') {
    inFlight -= m.bytes;
    const w = wake;
    wake = null;
    w?.();
  }
});

/** The largest piece posted at once: a quarter of the ring, so the ring never stalls. */
const MAX_PIECE = Math.max(4096, input.ring.byteLength >> 2);

function post(m: FromWorker): void {
  port.postMessage(m);
}

async function run(): Promise<void> {
  const layout = await openLayout(input.layoutPath);
  for (const [i, { descriptor, diffId }] of input.layers.entries()) {
    try {
      const alg = diffId.slice(0, diffId.indexOf(':'));
      const hash = createHash(alg);
      const files = input.hashFiles ? new FileDigests() : null;
      const blob = openBlob(layout, descriptor);
      let read = 0;
      blob.on('data', (b: Buffer) => (read += b.length));
      await pipeline(
        blob,
        createDecompressor(layerCompression(descriptor.mediaType), { label: descriptor.digest }),
        async (source: AsyncIterable<Buffer>) => {
          for await (const chunk of source) {
            hash.update(chunk);
            for (let off = 0; off < chunk.length; ) {
              const len = Math.min(chunk.length - off, MAX_PIECE);
              const wrap = writePos + len > ring.length;
              const skip = wrap ? ring.length - writePos : 0;
              while (inFlight + skip + len > ring.length) await new Promise<void>((r) => (wake = r));
              if (wrap) writePos = 0;
              chunk.copy(ring, writePos, off, off + len);
              const m: Extract<FromWorker, { t: 'chunk' }> = { t: 'chunk', layer: i, off: writePos, len, skip, read };
              if (files !== null) {
                files.feed(chunk.subarray(off, off + len));
                const done = files.take();
                if (done !== null) m.files = done;
              }
              post(m);
              inFlight += skip + len;
              writePos += len;
              off += len;
            }
          }
        },
      );
      const got = `${alg}:${hash.digest('hex')}`;
      if (got !== diffId) {
        throw new OciBundleError('EDIFFID', `layer ${descriptor.digest} has diff_id ${got}, but the config says ${diffId}`);
      }
      post({ t: 'end', layer: i });
    } catch (e) {
      post(toWire(i, e));
      return;
    }
  }
}

void run();
