// One layer's verified bytes -> tar parser -> a layer handler (the applier), with the error
// mapping every unpacker shares: a tampered blob is named as such (EDIGEST/ESIZE) even when
// it first breaks decompression or the tar (LayerStreams.fault), a full disk is ELIMIT,
// anything else ETAR.
import { OciBundleError } from '../errors.js';
import type { Descriptor } from '../image/index.js';
import type { LayerStreams } from './layer-stream.js';
import { TarParser, type TarHandler } from '../layer/tar.js';

/** A handler whose writes may still be queued when the tar ends (the applier's writer thread). */
type FlushingHandler = TarHandler & { flush?(): void };
import { step } from '../test-hooks.js';

/** Parse layer `i` of `streams` into `handler`; abort() on failure, naming a tampered blob. */
export async function applyLayerBytes(
  streams: LayerStreams,
  i: number,
  desc: Descriptor,
  handler: FlushingHandler,
  abort: () => void,
  signal: AbortSignal | undefined,
): Promise<void> {
  try {
    await parseInto(desc, streams.layer(i), handler, abort, signal);
  } catch (e) {
    // A tampered blob usually breaks decompression or the tar first: name the real fault.
    const tampered = signal?.aborted ? null : await streams.fault(i);
    throw tampered ? new OciBundleError(tampered.code, tampered.message, { cause: e }) : e;
  }
}

/** The applier yields to the event loop this often, so SIGINT/SIGTERM stop it at once. */
const YIELD_MS = 20;

async function parseInto(desc: Descriptor, source: AsyncIterable<Buffer>, handler: FlushingHandler, abort: () => void, signal: AbortSignal | undefined): Promise<void> {
  const parser = new TarParser(handler);
  const interrupted = () => new OciBundleError('EINTERRUPTED', 'unpack interrupted');
  try {
    let since = performance.now();
    for await (const chunk of source) {
      if (signal?.aborted) throw interrupted();
      if (!parser.finished) parser.write(chunk);
      // Queued chunks arrive as microtasks, which never let a signal handler run: give the
      // event loop a turn every few ms.
      if (performance.now() - since > YIELD_MS) {
        await new Promise((r) => setImmediate(r));
        if (signal?.aborted) throw interrupted();
        since = performance.now();
      }
    }
    parser.end();
    handler.flush?.();
  } catch (e) {
    abort();
    step('applier-stopped');
    if (e instanceof OciBundleError) throw e;
    const code = (e as { code?: string }).code;
    if (code === 'ENOSPC' || code === 'EDQUOT') throw new OciBundleError('ELIMIT', `layer ${desc.digest}: disk full`, { cause: e });
    throw new OciBundleError('ETAR', `layer ${desc.digest}: ${(e as Error).message}`, { cause: e });
  }
}
