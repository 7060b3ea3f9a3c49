// A layer's blob digest and diff_id in one pass: two SHA-256 streams interleaved by the addon
// (SHA-NI runs two streams about 1.6x faster than one after the other), each blob chunk hashed
// together with the decompressed bytes that follow it. The blob side has the shape of a node
// Hash for src/image's verified reads, which still compare it at the blob's end. Only where
// the CPU has SHA-NI, for sha256 digests, and not with OCIBUNDLE_NATIVE_SHA256=0.
import { native, type NativeSha256Pair } from '../fs/native.js';

export class DigestPair {
  private readonly n = native();
  private readonly h: NativeSha256Pair;
  /** A blob chunk not hashed yet (valid until the blob's reader is asked for the next one). */
  private pending: Buffer | null = null;

  static available(): boolean {
    return process.env['OCIBUNDLE_NATIVE_SHA256'] !== '0' && native().sha256PairReady();
  }

  constructor() {
    this.h = this.n.sha256PairOpen();
  }

  /** The blob side: update() keeps the chunk for the next out(); digest() is the blob's sha256. */
  readonly blob = {
    update: (chunk: Buffer): void => {
      this.blobDone();
      this.pending = chunk;
    },
    digest: (_encoding: 'hex'): string => {
      this.blobDone();
      return this.n.sha256PairDigest(this.h, 0).toString('hex');
    },
  };

  /** Decompressed bytes buf[off, +len) (the diff_id side), hashed together with the pending blob chunk. */
  out(buf: Buffer, off: number, len: number): void {
    const p = this.pending;
    this.pending = null;
    this.n.sha256PairUpdate(this.h, p, 0, p?.length ?? 0, buf, off, len);
  }

  /** Hash the pending blob chunk alone: call before its reader may reuse the buffer. */
  blobDone(): void {
    const p = this.pending;
    if (p === null) return;
    this.pending = null;
    this.n.sha256PairUpdate(this.h, p, 0, p.length, null, 0, 0);
  }

  /** The sha256 (hex) of every byte given to out(). */
  diffId(): string {
    return this.n.sha256PairDigest(this.h, 1).toString('hex');
  }
}
