// A registry as a copy destination (`docker://HOST/REPO:TAG`): blobs checked with HEAD,
// mounted from another repository of the same registry when the source is there
// (POST ?mount=&from=), else uploaded monolithically (POST, then PUT ?digest= with the body) or
// in chunks (POST, PATCH with Content-Range..., PUT ?digest=); manifests PUT by digest, children
// first, the tag last, so a failed push leaves no tag. The last bytes of a blob are held back
// until the source stream has verified its digest: the registry never completes an unverified blob.
import type { IncomingMessage } from 'node:http';
import { OciBundleError } from '../errors.js';
import { isConfigType, isIndexType, isManifestType } from '../image/media-types.js';
import type { Descriptor } from '../image/types.js';
import type { Layout } from '../image/layout.js';
import type { BlobState, CopyTarget } from '../source/target.js';
import { findCredentials } from './auth.js';
import { header, RegistryHttp, type HttpOptions } from './http.js';
import { parseRegistryRef } from './ref.js';
import { RegistryStore } from './store.js';

export interface PushOptions {
  /** Upload blobs in PATCH chunks of this many bytes (default: one monolithic PUT). */
  chunkBytes?: number;
  /** A repository of the same registry that holds the source blobs (cross-repository mount). */
  mountFrom?: string;
}

/** Counters of what a push did (tests and --verbose). */
export interface PushCounts {
  mounted: number;
  monolithic: number;
  chunked: number;
  patches: number;
  manifests: number;
}

/** Yields all chunks but the last as they come; the last only after the stream ended without error and `before` passed. */
async function* holdLast(chunks: AsyncIterable<Buffer>, before?: () => Promise<void>): AsyncGenerator<Buffer> {
  let prev: Buffer | undefined;
  for await (const c of chunks) {
    if (c.length === 0) continue;
    if (prev) yield prev;
    prev = c;
  }
  await before?.();
  if (prev) yield prev;
}

export class RegistryTarget implements CopyTarget {
  readonly convertsToOci = false;
  readonly counts: PushCounts = { mounted: 0, monolithic: 0, chunked: 0, patches: 0, manifests: 0 };
  constructor(
    readonly http: RegistryHttp,
    private readonly opts: PushOptions = {},
  ) {
    if (opts.chunkBytes !== undefined && (!Number.isSafeInteger(opts.chunkBytes) || opts.chunkBytes < 1)) {
      throw new OciBundleError('EUSAGE', `upload chunk size must be a positive integer, not ${String(opts.chunkBytes)}`);
    }
  }

  get where(): string {
    return `docker://${this.http.where}`;
  }

  async check(desc: Descriptor): Promise<BlobState> {
    const doc = isIndexType(desc.mediaType) || isManifestType(desc.mediaType);
    const res = await this.http.request('HEAD', `${doc ? 'manifests' : 'blobs'}/${desc.digest}`, doc ? desc.mediaType : undefined);
    res.resume();
    if (res.statusCode === 404) return 'absent';
    if (res.statusCode !== 200) throw await this.http.statusError(res, `cannot check ${doc ? 'manifest' : 'blob'} ${desc.digest}`);
    const len = Number(res.headers['content-length']);
    return Number.isSafeInteger(len) && len !== desc.size ? 'size' : 'ok';
  }

  /** The registry's Docker-Content-Digest must be the digest we sent, when it says one. */
  private confirm(res: IncomingMessage, desc: Descriptor, what: string): void {
    const got = header(res, 'docker-content-digest')?.trim();
    if (got !== undefined && got !== '' && got !== desc.digest) {
      throw new OciBundleError('EDIGEST', `${this.where}: ${what} ${desc.digest} was stored as ${JSON.stringify(got.slice(0, 100))}`);
    }
  }

  /** Makes DEST hold `desc` from the source repository without sending bytes; true when it did. */
  async mount(desc: Descriptor): Promise<boolean> {
    const from = this.opts.mountFrom;
    if (from === undefined || from === this.http.ref.repo) return false;
    const q = new URLSearchParams({ mount: desc.digest, from });
    const res = await this.http.request('POST', `blobs/uploads/?${q.toString()}`, undefined, { headers: { 'content-length': '0' }, body: Buffer.alloc(0) });
    if (res.statusCode !== 201 && res.statusCode !== 202) throw await this.http.statusError(res, `cannot mount blob ${desc.digest} from ${from}`);
    res.resume();
    if (res.statusCode === 201) {
      this.confirm(res, desc, 'mounted blob');
      this.counts.mounted++;
      return true;
    }
    // 202: the registry opened an ordinary upload instead; give it back
    if (res.statusCode === 202) await this.cancel(this.http.uploadUrl(res, `mount of ${desc.digest}`));
    return false;
  }

  /** Starts an upload session; its URL. */
  private async start(desc: Descriptor): Promise<URL> {
    const res = await this.http.request('POST', 'blobs/uploads/', undefined, { headers: { 'content-length': '0' }, body: Buffer.alloc(0) });
    if (res.statusCode !== 202) throw await this.http.statusError(res, `cannot start the upload of blob ${desc.digest}`);
    res.resume();
    return this.http.uploadUrl(res, `upload of ${desc.digest}`);
  }

  private async cancel(url: URL): Promise<void> {
    try {
      (await this.http.request('DELETE', url)).resume();
    } catch {
      // the registry expires abandoned sessions itself
    }
  }

