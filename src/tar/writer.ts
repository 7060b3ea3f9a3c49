// A streaming tar writer over encodeHeader: entries in the caller's order, file data checked
// against the declared size (a file that grew or shrank while it was read is an error, never
// a silently short or padded entry), block padding, and the trailer. Output goes to an async
// sink, so a slow consumer (compressor, blob file) applies back-pressure.
import { OciBundleError } from '../errors.js';
import { encodeHeader, padding, trailer, type WriteEntry } from './header.js';

export type Sink = (chunk: Buffer) => Promise<void> | void;

export class TarWriter {
  private done = false;
  /** Bytes written so far (headers, data, padding). */
  bytes = 0;

  constructor(private readonly sink: Sink) {}

  private async put(b: Buffer): Promise<void> {
    this.bytes += b.length;
    await this.sink(b);
  }

  /** One entry; `data` must yield exactly `entry.size` bytes (files only). */
  async add(entry: WriteEntry, data?: Buffer | AsyncIterable<Buffer> | Iterable<Buffer>): Promise<void> {
    if (this.done) throw new OciBundleError('ETAR', 'tar writer already finished');
    const size = entry.size ?? 0;
    await this.put(encodeHeader(entry));
    let n = 0;
    if (data !== undefined) {
      const chunks = Buffer.isBuffer(data) ? [data] : data;
      for await (const c of chunks) {
        n += c.length;
        if (n > size) throw new OciBundleError('EIO', `${entry.name} grew while it was archived (declared ${size} bytes)`);
        if (c.length > 0) await this.put(c);
      }
    }
    if (n !== size) throw new OciBundleError('EIO', `${entry.name} shrank while it was archived (${n} of ${size} bytes)`);
    const pad = padding(size);
    if (pad) await this.put(Buffer.alloc(pad));
  }

  /** The end-of-archive marker; no entry may follow. */
  async finish(): Promise<void> {
    if (this.done) return;
    this.done = true;
    await this.put(trailer());
  }
}
