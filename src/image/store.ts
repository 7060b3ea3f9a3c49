// Blob storage behind a small interface (open/stat/put/list/remove blobs, read/write the
// index, lock the index), with a directory store for real layouts and an in-memory store
// for tests. Stores check where bytes come from (regular file, inside the layout); they do
// not verify digests: blob.ts does.
import { constants as C, promises as fsp, read as fsRead, close as fsClose, open as fsOpen, fstat as fsFstat, readlink } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { OciBundleError } from '../errors.js';
import { blobRelPath, digestOf, isValidDigest, newHash, parseDigest } from './digest.js';
import { withDirChain, type DirHandle } from './dirhandle.js';
import { readRegularFile, statStamp, writeAtomic, ownerOf, type Owner } from './fsutil.js';
import { acquireLock, type Release } from '../host/lock.js';
import { clearDeadTemps } from '../host/temp.js';

/** An open blob: read sequentially into a buffer (0 at end of file), then close. */
export interface RawBlob {
  /** Size the storage reports for the blob (st_size for a file). */
  readonly size: number;
  read(buf: Buffer, length: number): Promise<number>;
  close(): Promise<void>;
}

export interface BlobStore {
  /** Opens a blob; ENOBLOB if absent, EBLOBTYPE if not a regular file inside the layout. */
  openBlob(digest: string): Promise<RawBlob>;
  /** The stored size, or undefined when the blob is absent. */
  statBlob(digest: string): Promise<number | undefined>;
  /** Stores bytes as a blob (no-op if present); returns the sha256 digest. */
  putBlob(bytes: Uint8Array): Promise<string>;
  /** Every stored blob digest (names that are not valid digests are skipped). */
  listBlobs(): Promise<string[]>;
  removeBlob(digest: string): Promise<void>;
  readIndex(): Promise<Buffer>;
  /** A stamp of index.json as last read by readIndex, and of it now (undefined: unknown). */
  lastIndexStamp?: string | undefined;
  currentIndexStamp?(): Promise<string | undefined>;
  writeIndex(bytes: Uint8Array): Promise<void>;
  /** Takes the inter-process index lock. */
  lock(): Promise<Release>;
}

/** A RawBlob over bytes already in memory (small JSON documents, synthesised manifests). */
export function memoryRawBlob(b: Buffer): RawBlob {
  let pos = 0;
  return {
    size: b.length,
    read: async (buf, length) => {
      const n = b.copy(buf, 0, pos, Math.min(b.length, pos + length));
      pos += n;
      return n;
    },
    close: async () => undefined,
  };
}

/**
 * A store over a source that is only read (a registry, a dir:, a recompressed view): the write
 * half refused with EUSAGE saying `readOnly`, an index.json held in memory, no lock needed.
 */
export abstract class ReadOnlyStore implements BlobStore {
  constructor(protected index: Buffer) {}
  abstract openBlob(digest: string): Promise<RawBlob>;
  abstract statBlob(digest: string): Promise<number | undefined>;
  abstract listBlobs(): Promise<string[]>;
  /** The refusal's message (names the source). */
  protected abstract get readOnly(): string;
  private refuse(): never {
    throw new OciBundleError('EUSAGE', this.readOnly);
  }
  async putBlob(): Promise<string> {
    this.refuse();
  }
  async removeBlob(): Promise<void> {
    this.refuse();
  }
  async readIndex(): Promise<Buffer> {
    return this.index;
  }
  async writeIndex(): Promise<void> {
    this.refuse();
  }
  async lock(): Promise<Release> {
    return async () => undefined;
  }
}

export const INDEX_CAP = 64 * 1024 * 1024;
export const LOCK_NAME = '.ocibundle-index.lock';
const pread = promisify(fsRead);
const pclose = promisify(fsClose);
const preadlink = promisify(readlink);
const popen = promisify(fsOpen);
const pfstat = promisify(fsFstat);
const OPEN_BLOB = C.O_RDONLY | C.O_NONBLOCK | C.O_NOFOLLOW;

/** A store over an OCI layout directory. `realRoot` is the layout path with symlinks resolved. */
export class DirStore implements BlobStore {
  private owner: Promise<Owner | undefined> | undefined;
  constructor(readonly root: string, readonly realRoot: string) {}

