// The sha256 of every regular file's content in a layer, computed beside decompression (in
// the layer worker) instead of on the main thread while the applier writes. Runs the same
// tar parser over the same bytes, so entry ordinals match the applier's. Never fails a layer:
// a tar the parser rejects stops the hashing (the main thread's parser reports the error).
import { createHash, hash as oneShot, type Hash } from 'node:crypto';
import { TarParser, type TarEntry, type TarHandler } from '../layer/tar.js';

/** Pairs [entry ordinal within the layer, hex sha256], flattened; empty files are left out. */
export type FileDigestList = (number | string)[];

export class FileDigests implements TarHandler {
  private readonly parser = new TarParser(this);
  private ordinal = -1;
  private hash: Hash | null = null;
  /** Content bytes of the current file not seen yet (0: not a file with content). */
  private left = 0;
  private out: FileDigestList = [];
  private broken = false;

  onEntry(e: TarEntry): void {
    this.ordinal++;
    this.hash = null;
    this.left = e.type === 'file' ? e.size : 0;
  }

  onData(chunk: Buffer): void {
    if (this.left === 0) return;
    this.left -= chunk.length;
    // A file in one piece (most small files): a one-shot digest, no Hash object to collect.
    if (this.hash === null && this.left === 0) this.out.push(this.ordinal, oneShot('sha256', chunk, 'hex'));
    else (this.hash ??= createHash('sha256')).update(chunk);
  }

  onEntryEnd(): void {
    if (this.hash === null) return;
    this.out.push(this.ordinal, this.hash.digest('hex'));
    this.hash = null;
  }

  /** The next bytes of the layer's tar stream, in order (any chunking). */
  feed(chunk: Buffer): void {
    if (this.broken || this.parser.finished) return;
    try {
      this.parser.write(chunk);
    } catch {
      this.broken = true;
    }
  }

  /** The digests of the files completed since the last take(). */
  take(): FileDigestList | null {
    if (this.out.length === 0) return null;
    const list = this.out;
    this.out = [];
    return list;
  }
}
