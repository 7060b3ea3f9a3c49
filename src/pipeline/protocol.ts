// The messages between the unpacker (main thread) and the layer-stream worker. Types and
// the error (de)serialisation only; shared by both sides.
import { OciBundleError, oneLine, toOciBundleError, type ErrorCode, ERROR_CODES } from '../errors.js';
import type { Descriptor } from '../image/index.js';

export interface WorkerInput {
  layoutPath: string;
  layers: { descriptor: Descriptor; diffId: string }[];
  /**
   * The ring the worker writes decompressed bytes into; the main thread reads them in place
   * and hands the space back with credit messages. Fixed memory, no per-chunk allocation.
   */
  ring: SharedArrayBuffer;
}

export type FromWorker =
  /**
   * `len` bytes at `off` in the ring; `skip` bytes before `off` were left unused (wrap);
   * `read`: bytes of the (compressed) layer blob read when this chunk came out (progress).
   */
  | { t: 'chunk'; layer: number; off: number; len: number; skip: number; read: number }
  | { t: 'end'; layer: number }
  | { t: 'error'; layer: number; code: string; message: string };

export type ToWorker = { t: 'credit'; bytes: number };

export function toWire(layer: number, e: unknown): FromWorker {
  // A system error (an unreadable blob) keeps its class; anything else uncoded is the tar's fault.
  const err = e instanceof OciBundleError ? e : toOciBundleError(e);
  const code = e instanceof OciBundleError || err.code !== 'EIO' ? err.code : 'ETAR';
  return { t: 'error', layer, code, message: oneLine(err).slice(err.code.length + 2) };
}

export function fromWire(m: { code: string; message: string }): OciBundleError {
  const code = (m.code in ERROR_CODES ? m.code : 'EIO') as ErrorCode;
  return new OciBundleError(code, m.message);
}