  /** PUT ?digest= completing an upload, with `body` (the last bytes, or all of them). */
  private async finish(url: URL, desc: Descriptor, body: Buffer | AsyncIterable<Buffer>, length: number): Promise<void> {
    const done = new URL(url);
    done.searchParams.set('digest', desc.digest);
    const res = await this.http.request('PUT', done, undefined, { headers: { 'content-type': 'application/octet-stream', 'content-length': String(length) }, body });
    if (res.statusCode !== 201) throw await this.http.statusError(res, `upload of blob ${desc.digest} refused`);
    res.resume();
    this.confirm(res, desc, 'blob');
  }

  async writeBlob(desc: Descriptor, chunks: AsyncIterable<Buffer>, onBytes?: (n: number) => void, before?: () => Promise<void>): Promise<void> {
    const url = await this.start(desc);
    let ok = false;
    try {
      if (this.opts.chunkBytes === undefined) await this.monolithic(url, desc, chunks, onBytes, before);
      else await this.chunked(url, desc, chunks, this.opts.chunkBytes, onBytes, before);
      ok = true;
    } finally {
      if (!ok) await this.cancel(url);
    }
  }

  private async monolithic(url: URL, desc: Descriptor, chunks: AsyncIterable<Buffer>, onBytes?: (n: number) => void, before?: () => Promise<void>): Promise<void> {
    async function* counted(): AsyncGenerator<Buffer> {
      for await (const c of holdLast(chunks, before)) {
        onBytes?.(c.length);
        yield c;
      }
    }
    await this.finish(url, desc, counted(), desc.size);
    this.counts.monolithic++;
  }

  private async chunked(start: URL, desc: Descriptor, chunks: AsyncIterable<Buffer>, size: number, onBytes?: (n: number) => void, before?: () => Promise<void>): Promise<void> {
    let url = start;
    let offset = 0;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const patch = async (body: Buffer): Promise<void> => {
      const res = await this.http.request('PATCH', url, undefined, {
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(body.length), 'content-range': `${offset}-${offset + body.length - 1}` },
        body,
      });
      if (res.statusCode !== 202) throw await this.http.statusError(res, `chunk at ${offset} of blob ${desc.digest} refused`);
      res.resume();
      url = this.http.uploadUrl(res, `upload of ${desc.digest}`);
      offset += body.length;
      this.counts.patches++;
      onBytes?.(body.length);
    };
    // a chunk goes up only once more bytes follow it: the last one waits for the digest check
    for await (const c of chunks) {
      pending.push(c);
      pendingBytes += c.length;
      while (pendingBytes > size) {
        const all = Buffer.concat(pending);
        await patch(all.subarray(0, size));
        pending = [all.subarray(size)];
        pendingBytes = all.length - size;
      }
    }
    await before?.();
    const last = Buffer.concat(pending);
    await this.finish(url, desc, last, last.length);
    onBytes?.(last.length);
    this.counts.chunked++;
  }

  async writeDoc(desc: Descriptor, bytes: Buffer): Promise<void> {
    if (isConfigType(desc.mediaType)) {
      const url = await this.start(desc);
      await this.finish(url, desc, bytes, bytes.length).catch(async (e: unknown) => {
        await this.cancel(url);
        throw e;
      });
      return;
    }
    await this.putManifest(desc, bytes, desc.digest);
  }

  /** PUT manifests/REF (a digest, or the tag at the very end). */
  async putManifest(desc: Descriptor, bytes: Buffer, ref: string): Promise<void> {
    const res = await this.http.request('PUT', `manifests/${ref}`, undefined, { headers: { 'content-type': desc.mediaType, 'content-length': String(bytes.length) }, body: bytes });
    if (res.statusCode !== 201) throw await this.http.statusError(res, `manifest ${ref} refused`);
    res.resume();
    this.confirm(res, desc, 'manifest');
    this.counts.manifests++;
  }

  openOwn(): undefined {
    return undefined;
  }
}

export interface PushTargetOptions extends PushOptions {
  creds?: string;
  authfile?: string;
  tlsVerify?: boolean;
  trustRealms?: string[];
  onWarning?: HttpOptions['onWarning'];
  env?: NodeJS.ProcessEnv;
}

/** The repository a registry source layout reads, when it is on `apiHost` (a mount can then replace uploads). */
export function sameRegistryRepo(source: Layout, apiHost: string): string | undefined {
  return source.store instanceof RegistryStore && source.store.http.ref.apiHost === apiHost ? source.store.http.ref.repo : undefined;
}

/** A push target for `HOST[:PORT]/REPO:TAG` (the name after `docker://`); close() when done. */
export function openPushTarget(name: string, source: Layout, opts: PushTargetOptions = {}): { target: RegistryTarget; tag: string; close(): void } {
  const r = parseRegistryRef(name);
  if (r.digest !== undefined) throw new OciBundleError('EUSAGE', `copy destination docker://${name} names a digest: give a tag`);
  const creds = findCredentials(r.host, r.repo, opts, opts.env);
  const http = new RegistryHttp(r, creds, { ...opts, tlsVerify: opts.tlsVerify ?? true });
  const mountFrom = sameRegistryRepo(source, r.apiHost);
  const push: PushOptions = { ...(opts.chunkBytes !== undefined ? { chunkBytes: opts.chunkBytes } : {}), ...(mountFrom !== undefined ? { mountFrom } : {}) };
  return { target: new RegistryTarget(http, push), tag: r.tag ?? 'latest', close: () => http.close() };
}
