// The registry client's front door: `openRegistry('HOST[:PORT]/REPO[:TAG|@DIGEST]')` fetches
// the manifest (or index) for the tag or digest and returns a read-only Layout over the
// registry whose index.json has that one entry, so resolveInLayout/openBlob/unpack work
// unchanged. Only the public surface lives here; HTTP, auth, store and cache are siblings.
import { OciBundleError } from '../errors.js';
import { openBlob } from '../image/blob.js';
import type { Layout } from '../image/layout.js';
import { REF_NAME_ANNOTATION, type Descriptor, type ImageIndex } from '../image/types.js';
import { findCredentials } from './auth.js';
import { BlobCache } from './cache.js';
import { RegistryHttp, type HttpOptions } from './http.js';
import { parseRegistryRef } from './ref.js';
import { RegistryStore } from './store.js';

export { parseRegistryRef, formatRegistryRef, type RegistryRef } from './ref.js';
export { Credentials, parseCreds, findCredentials, defaultAuthFiles, parseChallenge } from './auth.js';

export interface RegistryOptions extends Omit<HttpOptions, 'tlsVerify'> {
  /** `USER:PASS`; wins over any auth file. */
  creds?: string;
  /** An auth.json / config.json to read instead of the default ones (must exist). */
  authfile?: string;
  /** Verify TLS certificates; false also allows plain http (default true). */
  tlsVerify?: boolean;
  /** Directory of the verified blob cache (`<cacheDir>/blobs/<alg>/<hex>`). */
  cacheDir?: string;
  /** Environment for locating default auth files (tests); default process.env. */
  env?: NodeJS.ProcessEnv;
}

export interface OpenedRegistry {
  layout: Layout;
  /** The tag, or `@sha256:...`, to pass to resolveInLayout. */
  ref: string;
  /** Downloads blobs into the cache, `concurrency` at a time (no-op without cacheDir). */
  prefetch(descriptors: Descriptor[], concurrency?: number): Promise<void>;
  close(): Promise<void>;
}

export async function openRegistry(ref: string, opts: RegistryOptions = {}): Promise<OpenedRegistry> {
  const r = parseRegistryRef(ref);
  const creds = findCredentials(r.host, r.repo, opts, opts.env);
  const http = new RegistryHttp(r, creds, opts);
  try {
    const store = new RegistryStore(http, opts.cacheDir !== undefined ? new BlobCache(opts.cacheDir) : undefined, opts.onWarning);
    const m = await store.fetchManifest(r.digest ?? r.tag ?? 'latest');
    const entry: Descriptor = { mediaType: m.mediaType, digest: m.digest, size: m.bytes.length };
    if (r.digest === undefined) entry.annotations = { [REF_NAME_ANNOTATION]: r.tag ?? 'latest' };
    const index: ImageIndex = { schemaVersion: 2, manifests: [entry] };
    store.setIndex(index);
    const layout: Layout = { path: `docker://${r.host}/${r.repo}`, store, index };
    return {
      layout,
      ref: r.digest !== undefined ? `@${r.digest}` : (r.tag ?? 'latest'),
      prefetch: (descs, concurrency = 3) => prefetch(layout, store, descs, concurrency),
      close: async () => http.close(),
    };
  } catch (e) {
    http.close();
    throw e;
  }
}

async function prefetch(layout: Layout, store: RegistryStore, descs: Descriptor[], concurrency: number): Promise<void> {
  if (!store.cache) return;
  const cache = store.cache;
  const queue = [...new Map(descs.map((d) => [d.digest, d])).values()];
  const worker = async () => {
    for (let d = queue.shift(); d; d = queue.shift()) {
      if ((await cache.size(d.digest)) === d.size) continue;
      // draining the verified stream is what writes the cache entry
      for await (const _ of openBlob(layout, d)) void _;
    }
  };
  const n = Math.max(1, Math.min(concurrency, queue.length));
  const results = await Promise.allSettled(Array.from({ length: n }, worker));
  const failed = results.find((x): x is PromiseRejectedResult => x.status === 'rejected');
  if (failed) throw failed.reason instanceof OciBundleError ? failed.reason : new OciBundleError('EIO', `prefetch from ${layout.path} failed`, { cause: failed.reason });
}
