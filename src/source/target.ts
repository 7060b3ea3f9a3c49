// Where a copy writes: the small interface the copier needs from a destination (check what it
// holds, write a verified blob stream, write a document) and its OCI-layout implementation.
// Registries (src/registry/push.ts) implement it too. Knows nothing of planning or formats.
import type { Descriptor } from '../image/types.js';
import { openBlob } from '../image/blob.js';
import type { Layout } from '../image/layout.js';
import type { DirStore } from '../image/store.js';
import type { Readable } from 'node:stream';

/** What DEST holds under a digest: nothing, another size, other bytes (same size), the blob. */
export type BlobState = 'ok' | 'absent' | 'size' | 'digest';

export interface CopyTarget {
  /** DEST as the user named it (messages). */
  readonly where: string;
  /** Whether DEST wants media types converted to OCI (a layout does; a registry keeps them, as skopeo). */
  readonly convertsToOci: boolean;
  /** What DEST holds for `desc`; `rehash` asks for a byte check where DEST can do one. */
  check(desc: Descriptor, rehash: boolean): Promise<BlobState>;
  /**
   * Stores a blob from verified chunks (the stream fails on a bad digest or size); `before` runs
   * after the last chunk and before the blob becomes visible.
   */
  writeBlob(desc: Descriptor, chunks: AsyncIterable<Buffer>, onBytes?: (n: number) => void, before?: () => Promise<void>): Promise<void>;
  /** Makes DEST hold the blob without its bytes (a registry's cross-repository mount); true when it did. */
  mount?(desc: Descriptor): Promise<boolean>;
  /** Stores a document (manifest, index or config) whose bytes are `bytes`. */
  writeDoc(desc: Descriptor, bytes: Buffer): Promise<void>;
  /** A verified stream of a blob DEST holds (for the diff_id check of reused layers); undefined: read the source. */
  openOwn(desc: Descriptor): Readable | undefined;
}

/** An OCI layout directory as a copy target (blobs by fd, temp then rename). */
export class LayoutTarget implements CopyTarget {
  readonly convertsToOci = true;
  constructor(
    readonly layout: Layout,
    readonly store: DirStore,
  ) {}
  get where(): string {
    return this.layout.path;
  }
  check(desc: Descriptor, rehash: boolean): Promise<BlobState> {
    return this.store.checkBlob(desc.digest, desc.size, rehash);
  }
  writeBlob(desc: Descriptor, chunks: AsyncIterable<Buffer>, onBytes?: (n: number) => void, before?: () => Promise<void>): Promise<void> {
    return this.store.writeBlobFrom(desc.digest, chunks, onBytes, before);
  }
  writeDoc(desc: Descriptor, bytes: Buffer): Promise<void> {
    return this.store.writeBlobFrom(desc.digest, [bytes]);
  }
  openOwn(desc: Descriptor): Readable {
    return openBlob(this.layout, desc);
  }
}