  /**
   * Symlink policy: the blob file itself is opened with O_NOFOLLOW, and the path the kernel
   * reports for the open file (/proc/self/fd) must be exactly <layout>/blobs/<alg>/<hex>.
   * So every symlink on a blob's path is refused, even one that points inside the layout.
   */
  async openBlob(digest: string): Promise<RawBlob> {
    const rel = blobRelPath(digest);
    let fd: number;
    try {
      fd = await popen(join(this.root, rel), OPEN_BLOB);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new OciBundleError('ENOBLOB', `blob ${digest} not found in layout ${this.root}`, { cause: e });
      if (code === 'ELOOP') throw new OciBundleError('EBLOBTYPE', `blob ${digest} is a symlink; refused`, { cause: e });
      if (code === 'ENXIO' || code === 'ENODEV' || code === 'EOPNOTSUPP') throw new OciBundleError('EBLOBTYPE', `blob ${digest} is not a regular file`, { cause: e });
      throw new OciBundleError('EIO', `cannot open blob ${digest}`, { cause: e });
    }
    try {
      const st = await pfstat(fd);
      if (!st.isFile()) throw new OciBundleError('EBLOBTYPE', `blob ${digest} is not a regular file; refused`);
      const real = await preadlink(`/proc/self/fd/${fd}`).catch(() => undefined);
      if (real !== undefined && real !== join(this.realRoot, rel)) {
        throw new OciBundleError('EBLOBTYPE', `blob ${digest} resolves to ${real}, outside its place in the layout; refused`);
      }
      return {
        size: st.size,
        read: async (buf, length) => (await pread(fd, buf, 0, length, null)).bytesRead,
        close: () => pclose(fd),
      };
    } catch (e) {
      await pclose(fd).catch(() => undefined);
      throw e;
    }
  }

  /**
   * Runs `fn` on blobs/<alg>/ opened by fd, no symlink followed below the layout directory
   * (EBADLAYOUT for a planted one); undefined when the directory is absent and not `create`.
   */
  private async inBlobDir<T>(algorithm: string, create: boolean, fn: (dir: DirHandle) => Promise<T>): Promise<T | undefined> {
    try {
      return await withDirChain(this.root, ['blobs', algorithm], create, fn);
    } catch (e) {
      if (!create && e instanceof OciBundleError && e.code === 'ENOBLOB') return undefined;
      throw e;
    }
  }

  async statBlob(digest: string): Promise<number | undefined> {
    const { algorithm, hex } = parseDigest(digest);
    return this.inBlobDir(algorithm, false, async (dir) => {
      const st = await dir.lstat(hex);
      return st?.isFile() ? st.size : undefined;
    });
  }

  /**
   * Checks the stored blob against its digest and size without trusting its name: 'absent',
   * 'size' (other length), 'digest' (same length, other bytes) or 'ok'. A symlink or special
   * file under the digest's name is refused (EBADLAYOUT).
   */
  async checkBlob(digest: string, size: number, rehash: boolean): Promise<'ok' | 'absent' | 'size' | 'digest'> {
    const { algorithm, hex } = parseDigest(digest);
    const r = await this.inBlobDir(algorithm, false, async (dir) => {
      const st = await dir.lstat(hex);
      if (st === undefined) return 'absent' as const;
      if (!st.isFile()) throw new OciBundleError('EBADLAYOUT', `${dir.shownAt(hex)} is not a regular file; refused`);
      if (st.size !== size) return 'size' as const;
      if (!rehash) return 'ok' as const;
      const f = await dir.openRead(hex);
      if (!f) return 'absent' as const;
      try {
        const hash = newHash(algorithm);
        const buf = Buffer.allocUnsafe(1024 * 1024);
        let n = 0;
        for (let r; (r = (await f.fh.read(buf, 0, buf.length, null)).bytesRead) > 0; ) {
          hash.update(buf.subarray(0, r));
          n += r;
        }
        return n === size && hash.digest('hex') === hex ? ('ok' as const) : n === size ? ('digest' as const) : ('size' as const);
      } finally {
        await f.fh.close();
      }
    });
    return r ?? 'absent';
  }

  /**
   * Writes a blob from chunks: a new temp file in blobs/<alg>/ (O_EXCL|O_NOFOLLOW, random name),
   * fsynced, renamed over the digest's name (after `beforeRename`, which may refuse). Nothing
   * is written through a symlink; no temp file survives a failure. The caller verifies the
   * bytes (the chunks of a verified stream).
   */
  async writeBlobFrom(digest: string, chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, onBytes?: (n: number) => void, beforeRename?: () => Promise<void>): Promise<void> {
    const { algorithm, hex } = parseDigest(digest);
    const owner = await this.getOwner();
    await this.inBlobDir(algorithm, true, async (dir) => {
      const { name, fh } = await dir.createTemp('blob', 0o644);
      let renamed = false;
      try {
        try {
          for await (const c of chunks) {
            const b = c instanceof Buffer ? c : Buffer.from(c.buffer, c.byteOffset, c.byteLength);
            for (let off = 0; off < b.length; ) off += (await fh.write(b, off, b.length - off)).bytesWritten;
            onBytes?.(b.length);
          }
          if (owner) await fh.chown(owner.uid, owner.gid).catch(() => undefined);
          await fh.sync();
        } finally {
          await fh.close();
        }
        await beforeRename?.();
        await dir.rename(name, hex);
        renamed = true;
      } finally {
        if (!renamed) await dir.unlink(name).catch(() => undefined);
      }
    });
  }

