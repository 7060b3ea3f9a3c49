// The optional blob cache of registry pulls: `<cacheDir>/blobs/<alg>/<hex>`, the blobs/ half
// of an OCI layout, so a later open (or a copy) reuses what was fetched. A blob enters the
// cache only after its whole body hashed to its digest (temp file + rename); a cached file
// that fails its digest on read is removed; temps of killed writers are cleared by the next
// writer (and `gc --cache-dir`). Holds no manifests by tag (tags move).
import { constants as C, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { OciBundleError } from '../errors.js';
import { parseDigest, newHash } from '../image/digest.js';
import { clearDeadTemps, createTempFile } from '../host/temp.js';
import type { RawBlob } from '../image/store.js';

/** Temp names of older versions in a cache's blobs/ALG/ directory (owner pid first). */
export const LEGACY_CACHE_TEMP = /^\.tmp-[0-9a-f]{64,128}-(\d{1,10})-[0-9a-f]{1,32}$/;

/**
 * `gc --cache-dir DIR`: removes the temps that killed pulls left in DIR/blobs/ALG/ (returned
 * as paths relative to DIR). Cached blobs are kept: they are verified on every read.
 */
export async function gcCache(cacheDir: string): Promise<string[]> {
  const st = await fsp.lstat(join(cacheDir, 'blobs')).catch(() => undefined);
  if (!st?.isDirectory()) throw new OciBundleError('ENOLAYOUT', `no blob cache at ${cacheDir}: ${st ? 'blobs is not a directory' : 'no blobs directory'}`);
  const out: string[] = [];
  for (const alg of ['sha256', 'sha512']) {
    const dir = join(cacheDir, 'blobs', alg);
    for (const name of await clearDeadTemps(dir, { kinds: ['blob'], legacy: [LEGACY_CACHE_TEMP] })) out.push(join('blobs', alg, name));
  }
  return out;
}

export class BlobCache {
  private cleared = new Set<string>();
  constructor(readonly dir: string) {}

  /** The first write into a directory clears the temps that killed runs left there. */
  private async clearOnce(dir: string): Promise<void> {
    if (this.cleared.has(dir)) return;
    this.cleared.add(dir);
    await clearDeadTemps(dir, { kinds: ['blob'], legacy: [LEGACY_CACHE_TEMP] });
  }

  pathOf(digest: string): string {
    const { algorithm, hex } = parseDigest(digest);
    return join(this.dir, 'blobs', algorithm, hex);
  }

  async size(digest: string): Promise<number | undefined> {
    const st = await fsp.lstat(this.pathOf(digest)).catch(() => undefined);
    return st?.isFile() ? st.size : undefined;
  }

  /** A cached blob, hashed as it is read (removed if it turns out corrupt); undefined on a miss. */
  async open(digest: string): Promise<RawBlob | undefined> {
    const { algorithm, hex } = parseDigest(digest);
    const path = this.pathOf(digest);
    let fh: fsp.FileHandle;
    try {
      fh = await fsp.open(path, C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK);
    } catch {
      return undefined;
    }
    const st = await fh.stat();
    if (!st.isFile()) {
      await fh.close();
      return undefined;
    }
    const hash = newHash(algorithm);
    let got = 0;
    return {
      size: st.size,
      read: async (buf, length) => {
        const { bytesRead } = await fh.read(buf, 0, length, null);
        if (bytesRead > 0) {
          hash.update(buf.subarray(0, bytesRead));
          got += bytesRead;
        } else if (got === st.size && hash.digest('hex') !== hex) {
          await fsp.unlink(path).catch(() => undefined);
        }
        return bytesRead;
      },
      close: () => fh.close(),
    };
  }

  /**
   * Wraps a network blob so that its bytes are also written to a temp file in the cache,
   * renamed into place only when the body ended at `size` bytes hashing to the digest.
   * Cache write failures never fail the read: the blob is then simply not cached.
   */
  async tee(digest: string, raw: RawBlob): Promise<RawBlob> {
    const { algorithm, hex } = parseDigest(digest);
    const final = this.pathOf(digest);
    const dir = join(this.dir, 'blobs', algorithm);
    let tmp: string;
    let fh: fsp.FileHandle | undefined;
    try {
      await fsp.mkdir(dir, { recursive: true, mode: 0o755 });
      await this.clearOnce(dir);
      ({ path: tmp, fh } = await createTempFile(dir, 'blob'));
    } catch {
      return raw;
    }
    const hash = newHash(algorithm);
    let got = 0;
    let done = false;
    const drop = async () => {
      if (done) return;
      done = true;
      await fh?.close().catch(() => undefined);
      fh = undefined;
      await fsp.unlink(tmp).catch(() => undefined);
    };
    return {
      size: raw.size,
      read: async (buf, length) => {
        const n = await raw.read(buf, length);
        if (done) return n;
        if (n > 0) {
          hash.update(buf.subarray(0, n));
          got += n;
          try {
            await fh!.write(buf, 0, n);
          } catch {
            await drop();
          }
        } else if (got === raw.size && hash.digest('hex') === hex) {
          try {
            await fh!.sync();
            await fh!.close();
            fh = undefined;
            await fsp.rename(tmp, final);
            done = true;
          } catch {
            await drop();
          }
        } else {
          await drop();
        }
        return n;
      },
      close: async () => {
        await drop();
        await raw.close();
      },
    };
  }
}
