// Verified blob reads: a stream of at most size+1 bytes, hashed as they pass, that fails
// with ESIZE (short or appended) or EDIGEST at the end; descriptors with embedded `data`
// are checked the same way. Also the JSON blob reader (size cap, parse, schema, rules).
import { Readable } from 'node:stream';
import { OciBundleError } from '../errors.js';
import { newHash, parseDigest } from './digest.js';
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
 * A stream of the blob's bytes. Emits an OciBundleError ('error') with ESIZE when the blob
 * is shorter or longer than descriptor.size, EDIGEST when the bytes do not hash to the
 * digest (checked after the last byte, before 'end'), ENOBLOB/EBLOBTYPE/EBADDIGEST when it
 * cannot be opened. Never reads more than size+1 bytes.
 */
export function openBlob(layout: Layout, descriptor: Descriptor): Readable {
  let algorithm, hex: string, size: number;
  try {
    ({ algorithm, hex } = parseDigest(descriptor.digest));
    checkSize(descriptor.size, `descriptor ${descriptor.digest}`);
    size = descriptor.size;
    if (descriptor.data !== undefined) return Readable.from([embeddedData(descriptor)], { objectMode: false });
  } catch (e) {
    return erroredStream(e);
  }
  const digest = descriptor.digest;
  const hash = newHash(algorithm);
  let raw: RawBlob | undefined;
  let got = 0;
  // one read is kept in flight while the previous chunk is hashed (I/O overlaps hashing);
  // reads stay sequential and never ask for more than size+1 bytes in total
  let pending: Promise<{ buf: Buffer; n: number }> | undefined;
  let inflight: Promise<unknown> = Promise.resolve();
  const startRead = () => {
    const want = Math.min(CHUNK, size + 1 - got);
    const buf = Buffer.allocUnsafe(want);
    const p = raw!.read(buf, want).then((n) => ({ buf, n }));
    inflight = p.catch(() => undefined);
    return p;
  };
  return new Readable({
    highWaterMark: CHUNK,
    construct(cb) {
      layout.store.openBlob(digest).then((r) => {
        raw = r;
        if (r.size !== size) cb(new OciBundleError('ESIZE', `blob ${digest} is ${r.size} bytes, descriptor says ${size}`));
        else cb();
      }, cb);
    },
    read() {
      const p = pending ?? startRead();
      pending = undefined;
      p.then(
        ({ buf, n }) => {
          if (this.destroyed) return;
          if (n === 0) {
            if (got !== size) return this.destroy(new OciBundleError('ESIZE', `blob ${digest} ended after ${got} bytes, descriptor says ${size}`));
            if (hash.digest('hex') !== hex) return this.destroy(new OciBundleError('EDIGEST', `blob ${digest} does not match its digest`));
            this.push(null);
            return;
          }
          got += n;
          if (got > size) return this.destroy(new OciBundleError('ESIZE', `blob ${digest} has bytes beyond the ${size} its descriptor says`));
          pending = startRead();
          pending.catch(() => undefined);
          const chunk = n === buf.length ? buf : buf.subarray(0, n);
          hash.update(chunk);
          this.push(chunk);
        },
        (e) => this.destroy(e instanceof OciBundleError ? e : new OciBundleError('EIO', `cannot read blob ${digest}`, { cause: e })),
      );
    },
    destroy(err, cb) {
      if (!raw) return cb(err);
      const r = raw;
      // never close the fd under a read still in flight (the number could be reused)
      inflight
        .then(() => r.close())
        .then(() => cb(err), () => cb(err));
    },
  });
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
