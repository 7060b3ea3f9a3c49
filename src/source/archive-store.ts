// A read-only BlobStore over byte ranges of one archive file (oci-archive, docker-archive):
// blobs are served straight from the file, never extracted. It checks only where bytes
// come from; digests and sizes are verified by image/blob.ts as with any store.
// Every write (putBlob, writeIndex, removeBlob) is refused: an archive source is read-only.
import type { promises as fsp } from 'node:fs';
import { OciBundleError } from '../errors.js';
import type { Release } from '../host/lock.js';
import { memoryRawBlob, type BlobStore, type RawBlob } from '../image/store.js';
import { openArchiveFile, type ArchiveId } from './archive-file.js';

export interface Range {
  /** -1: the member exists but is not a regular file (opening it is refused). */
  offset: number;
  size: number;
}


export class ArchiveStore implements BlobStore {
  /** How many times each blob was opened (tests count reads through it). */
  readonly opens = new Map<string, number>();
  constructor(
    readonly file: string,
    /** The archive file as scanned: every open checks it is still that file. */
    private readonly id: ArchiveId,
    private readonly ranges: ReadonlyMap<string, Range>,
    private readonly index: Buffer,
    /** Blobs synthesised in memory (docker-archive manifests), served beside the ranges. */
    private readonly memory: ReadonlyMap<string, Buffer> = new Map(),
  ) {}

  async openBlob(digest: string): Promise<RawBlob> {
    const mem = this.memory.get(digest);
    if (mem) return memoryRawBlob(mem);
    const r = this.ranges.get(digest);
    if (!r) throw new OciBundleError('ENOBLOB', `blob ${digest} not found in archive ${this.file}`);
    if (r.offset < 0) throw new OciBundleError('EBLOBTYPE', `blob ${digest} in archive ${this.file} is not a regular file; refused`);
    this.opens.set(digest, (this.opens.get(digest) ?? 0) + 1);
    let fh: fsp.FileHandle;
    try {
      fh = (await openArchiveFile(this.file, this.id)).fh;
    } catch (e) {
      throw new OciBundleError(e instanceof OciBundleError ? e.code : 'EIO', `cannot open archive ${this.file} for blob ${digest}`, { cause: e });
    }
    let pos = 0;
    return {
      size: r.size,
      read: async (buf, length) => {
        const want = Math.min(length, r.size - pos);
        if (want <= 0) return 0;
        const { bytesRead } = await fh.read(buf, 0, want, r.offset + pos);
        if (bytesRead === 0) throw new OciBundleError('ESIZE', `archive ${this.file} ends inside blob ${digest}`);
        pos += bytesRead;
        return bytesRead;
      },
      close: () => fh.close(),
    };
  }

  async statBlob(digest: string): Promise<number | undefined> {
    const mem = this.memory.get(digest);
    if (mem) return mem.length;
    const r = this.ranges.get(digest);
    return r && r.offset >= 0 ? r.size : undefined;
  }

  async listBlobs(): Promise<string[]> {
    return [...new Set([...this.memory.keys(), ...[...this.ranges].filter(([, r]) => r.offset >= 0).map(([d]) => d)])];
  }

  async readIndex(): Promise<Buffer> {
    return this.index;
  }

  private readOnly(what: string): never {
    throw new OciBundleError('EUSAGE', `archive ${this.file} is a read-only source: cannot ${what}`);
  }
  async putBlob(): Promise<string> {
    return this.readOnly('store a blob');
  }
  async removeBlob(): Promise<void> {
    return this.readOnly('remove a blob');
  }
  async writeIndex(): Promise<void> {
    return this.readOnly('write its index');
  }
  async lock(): Promise<Release> {
    return this.readOnly('lock its index');
  }
}
