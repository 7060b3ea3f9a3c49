// A read-only BlobStore backed by a registry: manifests (fetched by digest, size-capped and
// verified before they are served from memory), blobs streamed from GET /v2/<repo>/blobs/
// (resumable, optionally through the cache), and an in-memory index.json. Write methods throw.
// Does not verify blob digests itself: image/blob.ts does that while the bytes stream.
import type { IncomingMessage } from 'node:http';
import { OciBundleError, type WarnFn } from '../errors.js';
import { newHash, parseDigest } from '../image/digest.js';
import { parseJsonCapped } from '../image/json.js';
import { isIndexType, isManifestType, MT } from '../image/media-types.js';
import { memoryRawBlob, ReadOnlyStore, type RawBlob } from '../image/store.js';
import type { BlobCache } from './cache.js';
import { header, readBody, type RegistryHttp } from './http.js';
import { ResumableBody } from './body.js';

export const MANIFEST_CAP = 4 * 1024 * 1024;
export const MANIFEST_ACCEPT = [MT.ociIndex, MT.ociManifest, MT.dockerList, MT.dockerManifest].join(', ');

export interface FetchedManifest {
  bytes: Buffer;
  digest: string;
  mediaType: string;
}


/** The media type of a manifest document: its own field, else Content-Type, else its shape. */
function manifestType(bytes: Buffer, contentType: string | undefined, what: string): string {
  const doc = parseJsonCapped(bytes, what, { code: 'ESCHEMA' }) as Record<string, unknown> | null;
  if (typeof doc !== 'object' || doc === null) throw new OciBundleError('ESCHEMA', `${what} is not a json object`);
  const ct = contentType?.split(';')[0]?.trim();
  const declared = typeof doc['mediaType'] === 'string' ? (doc['mediaType'] as string) : undefined;
  const mt = declared ?? (ct && (isIndexType(ct) || isManifestType(ct)) ? ct : 'manifests' in doc ? MT.ociIndex : 'config' in doc ? MT.ociManifest : ct);
  if (doc['schemaVersion'] === 1 || (mt ?? '').includes('distribution.manifest.v1')) {
    throw new OciBundleError('EMEDIATYPE', `${what} is a docker schema 1 manifest, which is not supported`);
  }
  if (!mt || !(isIndexType(mt) || isManifestType(mt))) {
    throw new OciBundleError('EMEDIATYPE', `${what} has media type ${JSON.stringify(String(mt).slice(0, 200))}, neither an index nor a manifest`);
  }
  return mt;
}

export class RegistryStore extends ReadOnlyStore {
  private readonly manifests = new Map<string, Buffer>();
  /** Digests that children of a served index name as manifests or indexes. */
  private readonly manifestDigests = new Set<string>();
  /** Sizes descriptors of served documents declare (for bodies without Content-Length). */
  private readonly sizes = new Map<string, number>();

  constructor(
    readonly http: RegistryHttp,
    readonly cache: BlobCache | undefined,
    private readonly onWarning?: WarnFn,
  ) {
    super(Buffer.from('{"schemaVersion":2,"manifests":[]}'));
  }

  protected get readOnly(): string {
    return `${this.where}: a registry source is read-only`;
  }

  get where(): string {
    return this.http.where;
  }

  setIndex(doc: object): void {
    this.index = Buffer.from(JSON.stringify(doc));
  }

  /** Records the descriptors a manifest or index names, so openBlob knows where to look. */
  private remember(digest: string, bytes: Buffer): void {
    this.manifests.set(digest, bytes);
    let doc: { manifests?: unknown; config?: unknown; layers?: unknown };
    try {
      doc = JSON.parse(bytes.toString('utf8')) as typeof doc;
    } catch {
      return;
    }
    const note = (d: unknown, manifest: boolean) => {
      const x = d as { digest?: unknown; size?: unknown; mediaType?: unknown } | null;
      if (typeof x?.digest !== 'string' || typeof x.size !== 'number') return;
      this.sizes.set(x.digest, x.size);
      if (manifest && (isIndexType(x.mediaType) || isManifestType(x.mediaType))) this.manifestDigests.add(x.digest);
    };
    if (Array.isArray(doc?.manifests)) for (const m of doc.manifests) note(m, true);
    if (doc?.config) note(doc.config, false);
    if (Array.isArray(doc?.layers)) for (const l of doc.layers) note(l, false);
  }

