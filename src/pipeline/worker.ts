// The layer-stream worker: for each layer in order, reads the blob (size and digest verified
// by src/image), decompresses it (the addon's decoders write straight into the shared ring;
// node:zlib and the zstd fallbacks are streams whose output is copied in), hashes the result
// for the diff_id, and posts the bytes to the main thread, which parses tar and writes files
// (hashing each file's content for the mtree where it writes it). Runs ahead across layers
// within a credit window, so decompression of layer N+1 overlaps the writes of layer N. No
// disk writes.
import { createHash, type Hash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { blobChunks, openBlob, openLayout, layerCompression } from '../image/index.js';
import { compressError, createDecompressor } from '../layer/decompress.js';
import { NativeDecoder, nativeDecodes } from '../layer/native-decode.js';
import { OciBundleError } from '../errors.js';
import { DigestPair } from './digest-pair.js';
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

/** Wait until the worker may write `skip + len` more bytes into the ring. */
async function room(skip: number, len: number): Promise<void> {
  while (inFlight + skip + len > ring.length) await new Promise<void>((r) => (wake = r));
}

/** One layer's decompressed bytes on their way out: diff_id hash, ring messages. */
class LayerOut {
  read = 0;
  /** `hash`: the diff_id's, or null when the decoder hashes as it writes (DigestPair). */
  constructor(
    private readonly layer: number,
    private readonly hash: Hash | null,
  ) {}

  /** Post ring[off, off+len) (already written), `skip` bytes before it left unused. */
  post(off: number, len: number, skip: number): void {
    this.hash?.update(ring.subarray(off, off + len));
    post({ t: 'chunk', layer: this.layer, off, len, skip, read: this.read });
    inFlight += skip + len;
    writePos = off + len;
  }

  /** A decompressed chunk from a stream decoder: copied into the ring piece by piece. */
  async copy(chunk: Buffer): Promise<void> {
    for (let off = 0; off < chunk.length; ) {
      const len = Math.min(chunk.length - off, MAX_PIECE);
      const wrap = writePos + len > ring.length;
      const skip = wrap ? ring.length - writePos : 0;
      await room(skip, len);
      const at = wrap ? 0 : writePos;
      chunk.copy(ring, at, off, off + len);
      this.post(at, len, skip);
      off += len;
    }
  }
}

const EMPTY = Buffer.alloc(0);

/**
 * The addon decodes `blob` straight into ring pieces of MAX_PIECE bytes, posted when full;
 * with a DigestPair, the decompressed bytes are hashed as they come out, beside the blob's.
 * Each input chunk is used up (the decoder copies what it keeps) before the next is asked
 * for, so the blob is read through blobChunks()' two reused buffers.
 */
async function decodeNative(blob: AsyncIterable<Buffer>, kind: 'gzip' | 'zstd', label: string, out: LayerOut, pair: DigestPair | null): Promise<void> {
  const dec = new NativeDecoder(kind);
  let at = -1; // the open piece's offset in the ring, or -1
  let skip = 0;
  let filled = 0;
  const open = async () => {
    const wrap = writePos + MAX_PIECE > ring.length;
    skip = wrap ? ring.length - writePos : 0;
    await room(skip, MAX_PIECE);
    at = wrap ? 0 : writePos;
    filled = 0;
  };
  const flush = () => {
    if (at >= 0 && filled > 0) out.post(at, filled, skip);
    at = -1;
  };
  /** Decode input[off..] (empty: drain) until it is used up and the piece has room left. */
  const feed = async (input: Buffer) => {
    let off = 0;
    for (;;) {
      if (at < 0) await open();
      try {
        dec.run(input, off, input.length - off, ring, at + filled, MAX_PIECE - filled);
      } catch (e) {
        throw compressError(kind, label, e);
      }
      off += dec.taken;
      if (pair !== null && dec.made > 0) pair.out(ring, at + filled, dec.made);
      filled += dec.made;
      if (filled === MAX_PIECE) flush();
      else if (off === input.length) return;
      else if (dec.taken === 0 && dec.made === 0) throw compressError(kind, label, new Error('decoder made no progress'));
    }
  };
  try {
    for await (const chunk of blob) {
      out.read += chunk.length;
      await feed(chunk);
      pair?.blobDone(); // before the reader reuses the chunk's buffer
    }
    await feed(EMPTY);
    try {
      dec.end();
    } catch (e) {
      throw compressError(kind, label, e);
    }
    flush();
  } finally {
    dec.close();
  }
}

async function run(): Promise<void> {
  const layout = await openLayout(input.layoutPath);
  for (const [i, { descriptor, diffId }] of input.layers.entries()) {
    try {
      const alg = diffId.slice(0, diffId.indexOf(':'));
      const compression = layerCompression(descriptor.mediaType);
      const native = compression !== 'none' && nativeDecodes(compression);
      // blob digest and diff_id in one interleaved pass where both are sha256 and the CPU can
      const pair = native && alg === 'sha256' && descriptor.digest.startsWith('sha256:') && DigestPair.available() ? new DigestPair() : null;
      const hash = pair === null ? createHash(alg) : null;
      const out = new LayerOut(i, hash);
      if (compression === 'none') {
        // copied into the ring before the next chunk is read: two reused read buffers
        for await (const chunk of blobChunks(layout, descriptor)) {
          out.read += chunk.length;
          await out.copy(chunk);
        }
      } else if (native) {
        await decodeNative(blobChunks(layout, descriptor, pair?.blob), compression, descriptor.digest, out, pair);
      } else {
        const blob = openBlob(layout, descriptor);
        blob.on('data', (b: Buffer) => (out.read += b.length));
        await pipeline(blob, createDecompressor(compression, { label: descriptor.digest }), async (source: AsyncIterable<Buffer>) => {
          for await (const chunk of source) await out.copy(chunk);
        });
      }
      const got = `${alg}:${hash === null ? pair!.diffId() : hash.digest('hex')}`;
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
