// Verified blob reads: a stream of at most size+1 bytes, hashed as they pass, that fails
// with ESIZE (short or appended) or EDIGEST at the end; descriptors with embedded `data`
// are checked the same way. Also the JSON blob reader (size cap, parse, schema, rules).
import { Readable } from 'node:stream';
import { OciBundleError } from '../errors.js';
import { newHash, parseDigest, type DigestAlgorithm } from './digest.js';
import { checkDocument, checkSize } from './checks.js';
import { parseJsonCapped } from './json.js';
import { validateSchema, type DocKind } from './schema.js';
import type { Layout } from './layout.js';
import type { RawBlob } from './store.js';
import type { Descriptor } from './types.js';

export const CHUNK = 256 * 1024;
export const JSON_CAP = 4 * 1024 * 1024;

function erroredStream(e: unknown): Readable {
  const r = new Readable({ read() {} });
  process.nextTick(() => r.destroy(e as Error));
  return r;
}

/** Checks embedded descriptor data against size and digest; returns the bytes. */
export function embeddedData(desc: Descriptor): Buffer {
  const { algorithm, hex } = parseDigest(desc.digest, `digest of ${desc.mediaType}`);
  const buf = Buffer.from(desc.data ?? '', 'base64');
  if (buf.length !== desc.size) throw new OciBundleError('ESIZE', `embedded data of ${desc.digest} is ${buf.length} bytes, descriptor says ${desc.size}`);
  if (newHash(algorithm).update(buf).digest('hex') !== hex) throw new OciBundleError('EDIGEST', `embedded data of ${desc.digest} does not match its digest`);
  return buf;
}

/**
 * What computes a blob's digest as its bytes are read (node's Hash by default): each chunk is
 * given to update() before the reader yields it, and digest('hex') is compared at the end.
 */
export interface BlobHasher {
  update(chunk: Buffer): unknown;
  digest(encoding: 'hex'): string;
}

/** One blob's verified reading: size checked at open, every byte counted and hashed, ESIZE/EDIGEST at the end. */
class VerifiedBytes {
  private got = 0;
  private inflight: Promise<unknown> = Promise.resolve();
  private readonly hash: BlobHasher;
  private constructor(
    private readonly raw: RawBlob,
    private readonly digest: string,
    private readonly size: number,
    algorithm: DigestAlgorithm,
    private readonly hex: string,
    hasher: BlobHasher | undefined,
  ) {
    this.hash = hasher ?? newHash(algorithm);
  }

  /** Opens the blob named by a parsed descriptor (ESIZE when the stored size differs). */
  static async open(layout: Layout, digest: string, size: number, algorithm: DigestAlgorithm, hex: string, hasher?: BlobHasher): Promise<VerifiedBytes> {
    const raw = await layout.store.openBlob(digest);
    const v = new VerifiedBytes(raw, digest, size, algorithm, hex, hasher);
    if (raw.size !== size) {
      await v.close();
      throw new OciBundleError('ESIZE', `blob ${digest} is ${raw.size} bytes, descriptor says ${size}`);
    }
    return v;
  }

  /** A buffer length for this blob's reads: CHUNK, or less for a small blob. */
  get chunkLength(): number {
    return Math.min(CHUNK, this.size + 1);
  }

  /** Reads the next bytes into buf (never past size+1 in all); one read at a time. */
  read(buf: Buffer): Promise<number> {
    const want = Math.min(buf.length, this.size + 1 - this.got);
    const p = this.raw.read(buf, want).catch((e: unknown) => {
      throw e instanceof OciBundleError ? e : new OciBundleError('EIO', `cannot read blob ${this.digest}`, { cause: e });
    });
    this.inflight = p.catch(() => undefined);
    return p;
  }

  /** Counts n bytes just read (ESIZE past the size); 0 is the end, checked (ESIZE, EDIGEST). */
  advance(n: number): void {
    if (n === 0) {
      if (this.got !== this.size) throw new OciBundleError('ESIZE', `blob ${this.digest} ended after ${this.got} bytes, descriptor says ${this.size}`);
      if (this.hash.digest('hex') !== this.hex) throw new OciBundleError('EDIGEST', `blob ${this.digest} does not match its digest`);
      return;
    }
    this.got += n;
    if (this.got > this.size) throw new OciBundleError('ESIZE', `blob ${this.digest} has bytes beyond the ${this.size} its descriptor says`);
  }

  update(chunk: Buffer): void {
    this.hash.update(chunk);
  }

  /** Closes the blob once no read is in flight (its fd number could be reused under it). */
  close(): Promise<void> {
    return this.inflight.then(() => this.raw.close());
  }
}

/** Digest, size and embedded data of a descriptor, checked; `data` set when it is embedded. */
function parseBlobDescriptor(descriptor: Descriptor): { algorithm: DigestAlgorithm; hex: string; size: number; data?: Buffer } {
  const { algorithm, hex } = parseDigest(descriptor.digest);
  checkSize(descriptor.size, `descriptor ${descriptor.digest}`);
  return descriptor.data !== undefined ? { algorithm, hex, size: descriptor.size, data: embeddedData(descriptor) } : { algorithm, hex, size: descriptor.size };
}