  /** fsyncs blobs/<alg>/ (after blobs were renamed into it). */
  async syncBlobDir(algorithm = 'sha256'): Promise<void> {
    await this.inBlobDir(algorithm, false, (dir) => dir.sync());
  }

  private getOwner(): Promise<Owner | undefined> {
    this.owner ??= ownerOf(this.root);
    return this.owner;
  }

  /** Stores bytes as a blob unless a verified copy is there already (same size and hash). */
  async putBlob(bytes: Uint8Array): Promise<string> {
    const digest = digestOf(bytes);
    if ((await this.checkBlob(digest, bytes.length, true)) !== 'ok') {
      await this.writeBlobFrom(digest, [bytes]);
      await this.syncBlobDir(parseDigest(digest).algorithm);
    }
    return digest;
  }

  async listBlobs(): Promise<string[]> {
    const out: string[] = [];
    for (const alg of ['sha256', 'sha512']) {
      const names = (await this.inBlobDir(alg, false, (dir) => dir.list())) ?? [];
      for (const n of names) if (isValidDigest(`${alg}:${n}`)) out.push(`${alg}:${n}`);
    }
    return out;
  }

  /** Removes the temps killed writers left in blobs/<alg>/ (by fd: a planted symlink is refused); returns their paths. */
  async clearBlobTemps(): Promise<string[]> {
    const out: string[] = [];
    for (const alg of ['sha256', 'sha512']) {
      const names = (await this.inBlobDir(alg, false, (dir) => dir.clearDeadTemps({ kinds: ['blob'] }))) ?? [];
      out.push(...names.map((n) => `blobs/${alg}/${n}`));
    }
    return out;
  }

  async removeBlob(digest: string): Promise<void> {
    const { algorithm, hex } = parseDigest(digest);
    await this.inBlobDir(algorithm, false, (dir) => dir.unlink(hex));
  }

  lastIndexStamp: string | undefined;
  readIndex(): Promise<Buffer> {
    this.lastIndexStamp = undefined;
    return readRegularFile(join(this.root, 'index.json'), INDEX_CAP, 'index', (s) => (this.lastIndexStamp = s));
  }

  currentIndexStamp(): Promise<string | undefined> {
    return statStamp(join(this.root, 'index.json'));
  }

  /** Replaces index.json atomically, keeping its permission bits (0644 for a new one). */
  async writeIndex(bytes: Uint8Array): Promise<void> {
    const dest = join(this.root, 'index.json');
    const mode = await fsp.lstat(dest).then((st) => st.mode & 0o777, () => 0o644);
    // called under the lock: the index temps of killed writers go first
    await clearDeadTemps(this.root, { kinds: ['index'] });
    await writeAtomic(this.root, dest, bytes, mode, await this.getOwner());
  }

  lock(): Promise<Release> {
    return acquireLock(join(this.root, LOCK_NAME));
  }
}

/** An in-memory store for unit tests. Blobs may be stored under any digest (to model corruption). */
export class MemStore implements BlobStore {
  readonly blobs = new Map<string, Buffer>();
  index: Buffer;
  private locked: Promise<void> = Promise.resolve();
  constructor(index: object = { schemaVersion: 2, manifests: [] }) {
    this.index = Buffer.from(JSON.stringify(index));
  }
  async openBlob(digest: string): Promise<RawBlob> {
    blobRelPath(digest);
    const b = this.blobs.get(digest);
    if (!b) throw new OciBundleError('ENOBLOB', `blob ${digest} not found in memory store`);
    return memoryRawBlob(b);
  }
  async statBlob(digest: string): Promise<number | undefined> {
    return this.blobs.get(digest)?.length;
  }
  async putBlob(bytes: Uint8Array): Promise<string> {
    const d = digestOf(bytes);
    this.blobs.set(d, Buffer.from(bytes));
    return d;
  }
  async listBlobs(): Promise<string[]> {
    return [...this.blobs.keys()];
  }
  async removeBlob(digest: string): Promise<void> {
    this.blobs.delete(digest);
  }
  async readIndex(): Promise<Buffer> {
    return this.index;
  }
  async writeIndex(bytes: Uint8Array): Promise<void> {
    this.index = Buffer.from(bytes);
  }
  async lock(): Promise<Release> {
    let release!: () => void;
    const prev = this.locked;
    this.locked = new Promise<void>((r) => (release = r));
    await prev;
    return async () => release();
  }
}