  /**
   * GET /v2/<repo>/manifests/<ref>: capped, Docker-Content-Digest checked against the bytes,
   * and a digest reference checked against them too. ENOTAG/ENOBLOB on 404.
   */
  async fetchManifest(ref: string): Promise<FetchedManifest> {
    const byDigest = ref.startsWith('sha256:') || ref.startsWith('sha512:');
    const what = `manifest ${this.where}${byDigest ? '@' : ':'}${ref}`;
    const res = await this.http.request('GET', `manifests/${ref}`, MANIFEST_ACCEPT);
    if (res.statusCode === 404) {
      res.resume();
      if (byDigest) throw new OciBundleError('ENOBLOB', `${what} not found`);
      throw new OciBundleError('ENOTAG', `tag ${ref} not found in ${this.where}`);
    }
    if (res.statusCode !== 200) throw await this.http.statusError(res, `cannot get ${what}`);
    const bytes = await readBody(res, MANIFEST_CAP, what);
    const sent = header(res, 'docker-content-digest')?.trim();
    const check = (digest: string, against: string) => {
      const { algorithm, hex } = parseDigest(digest, `digest of ${what}`);
      if (newHash(algorithm).update(bytes).digest('hex') !== hex) {
        throw new OciBundleError('EDIGEST', `${what} does not match ${against} ${digest}`);
      }
    };
    if (sent) check(sent, 'the Docker-Content-Digest');
    if (byDigest) check(ref, 'its digest');
    const digest = byDigest ? ref : `sha256:${newHash('sha256').update(bytes).digest('hex')}`;
    const mediaType = manifestType(bytes, header(res, 'content-type'), what);
    this.remember(digest, bytes);
    return { bytes, digest, mediaType };
  }

  async openBlob(digest: string): Promise<RawBlob> {
    parseDigest(digest);
    const mem = this.manifests.get(digest);
    if (mem) return memoryRawBlob(mem);
    if (this.manifestDigests.has(digest)) return memoryRawBlob((await this.fetchManifest(digest)).bytes);
    const cached = await this.cache?.open(digest, this.sizes.get(digest), (d, why) =>
      this.onWarning?.({ code: 'WCACHE', message: `cached blob ${d} in ${this.cache!.dir} was removed (${why}); fetching it again from ${this.where}` }),
    );
    if (cached) return cached;
    const budget = this.http.newBudget();
    const res = await this.http.request('GET', `blobs/${digest}`, undefined, { budget });
    if (res.statusCode === 404) {
      res.resume();
      throw new OciBundleError('ENOBLOB', `blob ${digest} not found in ${this.where}`);
    }
    if (res.statusCode !== 200) throw await this.http.statusError(res, `cannot get blob ${digest}`);
    const len = Number(res.headers['content-length']);
    const size = Number.isSafeInteger(len) && len >= 0 ? len : this.sizes.get(digest);
    if (size === undefined) {
      res.destroy();
      throw new OciBundleError('EIO', `${this.where}: blob ${digest} came without a content-length and no descriptor gives its size`);
    }
    const raw = new ResumableBody(this.http, digest, res, size, budget);
    return this.cache ? this.cache.tee(digest, raw) : raw;
  }

  async statBlob(digest: string): Promise<number | undefined> {
    parseDigest(digest);
    const mem = this.manifests.get(digest);
    if (mem) return mem.length;
    const cached = await this.cache?.size(digest);
    if (cached !== undefined) return cached;
    const kind = this.manifestDigests.has(digest) ? 'manifests' : 'blobs';
    const res = await this.http.request('HEAD', `${kind}/${digest}`, kind === 'manifests' ? MANIFEST_ACCEPT : undefined);
    res.resume();
    if (res.statusCode === 404) return undefined;
    if (res.statusCode !== 200) throw await this.http.statusError(res, `cannot stat ${digest}`);
    const len = Number(res.headers['content-length']);
    return Number.isSafeInteger(len) && len >= 0 ? len : this.sizes.get(digest);
  }

  /** The digests this store has seen named (a registry cannot list a repository's blobs). */
  async listBlobs(): Promise<string[]> {
    return [...new Set([...this.manifests.keys(), ...this.sizes.keys()])];
  }
}