/**
 * A stream of the blob's bytes. Emits an OciBundleError ('error') with ESIZE when the blob
 * is shorter or longer than descriptor.size, EDIGEST when the bytes do not hash to the
 * digest (checked after the last byte, before 'end'), ENOBLOB/EBLOBTYPE/EBADDIGEST when it
 * cannot be opened. Never reads more than size+1 bytes. Every chunk is a buffer of its own
 * (consumers may keep it); blobChunks() reuses two buffers for consumers that do not.
 */
export function openBlob(layout: Layout, descriptor: Descriptor): Readable {
  let d;
  try {
    d = parseBlobDescriptor(descriptor);
    if (d.data !== undefined) return Readable.from([d.data], { objectMode: false });
  } catch (e) {
    return erroredStream(e);
  }
  const { algorithm, hex, size } = d;
  let v: VerifiedBytes | undefined;
  // one read is kept in flight while the previous chunk is hashed (I/O overlaps hashing);
  // reads stay sequential and never ask for more than size+1 bytes in total
  let pending: Promise<{ buf: Buffer; n: number }> | undefined;
  const startRead = () => {
    const buf = Buffer.allocUnsafe(v!.chunkLength);
    return v!.read(buf).then((n) => ({ buf, n }));
  };
  return new Readable({
    highWaterMark: CHUNK,
    construct(cb) {
      VerifiedBytes.open(layout, descriptor.digest, size, algorithm, hex).then((r) => {
        v = r;
        cb();
      }, cb);
    },
    read() {
      const p = pending ?? startRead();
      pending = undefined;
      p.then(
        ({ buf, n }) => {
          if (this.destroyed) return;
          try {
            v!.advance(n);
          } catch (e) {
            return this.destroy(e as Error);
          }
          if (n === 0) return void this.push(null);
          pending = startRead();
          pending.catch(() => undefined);
          const chunk = n === buf.length ? buf : buf.subarray(0, n);
          v!.update(chunk);
          this.push(chunk);
        },
        (e: Error) => this.destroy(e),
      );
    },
    destroy(err, cb) {
      if (!v) return cb(err);
      v.close().then(() => cb(err), () => cb(err));
    },
  });
}

/**
 * The blob's verified bytes as openBlob() gives them (same checks, same errors, thrown from
 * the loop), read into two buffers used in turn: a chunk is valid only until the loop asks
 * for the next one (the read of the one after goes into the other buffer meanwhile). For
 * consumers that are done with each chunk by then, such as a decoder that copies its input
 * out (the layer worker): memory stays at two buffers however large the blob. `hasher`, for
 * the descriptor's algorithm, replaces node's (the worker's two-stream SHA-256): it must have
 * hashed each chunk before the next one is asked for (the read after that reuses its buffer).
 */
export async function* blobChunks(layout: Layout, descriptor: Descriptor, hasher?: BlobHasher): AsyncGenerator<Buffer, void, undefined> {
  const { algorithm, hex, size, data } = parseBlobDescriptor(descriptor);
  if (data !== undefined) {
    yield data;
    return;
  }
  const v = await VerifiedBytes.open(layout, descriptor.digest, size, algorithm, hex, hasher);
  try {
    const bufs = [Buffer.allocUnsafe(v.chunkLength), Buffer.allocUnsafe(v.chunkLength)] as const;
    let turn = 0;
    let next = v.read(bufs[0]);
    for (;;) {
      const n = await next;
      v.advance(n);
      if (n === 0) return;
      const buf = bufs[turn]!;
      turn ^= 1;
      next = v.read(bufs[turn]!);
      next.catch(() => undefined);
      const chunk = n === buf.length ? buf : buf.subarray(0, n);
      v.update(chunk);
      yield chunk;
    }
  } finally {
    await v.close();
  }
}

/** Reads a whole blob, verified, into memory (up to `cap` bytes, ELIMIT beyond, checked first). */
export async function readBlob(layout: Layout, desc: Descriptor, cap = JSON_CAP): Promise<Buffer> {
  checkSize(desc.size, `descriptor ${desc.digest}`);
  if (desc.size > cap) throw new OciBundleError('ELIMIT', `blob ${desc.digest} is ${desc.size} bytes, over the ${cap}-byte limit for json`);
  const parts: Buffer[] = [];
  for await (const c of openBlob(layout, desc)) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

export interface JsonReadOptions {
  /** Maximum size of a JSON blob; default 4 MiB. */
  maxJsonBytes?: number;
}

/** Reads, verifies, parses and validates a JSON blob of the given kind. */
export async function readJsonBlob<T>(layout: Layout, desc: Descriptor, kind: DocKind, opts: JsonReadOptions = {}): Promise<T> {
  const bytes = await readBlob(layout, desc, opts.maxJsonBytes ?? JSON_CAP);
  const doc = parseJsonCapped(bytes, `${kind} ${desc.digest}`, { code: 'ESCHEMA' });
  checkDocument(kind, doc, desc.digest, desc.mediaType);
  await validateSchema(kind, doc, desc.digest);
  return doc as T;
}
