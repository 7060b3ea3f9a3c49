// Verifying the diff_ids a converted or synthesised manifest asserts (docker-archive, Docker
// media types): a layer's bytes are decompressed and hashed beside the copy, and the result
// must equal the config's rootfs.diff_ids entry before the blob is put in place (EDIFFID).
// Knows nothing of destinations; copy.ts decides which layers need it.
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import type { Hash } from 'node:crypto';
import { OciBundleError } from '../errors.js';
import { isValidDigest, newHash, parseDigest } from '../image/digest.js';
import { layerCompression } from '../image/media-types.js';
import type { Descriptor } from '../image/types.js';
import { createDecompressor } from '../layer/decompress.js';

/** The diff_ids of a config document, checked: one valid digest per layer (EDIFFID otherwise). */
export function diffIdsOf(config: Record<string, unknown>, layers: number, where: string): string[] {
  const ids = (config['rootfs'] as { diff_ids?: unknown } | undefined)?.diff_ids;
  if (!Array.isArray(ids) || ids.length !== layers) {
    throw new OciBundleError('EDIFFID', `${where} lists ${Array.isArray(ids) ? ids.length : 'no'} diff_ids for ${layers} layers`);
  }
  return ids.map((d, i) => {
    if (typeof d !== 'string' || !isValidDigest(d)) throw new OciBundleError('EDIFFID', `${where}: diff_ids[${i}] is not a valid digest`);
    return d;
  });
}

/** One layer's diff_id check: pass its compressed bytes through tap(), then call check(). */
export class DiffIdCheck {
  private readonly dec;
  private readonly hash: Hash;
  private readonly done: Promise<void>;
  constructor(
    private readonly layer: Descriptor,
    private readonly expected: string,
  ) {
    this.hash = newHash(parseDigest(expected).algorithm);
    this.dec = createDecompressor(layerCompression(layer.mediaType), { label: layer.digest });
    this.dec.on('data', (c: Buffer) => this.hash.update(c));
    this.done = finished(this.dec);
    this.done.catch(() => undefined);
  }

  /** Yields the chunks unchanged while feeding them to the decompressor. */
  async *tap(chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    try {
      for await (const c of chunks) {
        if (!this.dec.write(c)) await once(this.dec, 'drain');
        yield c;
      }
    } catch (e) {
      this.dec.destroy();
      throw e;
    }
  }

  /** After the last chunk: EDIFFID unless the uncompressed bytes hash to the expected diff_id. */
  async check(): Promise<void> {
    this.dec.end();
    await this.done;
    const got = `${parseDigest(this.expected).algorithm}:${this.hash.digest('hex')}`;
    if (got !== this.expected) {
      throw new OciBundleError('EDIFFID', `layer ${this.layer.digest} uncompresses to ${got}, but the config's diff_id is ${this.expected}`);
    }
  }

  abort(): void {
    this.dec.destroy();
  }
}
