// The addon's streaming decoders (gzip through ISA-L's igzip, zstd through libzstd) for
// layer bytes: availability (the library may be absent at build or run time, and
// OCIBUNDLE_NATIVE_DECODE=0 turns them off), a pull-style decoder for callers that own their
// output buffers (the layer worker's ring), and a Duplex stream with backpressure for the rest.
import { Duplex } from 'node:stream';
import { native, type NativeAddon, type NativeDecoderHandle } from '../fs/native.js';

export type NativeKind = 'gzip' | 'zstd';

let kinds: { gzip: boolean; zstd: boolean } | undefined;
let addon: NativeAddon | null = null;

/** Whether the addon decodes `kind` here (library loaded, not switched off by the environment). */
export function nativeDecodes(kind: NativeKind): boolean {
  if (process.env['OCIBUNDLE_NATIVE_DECODE'] === '0') return false;
  if (kinds === undefined) {
    try {
      addon = native();
      kinds = addon.decoders();
    } catch {
      kinds = { gzip: false, zstd: false }; // no addon: the node:zlib / zstd fallbacks
    }
  }
  return kinds[kind];
}

/** One stream's decoder; after run(), `taken` input bytes were consumed and `made` written. */
export class NativeDecoder {
  private readonly h: NativeDecoderHandle;
  private readonly res = new Uint32Array(2);
  private open = true;
  taken = 0;
  made = 0;

  constructor(kind: NativeKind) {
    if (!nativeDecodes(kind)) throw new Error(`no native ${kind} decoder`);
    this.h = addon!.decoderOpen(kind);
  }

  /** Decode input[inOff, +inLen) into out[outOff, +outLen); inLen 0 drains buffered output. */
  run(input: Buffer, inOff: number, inLen: number, out: Buffer, outOff: number, outLen: number): void {
    try {
      addon!.decoderRun(this.h, input, inOff, inLen, out, outOff, outLen, this.res);
    } catch (e) {
      this.open = false;
      throw e;
    }
    this.taken = this.res[0]!;
    this.made = this.res[1]!;
  }

  /** The input is over: throws unless the stream ended where it may (a whole member/frame). */
  end(): void {
    this.open = false;
    addon!.decoderEnd(this.h);
  }

  close(): void {
    if (!this.open) return;
    this.open = false;
    addon!.decoderClose(this.h);
  }
}

const EMPTY = Buffer.alloc(0);

/**
 * A decoding Duplex: compressed bytes in, `chunk`-sized output buffers out (the last one
 * shorter). Output waits for the reader (push() false stops decoding until _read), so a small
 * input that expands enormously never piles up. Errors are mapped by `mapError` and raised
 * when the input ends: the rest of the input is taken and dropped meanwhile, so a blob whose
 * digest is wrong (checked at its end) is named as such before its broken compression, as
 * with node:zlib, whose errors arrive a thread-pool round trip late.
 */
export function nativeDecodeStream(kind: NativeKind, chunk: number, mapError: (e: unknown) => Error): Duplex {
  return new NativeDecodeStream(new NativeDecoder(kind), chunk, mapError);
}

class NativeDecodeStream extends Duplex {
  private input: Buffer = EMPTY;
  private inOff = 0;
  private writeDone: ((e?: Error | null) => void) | null = null;
  private finalDone: ((e?: Error | null) => void) | null = null;
  private out: Buffer;
  private outPos = 0;
  private wanted = false;
  private pumping = false;
  private ended = false;
  /** The decode error, raised at _final; input until then is dropped. */
  private failed: Error | null = null;

  constructor(
    private readonly dec: NativeDecoder,
    private readonly chunk: number,
    private readonly mapError: (e: unknown) => Error,
  ) {
    super();
    this.out = Buffer.allocUnsafe(chunk);
  }

  override _write(data: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    if (this.failed !== null) return cb();
    this.input = data;
    this.inOff = 0;
    this.writeDone = cb;
    this.pump();
  }

  override _final(cb: (e?: Error | null) => void): void {
    if (this.failed !== null) return cb(this.failed);
    this.finalDone = cb;
    this.pump();
  }

  override _read(): void {
    this.wanted = true;
    this.pump();
  }

  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    this.dec.close();
    cb(err);
  }

  /** Push a full (or, at the end, partial) output buffer; false when the reader is full. */
  private pushOut(): boolean {
    const b = this.outPos === this.out.length ? this.out : this.out.subarray(0, this.outPos);
    this.out = Buffer.allocUnsafe(this.chunk);
    this.outPos = 0;
    return this.push(b);
  }

  private pump(): void {
    if (this.pumping || this.ended) return;
    this.pumping = true;
    try {
      while (this.wanted) {
        const draining = this.writeDone === null && this.finalDone !== null;
        if (this.writeDone === null && !draining) break; // wait for input
        const inLen = draining ? 0 : this.input.length - this.inOff;
        this.dec.run(this.input, this.inOff, inLen, this.out, this.outPos, this.out.length - this.outPos);
        this.inOff += this.dec.taken;
        this.outPos += this.dec.made;
        const full = this.outPos === this.out.length;
        if (full) this.wanted = this.pushOut();
        if (full) continue;
        if (!draining) {
          if (this.inOff < this.input.length) {
            if (this.dec.taken === 0 && this.dec.made === 0) throw new Error('decoder made no progress');
            continue;
          }
          // input used up (the output has room left): ask for the next chunk
          const cb = this.writeDone!;
          this.writeDone = null;
          this.input = EMPTY;
          this.inOff = 0;
          cb();
          continue;
        }
        this.dec.end();
        this.ended = true;
        if (this.outPos > 0) this.pushOut();
        this.push(null);
        const cb = this.finalDone!;
        this.finalDone = null;
        cb();
        break;
      }
    } catch (e) {
      this.ended = true;
      this.failed = this.mapError(e);
      const write = this.writeDone;
      const final = this.finalDone;
      this.writeDone = this.finalDone = null;
      this.input = EMPTY;
      if (final !== null) final(this.failed);
      else write?.();
    } finally {
      this.pumping = false;
    }
  }
}
