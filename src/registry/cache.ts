// The optional blob cache of registry pulls: `<cacheDir>/blobs/<alg>/<hex>`, the blobs/ half
// of an OCI layout, so a later open (or a copy) reuses what was fetched. A blob enters the
// cache only after its whole body hashed to its digest (temp file + rename, through an fd of
// blobs/<alg>/: a planted symlink there is refused, never written through). A cached file is
// re-hashed before it is served; one that fails is removed and the caller fetches it again.
// Temps of killed writers are cleared by the next writer (and `gc --cache-dir`).
import { promises as fsp } from 'node:fs';
import { OciBundleError } from '../errors.js';
import { parseDigest, newHash } from '../image/digest.js';
import { openDirChain, type DirHandle } from '../image/dirhandle.js';
import type { RawBlob } from '../image/store.js';

/** Temp names of older versions in a cache's blobs/ALG/ directory (owner pid first). */
export const LEGACY_CACHE_TEMP = /^\.tmp-[0-9a-f]{64,128}-(\d{1,10})-[0-9a-f]{1,32}$/;
const TEMPS = { kinds: ['blob'], legacy: [LEGACY_CACHE_TEMP] };

/**
 * `gc --cache-dir DIR`: removes the temps that killed pulls left in DIR/blobs/ALG/ (returned
 * as paths relative to DIR), through directory fds. Cached blobs are kept: they are verified
 * on every read.
 */
export async function gcCache(cacheDir: string): Promise<string[]> {
  const st = await fsp.lstat(`${cacheDir}/blobs`).catch(() => undefined);
  if (!st?.isDirectory()) throw new OciBundleError('ENOLAYOUT', `no blob cache at ${cacheDir}: ${st ? 'blobs is not a directory' : 'no blobs directory'}`);
  const cache = new BlobCache(cacheDir);
  const out: string[] = [];
  for (const alg of ['sha256', 'sha512']) {
    for (const name of (await cache.inDir(alg, false, (d) => d.clearDeadTemps(TEMPS))) ?? []) out.push(`blobs/${alg}/${name}`);
  }
  return out;
}

/** Why a cached entry was dropped (the store turns it into one warning). */
export type CacheDrop = (digest: string, why: string) => void;

const CHUNK = 1024 * 1024;

export class BlobCache {
  private cleared = new Set<string>();
  constructor(readonly dir: string) {}

  /** `<dir>/blobs/<alg>/` opened by fd; undefined when absent and not `create`. EBADLAYOUT for a planted symlink. */
  private async openDir(algorithm: string, create: boolean): Promise<{ dir: DirHandle; close(): Promise<void> } | undefined> {
    if (create) await fsp.mkdir(this.dir, { recursive: true, mode: 0o755 }).catch(() => undefined);
    try {
      return await openDirChain(this.dir, ['blobs', algorithm], create);
    } catch (e) {
      if (e instanceof OciBundleError && (e.code === 'ENOBLOB' || (e.code === 'ENOLAYOUT' && !create))) return undefined;
      if (e instanceof OciBundleError && e.code === 'EBADLAYOUT') throw new OciBundleError('EBADLAYOUT', `cache ${this.dir}: ${e.message}`, { cause: e });
      throw e;
    }
  }

  /** Runs `fn` in `<dir>/blobs/<alg>/`; undefined when that is absent and not `create`. */
  async inDir<T>(algorithm: string, create: boolean, fn: (d: DirHandle) => Promise<T>): Promise<T | undefined> {
    const c = await this.openDir(algorithm, create);
    if (!c) return undefined;
    try {
      return await fn(c.dir);
    } finally {
      await c.close();
    }
  }

  async size(digest: string): Promise<number | undefined> {
    const { algorithm, hex } = parseDigest(digest);
    return this.inDir(algorithm, false, async (d) => {
      const st = await d.lstat(hex);
      return st?.isFile() ? st.size : undefined;
    });
  }

  /**
   * A cached blob, hashed in full before it is served (so a corrupt entry never reaches the
   * reader); undefined on a miss. A corrupt entry (wrong size or bytes, not a regular file) is
   * removed, reported through `drop`, and treated as a miss.
   */
  async open(digest: string, expectedSize: number | undefined, drop: CacheDrop): Promise<RawBlob | undefined> {
    const { algorithm, hex } = parseDigest(digest);
    return this.inDir(algorithm, false, async (d) => {
      let f;
      try {
        f = await d.openRead(hex);
      } catch (e) {
        if (!(e instanceof OciBundleError) || e.code !== 'EBADLAYOUT') throw e;
        await d.unlink(hex);
        drop(digest, 'it was not a regular file');
        return undefined;
      }
      if (!f) return undefined;
      const { fh, st } = f;
      let why: string | undefined;
      if (expectedSize !== undefined && st.size !== expectedSize) why = `it was ${st.size} bytes, not ${expectedSize}`;
      else {
        const hash = newHash(algorithm);
        const buf = Buffer.allocUnsafe(CHUNK);
        for (let pos = 0, n; (n = (await fh.read(buf, 0, CHUNK, pos)).bytesRead) > 0; pos += n) hash.update(buf.subarray(0, n));
        if (hash.digest('hex') !== hex) why = 'its bytes did not match the digest';
      }
      if (why !== undefined) {
        await fh.close();
        await d.unlink(hex);
        drop(digest, why);
        return undefined;
      }
      let pos = 0;
      return {
        size: st.size,
        read: async (b, length) => {
          const { bytesRead } = await fh.read(b, 0, length, pos);
          pos += bytesRead;
          return bytesRead;
        },
        close: () => fh.close(),
      };
    });
  }

  /**
   * Wraps a network blob so that its bytes are also written to a temp file in the cache,
   * renamed into place only when the body ended at `size` bytes hashing to the digest. Cache
   * write failures never fail the read (the blob is then simply not cached), except a planted
   * symlink in the cache, which is refused (EBADLAYOUT).
   */
  async tee(digest: string, raw: RawBlob): Promise<RawBlob> {
    const { algorithm, hex } = parseDigest(digest);
    // the directory stays open by fd while the body streams; closed with the blob
    const c = await this.openDir(algorithm, true).catch((e: unknown) => {
      if (e instanceof OciBundleError && e.code === 'EBADLAYOUT') throw e;
      return undefined;
    });
    if (!c) return raw;
    if (!this.cleared.has(algorithm)) {
      // the first write into a directory clears the temps that killed runs left there
      this.cleared.add(algorithm);
      await c.dir.clearDeadTemps(TEMPS).catch(() => undefined);
    }
    const t = await c.dir.createTemp('blob', 0o644).catch(() => undefined);
    if (!t) {
      await c.close();
      return raw;
    }
    const d = c.dir;
    const name = t.name;
    let fh: fsp.FileHandle | undefined = t.fh;
    const hash = newHash(algorithm);
    let got = 0;
    let done = false;
    const finish = async (keep: boolean) => {
      if (done) return;
      done = true;
      try {
        if (keep) {
          await fh!.sync();
          await fh!.close();
          fh = undefined;
          await d.rename(name, hex);
        }
      } catch {
        keep = false;
      }
      await fh?.close().catch(() => undefined);
      fh = undefined;
      if (!keep) await d.unlink(name).catch(() => undefined);
      await c.close();
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
            await finish(false);
          }
        } else {
          await finish(got === raw.size && hash.digest('hex') === hex);
        }
        return n;
      },
      close: async () => {
        await finish(false);
        await raw.close();
      },
    };
  }
}
