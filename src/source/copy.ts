// `copy SRC DEST`: any source -> an OCI layout (`oci:PATH[:TAG]` or a bare path) or an
// `oci-archive:FILE[:TAG]`. Docker media types become OCI ones (manifest and config JSON are
// re-serialised, so their digests change; layer bytes are copied verbatim), and then, as for a
// synthesised docker-archive manifest, every layer's diff_id is verified. Blobs stream, verified,
// several at once (`jobs`), into DEST's blobs/ opened by fd; blobs DEST already has are re-hashed
// (or size-checked) and replaced if they lie; the tag is written last. Never prints.
import { checkTransport } from './transports.js';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { addAbortSignal } from 'node:stream';
import { OciBundleError, toOciBundleError, type WarnFn } from '../errors.js';
import { openBlob, readBlob } from '../image/blob.js';
import { blobRelPath, digestOf } from '../image/digest.js';
import { clearDeadTemps, createTempDirSync } from '../host/temp.js';
import { assertReplaceable } from '../host/guard.js';
import { pinBlobs, type Pin } from '../image/pins.js';
import { initLayout, openLayout, type Layout } from '../image/layout.js';
import { isConfigType, isForeignLayerType, isIndexType, isManifestType, MT } from '../image/media-types.js';
import { parseImageRef } from '../image/reference.js';
import { parseRegistryRef } from '../registry/ref.js';
import { digestRoot, resolveManifestDescriptor } from '../image/resolve.js';
import { validateSchema } from '../image/schema.js';
import { checkDocument } from '../image/checks.js';
import { parseJsonCapped } from '../image/json.js';
import { noSuchTag, tagEntries } from '../image/tags.js';
import { tagImage } from '../image/update-index.js';
import { DirStore } from '../image/store.js';
import type { Descriptor } from '../image/types.js';
import { DiffIdCheck, diffIdsOf } from './diffid.js';
import { openSource, type SourceOptions } from './index.js';
import { writeLayoutArchive } from './tar-write.js';
import { LayoutTarget, type CopyTarget } from './target.js';
import { COMPRESSIONS, recompressedSource } from './recompress.js';
import { repoTagOf } from './docker-archive-write.js';
import type { Compression } from '../image/media-types.js';

/** One progress event: sent as bytes of a blob arrive and once when that blob is in place. */
export interface CopyProgress {
  /** 0-based index, among the blobs to transfer, of the blob this event is about. */
  blob: number;
  /** Blobs to transfer (config and layers not already in DEST). */
  blobs: number;
  /** Bytes transferred so far, all blobs; and the sum of their sizes. */
  bytesDone: number;
  bytesTotal: number;
  /** Digest of the blob this event is about; true when it is now complete in DEST. */
  digest: string;
  finished: boolean;
  /** Blobs complete so far. */
  blobsDone: number;
}

export interface CopyOptions extends SourceOptions {
  /**
   * Copy a multi-platform index whole (skopeo's --all). Default false: as skopeo does, only the
   * manifest for `platform` (default: this host) is copied, and DEST's tag names that manifest.
   */
  all?: boolean;
  /** Blob transfers run at once (config + layers); default 3. */
  jobs?: number;
  onProgress?: (p: CopyProgress) => void;
  /** Aborts the transfers; the copy then fails with EINTERRUPTED and writes no tag. */
  signal?: AbortSignal;
  /**
   * Re-hash every layer DEST already has before reusing it (default true); false checks only
   * its size (documents are always re-hashed). A blob that fails is replaced, with a warning.
   */
  verifyExisting?: boolean;
  onWarning?: WarnFn;
  /**
   * Layers in this compression in DEST (`--dest-compress gzip|zstd`, `--dest-decompress`: none):
   * others are recompressed while copying, with new digests and sizes, diff_ids unchanged.
   */
  compression?: Compression;
  /** A `docker://` destination: its credentials and TLS rule (the auth file and trusted realms default to the source's). */
  destRegistry?: DestRegistryOptions;
}

export interface DestRegistryOptions {
  creds?: string;
  authfile?: string;
  tlsVerify?: boolean;
  trustRealms?: string[];
  /** Upload blobs in PATCH chunks of this many bytes (default: one monolithic PUT per blob). */
  chunkBytes?: number;
}

export const DEFAULT_JOBS = 3;
const MAX_JOBS = 64;

export interface CopyResult {
  /** The descriptor DEST's index.json now carries for the tag. */
  descriptor: Descriptor;
  tag: string;
  /** Blobs written to DEST, and blobs skipped because DEST already had them. */
  copied: number;
  skipped: number;
  /** A registry destination: blobs mounted from the source repository, uploaded in one PUT, in PATCH chunks (and the PATCH count). */
  uploads?: { mounted: number; monolithic: number; chunked: number; patches: number };
}

export type DestName =
  | { kind: 'oci' | 'oci-archive' | 'docker'; path: string; tag: string }
  | { kind: 'dir'; path: string; tag?: undefined }
  | { kind: 'docker-archive'; path: string; tag?: undefined; repoTag?: string };

export function parseDestName(name: string): DestName {
  checkTransport(name, 'destination');
  if (name.startsWith('docker://')) {
    const rest = name.slice('docker://'.length);
    if (rest === '') throw new OciBundleError('EBADREF', 'invalid docker destination "docker://": no repository');
    const r = parseRegistryRef(rest);
    if (r.digest !== undefined) throw new OciBundleError('EUSAGE', `copy destination ${JSON.stringify(name)} names a digest: give a tag`);
    return { kind: 'docker', path: rest, tag: r.tag ?? 'latest' };
  }
  if (name.startsWith('docker-archive:')) {
    const rest = name.slice('docker-archive:'.length);
    const colon = rest.indexOf(':');
    const path = colon < 0 ? rest : rest.slice(0, colon);
    if (path === '') throw new OciBundleError('EBADREF', `invalid docker-archive destination ${JSON.stringify(name)}: file is empty`);
    if (colon < 0) return { kind: 'docker-archive', path };
    const repoTag = rest.slice(colon + 1);
    repoTagOf(repoTag);
    return { kind: 'docker-archive', path, repoTag };
  }
  if (name.startsWith('dir:')) {
    const path = name.slice('dir:'.length);
    if (path === '') throw new OciBundleError('EBADREF', 'invalid dir destination "dir:": no path');
    return { kind: 'dir', path };
  }
  const kind = name.startsWith('oci-archive:') ? 'oci-archive' : 'oci';
  const rest = kind === 'oci-archive' ? name.slice('oci-archive:'.length) : name.startsWith('oci:') ? name.slice(4) : name;
  const r = parseImageRef(rest);
  if (r.digest) throw new OciBundleError('EUSAGE', `copy destination ${JSON.stringify(name)} names a digest: give a tag`);
  return { kind, path: r.path, tag: r.tag ?? 'latest' };
}

/** The job count from options: an integer 1..64, EUSAGE otherwise. */
export function jobsOf(jobs: number | undefined): number {
  if (jobs === undefined) return DEFAULT_JOBS;
  if (!Number.isInteger(jobs) || jobs < 1 || jobs > MAX_JOBS) throw new OciBundleError('EUSAGE', `jobs must be an integer from 1 to ${MAX_JOBS}, not ${String(jobs)}`);
  return jobs;
}

const CONVERT_LAYER: Record<string, string> = {
  [MT.dockerLayerGzip]: MT.ociLayerGzip,
  [MT.dockerForeignLayerGzip]: MT.ociLayerNdGzip,
};

function parseJson(bytes: Buffer, what: string): Record<string, unknown> {
  return parseJsonCapped(bytes, what, { code: 'ESCHEMA' }) as Record<string, unknown>;
}

/** A document to write after the blobs: verified source bytes kept as they are, or re-serialised. */
type DocWrite = { desc: Descriptor; bytes: Buffer };

/**
 * Copies in steps: plan (read and check every index/manifest/docker config, compute the
 * rewritten documents, list the blobs), then -- once the caller has pinned them against gc --
 * transfer the blobs DEST lacks `jobs` at a time and write the documents children first. The
 * caller writes the tag afterwards, re-checking every referenced blob under the lock.
 */
class Copier {
  copied = 0;
  skipped = 0;
  private planned = new Map<string, Promise<Descriptor>>();
  private wanted = new Set<string>();
  private blobs: Descriptor[] = [];
  private transfers: Descriptor[] = [];
  /** Digests this run wrote into DEST. */
  readonly written: string[] = [];
  private docs: DocWrite[] = [];
  /** Layers whose diff_id a converted or synthesised manifest asserts: digest -> diff_id. */
  private diffIds = new Map<string, string>();
  private reused: Descriptor[] = [];
  /** Docker media types become OCI ones (a layout destination); a registry keeps them, as skopeo does. */
  private readonly convert: boolean;
  constructor(
    private readonly src: Layout,
    private readonly target: CopyTarget,
    private readonly opts: CopyOptions,
  ) {
    this.convert = target.convertsToOci;
  }

  /** Reads and checks every document SRC's root reaches; returns DEST's new root descriptor. */
  plan(root: Descriptor): Promise<Descriptor> {
    return this.node(root);
  }

  /** The bytes of a planned document (the root, for a registry's tag PUT). */
  docBytes(digest: string): Buffer {
    const d = this.docs.find((x) => x.desc.digest === digest);
    if (!d) throw new OciBundleError('EIO', `internal: document ${digest} was not planned`);
    return d.bytes;
  }

  /** Every blob the new root reaches in DEST, with its size (what the tag step re-checks). */
  referenced(): Map<string, number> {
    const m = new Map<string, number>();
    for (const d of this.blobs) m.set(d.digest, d.size);
    for (const d of this.docs) m.set(d.desc.digest, d.bytes.length);
    return m;
  }

  /**
   * Transfers the blobs DEST lacks or holds wrongly (call once they are pinned), checks the
   * asserted diff_ids of the layers DEST had, then writes the documents.
   */
  async write(): Promise<void> {
    await this.pool(this.blobs, (d) => this.checkExisting(d));
    await this.transferAll();
    // layers DEST had: their diff_ids are checked on DEST's (verified) copy
    await this.pool(
      this.reused.filter((d) => this.diffIds.has(d.digest)),
      (d) => this.verifyDiffId(d),
    );
    for (const d of this.docs) await this.writeDoc(d);
  }

  /** Runs `fn` over `items`, `jobs` at a time; the first failure stops the rest and is thrown. */
  private async pool<T>(items: T[], fn: (item: T) => Promise<void>): Promise<void> {
    let next = 0;
    let failed = false;
    const worker = async (): Promise<void> => {
      while (!failed && !this.opts.signal?.aborted && next < items.length) {
        try {
          await fn(items[next++]!);
        } catch (e) {
          failed = true;
          throw e;
        }
      }
    };
    const results = await Promise.allSettled(Array.from({ length: Math.min(jobsOf(this.opts.jobs), items.length) }, worker));
    if (this.opts.signal?.aborted) throw new OciBundleError('EINTERRUPTED', `copy interrupted; no tag written`);
    const bad = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (bad) throw bad.reason;
  }

  private warn(message: string): void {
    this.opts.onWarning?.({ code: 'WBLOBREPLACED', message });
  }

  /** Reuses a blob DEST has if it checks out; otherwise queues it for transfer (a lying one with a warning). */
  private async checkExisting(desc: Descriptor): Promise<void> {
    // documents (configs) are small: always re-hashed; layers unless verifyExisting is false
    const state = await this.target.check(desc, (this.opts.verifyExisting ?? true) || isConfigType(desc.mediaType));
    if (state === 'ok') {
      this.skipped++;
      this.reused.push(desc);
      return;
    }
    if (state !== 'absent') this.warn(`${this.target.where} held blob ${desc.digest} with ${state === 'size' ? 'another size' : 'other bytes'}; replaced from the source`);
    this.transfers.push(desc);
  }

  private async verifyDiffId(desc: Descriptor): Promise<void> {
    const check = new DiffIdCheck(desc, this.diffIds.get(desc.digest)!);
    for await (const c of check.tap(this.target.openOwn(desc) ?? openBlob(this.src, desc))) void c;
    await check.check();
  }

  /** Notes a blob to copy verbatim (once); foreign layers must be in the source. */
  private async want(desc: Descriptor): Promise<void> {
    if (this.wanted.has(desc.digest)) return;
    this.wanted.add(desc.digest);
    if (desc.urls?.length && (await this.target.check(desc, false)) !== 'ok' && (await this.src.store.statBlob(desc.digest)) === undefined) {
      throw new OciBundleError('ENOBLOB', `foreign layer ${desc.digest} is not in the source; it lives at ${desc.urls.join(', ')} and is not fetched`);
    }
    this.blobs.push(desc);
  }

  /** Runs the transfers `jobs` at a time; on a failure stops the rest, waits for them, rethrows. */
  private async transferAll(): Promise<void> {
    const list = this.transfers;
    const bytesTotal = list.reduce((n, d) => n + d.size, 0);
    let bytesDone = 0;
    let blobsDone = 0;
    let next = 0;
    const stop = new AbortController();
    const outer = this.opts.signal;
    const onOuter = () => stop.abort();
    outer?.addEventListener('abort', onOuter, { once: true });
    const report = this.opts.onProgress;
    const worker = async (): Promise<void> => {
      while (!stop.signal.aborted && next < list.length) {
        const blob = next++;
        const desc = list[blob]!;
        const emit = (finished: boolean) => report?.({ blob, blobs: list.length, bytesDone, bytesTotal, digest: desc.digest, finished, blobsDone });
        try {
          await this.transfer(desc, stop.signal, (n) => {
            bytesDone += n;
            emit(false);
          });
        } catch (e) {
          stop.abort();
          throw e;
        }
        blobsDone++;
        this.copied++;
        emit(true);
      }
    };
    try {
      if (outer?.aborted) stop.abort();
      const results = await Promise.allSettled(Array.from({ length: Math.min(jobsOf(this.opts.jobs), list.length) }, worker));
      if (outer?.aborted) throw new OciBundleError('EINTERRUPTED', `copy interrupted; no tag written`);
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected' && !isAbort(r.reason)) ?? results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    } finally {
      outer?.removeEventListener('abort', onOuter);
    }
  }

  /**
   * Streams one blob, verified, into a temp file in DEST's blobs/ (opened by fd, no symlink
   * followed), then renames it into place; a layer with an asserted diff_id is checked first.
   */
  private async transfer(desc: Descriptor, signal: AbortSignal, onBytes: (n: number) => void): Promise<void> {
    const expected = this.diffIds.get(desc.digest);
    // a registry may take the blob from another of its repositories (no bytes, nothing to verify here)
    if (expected === undefined && (await this.target.mount?.(desc))) {
      onBytes(desc.size);
      return;
    }
    const from = addAbortSignal(signal, openBlob(this.src, desc));
    const check = expected === undefined ? undefined : new DiffIdCheck(desc, expected);
    try {
      await this.target.writeBlob(desc, check ? check.tap(from) : (from as AsyncIterable<Buffer>), onBytes, check ? () => check.check() : undefined);
      this.written.push(desc.digest);
    } catch (e) {
      from.destroy();
      check?.abort();
      throw e;
    }
  }

  /** Writes a planned document unless DEST holds it verified already (documents are always re-hashed: they are small). */
  private async writeDoc(d: DocWrite): Promise<void> {
    const { desc, bytes } = d;
    const state = await this.target.check(desc, true);
    if (state === 'ok') {
      this.skipped++;
      return;
    }
    if (state !== 'absent') this.warn(`${this.target.where} held blob ${desc.digest} with ${state === 'size' ? 'another size' : 'other bytes'}; replaced`);
    // verbatim bytes were verified against the digest when planning read them; put bytes were hashed by put()
    await this.target.writeDoc(desc, bytes);
    this.written.push(desc.digest);
    this.copied++;
  }

  /** Plans a re-serialised document; returns its new descriptor. */
  private put(doc: unknown, mediaType: string, old: Descriptor): Descriptor {
    const bytes = Buffer.from(JSON.stringify(doc));
    const digest = digestOf(bytes);
    const d: Descriptor = { ...old, mediaType, digest, size: bytes.length };
    delete d.data;
    if (!this.wanted.has(digest)) {
      this.wanted.add(digest);
      this.docs.push({ desc: { mediaType, digest, size: bytes.length }, bytes });
    }
    return d;
  }

  private keep(desc: Descriptor, bytes: Buffer): Descriptor {
    if (!this.wanted.has(desc.digest)) {
      this.wanted.add(desc.digest);
      this.docs.push({ desc: { mediaType: desc.mediaType, digest: desc.digest, size: desc.size }, bytes });
    }
    return desc;
  }

  private node(desc: Descriptor): Promise<Descriptor> {
    let p = this.planned.get(desc.digest);
    if (!p) {
      p = this.planNode(desc);
      this.planned.set(desc.digest, p);
    }
    return p.then((d) => ({ ...desc, mediaType: d.mediaType, digest: d.digest, size: d.size }));
  }

  private async planNode(desc: Descriptor): Promise<Descriptor> {
    if (isIndexType(desc.mediaType)) return this.index(desc);
    if (isManifestType(desc.mediaType)) return this.manifest(desc);
    await this.want(desc);
    return desc;
  }

  /** Notes the diff_id each layer must uncompress to; one layer asserted two ways is EDIFFID. */
  private assertDiffIds(ids: string[], layers: Descriptor[]): void {
    for (const [i, l] of layers.entries()) {
      if (isForeignLayerType(l.mediaType)) continue; // not copied unless present; never verified by content here
      const prev = this.diffIds.get(l.digest);
      if (prev !== undefined && prev !== ids[i]) throw new OciBundleError('EDIFFID', `layer ${l.digest} is given two diff_ids, ${prev} and ${ids[i]}`);
      this.diffIds.set(l.digest, ids[i]!);
    }
  }

  private async readDoc(desc: Descriptor, kind: 'index' | 'manifest' | 'config'): Promise<{ bytes: Buffer; doc: Record<string, unknown> }> {
    const bytes = await readBlob(this.src, desc);
    const doc = parseJson(bytes, `${kind} ${desc.digest}`);
    checkDocument(kind, doc, desc.digest, kind === 'config' ? undefined : desc.mediaType);
    await validateSchema(kind, doc, desc.digest);
    return { bytes, doc };
  }

  private async index(desc: Descriptor): Promise<Descriptor> {
    const { bytes, doc } = await this.readDoc(desc, 'index');
    const children = doc['manifests'] as Descriptor[];
    const next: Descriptor[] = [];
    // in order, so blob numbering and document order do not depend on timing
    for (const c of children) next.push(await this.node(c));
    const changed = (this.convert && desc.mediaType !== MT.ociIndex) || next.some((n, i) => n.digest !== children[i]!.digest || n.mediaType !== children[i]!.mediaType);
    if (!changed) return this.keep(desc, bytes);
    const mt = this.convert ? MT.ociIndex : desc.mediaType;
    return this.put({ ...doc, mediaType: mt, manifests: next }, mt, desc);
  }

  private async manifest(desc: Descriptor): Promise<Descriptor> {
    const { bytes, doc } = await this.readDoc(desc, 'manifest');
    const config = doc['config'] as Descriptor;
    const layers = doc['layers'] as Descriptor[];
    if (!isConfigType(config.mediaType)) {
      throw new OciBundleError('EMEDIATYPE', `manifest ${desc.digest}: config ${config.digest} has media type ${config.mediaType}, not an image config`);
    }
    let newConfig = config;
    // what ocibundle writes as a manifest of its own (converted, or synthesised by the
    // source) it verifies first, diff_ids included
    const convertConfig = this.convert && config.mediaType === MT.dockerConfig;
    const asserts = this.src.synthesised === true || (this.convert && (desc.mediaType !== MT.ociManifest || config.mediaType === MT.dockerConfig));
    if (convertConfig || asserts) {
      const { doc: cfg } = await this.readDoc(config, 'config');
      if (convertConfig) newConfig = this.put(cfg, MT.ociConfig, config);
      else await this.want(config);
      if (asserts) this.assertDiffIds(diffIdsOf(cfg, layers.length, `config ${config.digest}`), layers);
    } else {
      await this.want(config);
    }
    const newLayers: Descriptor[] = [];
    for (const l of layers) {
      await this.want(l);
      const mt = this.convert ? CONVERT_LAYER[l.mediaType] : undefined;
      newLayers.push(mt ? { ...l, mediaType: mt } : l);
    }
    const changed = (this.convert && desc.mediaType !== MT.ociManifest) || newConfig !== config || newLayers.some((l, i) => l !== layers[i]);
    if (!changed) return this.keep(desc, bytes);
    const mt = this.convert ? MT.ociManifest : desc.mediaType;
    return this.put({ ...doc, mediaType: mt, config: newConfig, layers: newLayers }, mt, desc);
  }
}

function isAbort(e: unknown): boolean {
  return e instanceof Error && e.name === 'AbortError';
}

/** DEST's layout: opened, or created when the path does not exist (`created` then). */
async function openOrInit(path: string): Promise<{ layout: Layout; created: boolean }> {
  try {
    return { layout: await openLayout(path), created: false };
  } catch (e) {
    if (e instanceof OciBundleError && e.code === 'ENOLAYOUT' && /no such directory/.test(e.message)) return { layout: await initLayout(path), created: true };
    throw e;
  }
}

/** Under the tag's lock: every blob the new tag reaches is in DEST with its size, else ENOBLOB. */
async function checkReferenced(layout: Layout, refs: Map<string, number>): Promise<void> {
  for (const [digest, size] of refs) {
    const got = await layout.store.statBlob(digest);
    if (got === size) continue;
    const state = got === undefined ? 'is missing from' : `is ${got} bytes, not ${size}, in`;
    throw new OciBundleError('ENOBLOB', `blob ${digest} ${state} ${layout.path} after this copy put it there (removed by another process?); no tag written`);
  }
}

/**
 * Undoes a failed copy into a layout this run created: the blobs it wrote, then the empty
 * layout's own files and directories. Nothing is removed recursively, so whatever another
 * process put there meanwhile (a tag, a blob) keeps the layout.
 */
async function removeCreatedLayout(path: string, written: string[]): Promise<void> {
  for (const digest of written) await fsp.unlink(join(path, blobRelPath(digest))).catch(() => undefined);
  try {
    const idx = JSON.parse(await fsp.readFile(join(path, 'index.json'), 'utf8')) as { manifests?: unknown[] };
    if (idx.manifests?.length !== 0) return;
  } catch {
    return;
  }
  await fsp.unlink(join(path, 'index.json'));
  await fsp.unlink(join(path, 'oci-layout')).catch(() => undefined);
  for (const dir of [join(path, 'blobs', 'sha256'), join(path, 'blobs'), path]) await fsp.rmdir(dir).catch(() => undefined);
}

/** Temp names older versions left beside an oci-archive destination FILE. */
function legacyArchiveTemps(file: string): RegExp[] {
  const b = basename(file).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return [new RegExp(`^${b}\\.ocibundle-tmp-(\\d{1,10})-[0-9a-z]+$`), new RegExp(`^\\.${b}\\.ocibundle-tmp-(\\d{1,10})$`)];
}

/**
 * The root descriptor SRC names. With `all`, the whole tagged index (or manifest); otherwise, as
 * skopeo does, the one manifest for the platform (default: this host), named in DEST by its
 * tag without the platform its index entry had (skopeo writes no platform there either).
 */
async function rootOf(layout: Layout, ref: string, opts: CopyOptions): Promise<Descriptor> {
  if (opts.all === true && opts.platform !== undefined) throw new OciBundleError('EUSAGE', 'copy takes --all or --platform, not both');
  let found: Descriptor[];
  if (ref.startsWith('@')) found = [await digestRoot(layout, ref.slice(1), {})];
  else {
    found = tagEntries(layout.index, ref);
    if (found.length === 0) throw noSuchTag(ref, layout.path, layout.index);
  }
  const one = new Set(found.map((d) => d.digest)).size === 1;
  // one manifest is copied whatever its platform, as skopeo does; an index is reduced to one
  if (one && (opts.all === true || isManifestType(found[0]!.mediaType))) return found[0]!;
  if (opts.all !== true) {
    const d = await resolveManifestDescriptor(layout, ref, opts.platform === undefined ? {} : { platform: opts.platform });
    return { mediaType: d.mediaType, digest: d.digest, size: d.size };
  }
  throw new OciBundleError('EAMBIGUOUS', `tag ${ref} names several images in ${layout.path}; pick one with --platform`);
}

/**
 * Copies `ref` (a tag or `@DIGEST`) of an already open source layout to DEST. copyImage is this
 * after openSource; tests use it to put a wrapped store (slow, failing) behind the source.
 */
export async function copyFromLayout(source: Layout, ref: string, dest: string, opts: CopyOptions = {}): Promise<CopyResult> {
  const d = parseDestName(dest);
  jobsOf(opts.jobs);
  if (opts.compression !== undefined && !COMPRESSIONS.includes(opts.compression)) throw new OciBundleError('EUSAGE', `compression must be gzip, zstd or none, not ${JSON.stringify(String(opts.compression))}`);
  // docker save holds uncompressed layers of single images
  if (d.kind === 'docker-archive' && (opts.compression ?? 'none') !== 'none') throw new OciBundleError('EUSAGE', 'a docker-archive holds uncompressed layers: --dest-compress does not apply');
  const compression = d.kind === 'docker-archive' ? 'none' : opts.compression;
  const root = await rootOf(source, ref, opts);
  if (d.kind === 'docker-archive' && !isManifestType(root.mediaType)) throw new OciBundleError('EUSAGE', 'a docker-archive holds single images, not an index: drop --all or pick one with --platform');
  if (compression === undefined) return copyRoot(source, root, d, opts);
  // recompressed layers are written to a private work layout beside DEST (the temp dir for a registry)
  const parent = d.kind === 'docker' ? tmpdir() : dirname(resolve(d.path));
  await clearDeadTemps(parent, { kinds: ['recompress'] });
  const work = createTempDirSync(parent, 'recompress', 0o700);
  try {
    const view = await recompressedSource(source, root, compression, join(work, 'layout'), opts.signal);
    return await copyRoot(view.layout, view.root, d, opts);
  } finally {
    assertReplaceable(work, { what: 'temporary recompression layout' });
    await fsp.rm(work, { recursive: true, force: true });
  }
}

/** Copies `root` of `source` to the parsed destination. */
async function copyRoot(source: Layout, root: Descriptor, d: DestName, opts: CopyOptions): Promise<CopyResult> {
  if (d.kind === 'docker') return pushImage(source, root, d.path, opts);
  if (d.kind === 'dir') return copyToDir(source, root, d.path, opts);
  let layoutPath = d.path;
  let tempDir: string | undefined;
  const archive = d.kind === 'oci-archive' || d.kind === 'docker-archive';
  const tag = d.kind === 'docker-archive' ? 'latest' : d.tag;
  if (archive) {
    // the temps of killed copies to archives in this directory go first
    await clearDeadTemps(dirname(d.path), { kinds: ['archive'], legacy: legacyArchiveTemps(d.path) });
    tempDir = createTempDirSync(dirname(d.path), 'archive', 0o700);
    layoutPath = join(tempDir, 'layout');
  }
  let created = archive;
  let copier: Copier | undefined;
  let pin: Pin | undefined;
  let done = false;
  try {
    let target: Layout;
    if (d.kind === 'oci') {
      ({ layout: target, created } = await openOrInit(layoutPath));
      // the temps of killed writers go first: in the layout and in its blobs/<alg>/
      if (!created) await clearDeadTemps(layoutPath);
      if (!created && target.store instanceof DirStore) await target.store.clearBlobTemps();
    } else {
      target = await initLayout(layoutPath);
    }
    if (!(target.store instanceof DirStore)) throw new OciBundleError('EUSAGE', `copy destination ${target.path} is not a layout directory`);
    copier = new Copier(source, new LayoutTarget(target, target.store), opts);
    const top = await copier.plan({ mediaType: root.mediaType, digest: root.digest, size: root.size, ...(root.platform ? { platform: root.platform } : {}) });
    const refs = copier.referenced();
    // from here on a gc in another process spares these blobs, present or still to come
    pin = await pinBlobs(target, refs.keys());
    await copier.write();
    if (target.store instanceof DirStore) await target.store.syncBlobDir().catch(() => undefined);
    if (opts.signal?.aborted) throw new OciBundleError('EINTERRUPTED', 'copy interrupted; no tag written');
    const entry = await tagImage(target, top, tag, () => checkReferenced(target, refs));
    if (d.kind === 'oci-archive') await writeLayoutArchive(layoutPath, d.path);
    if (d.kind === 'docker-archive') {
      const { writeDockerArchive } = await import('./docker-archive-write.js');
      await writeDockerArchive(target, layoutPath, top, d.path, d.repoTag);
    }
    done = true;
    return { descriptor: entry, tag: d.kind === 'docker-archive' ? (d.repoTag ?? '') : tag, copied: copier.copied, skipped: copier.skipped };
  } finally {
    await pin?.release();
    if (tempDir !== undefined) {
      assertReplaceable(tempDir, { what: 'temporary archive layout' }); // never the cwd, $HOME, a mount point ...
      await fsp.rm(tempDir, { recursive: true, force: true });
    }
    else if (!done && created) await removeCreatedLayout(layoutPath, copier?.written ?? []).catch(() => undefined);
  }
}

/** Copies to a registry: blobs, then manifests by digest children first, then the tag (nothing tagged if any step fails). */
async function pushImage(source: Layout, root: Descriptor, name: string, opts: CopyOptions): Promise<CopyResult> {
  const { openPushTarget } = await loadPush();
  const reg = opts.registry ?? {};
  const dr = opts.destRegistry ?? {};
  const authfile = dr.authfile ?? reg.authfile;
  const trustRealms = dr.trustRealms ?? reg.trustRealms;
  const p = openPushTarget(name, source, {
    ...(dr.creds !== undefined ? { creds: dr.creds } : {}),
    ...(authfile !== undefined ? { authfile } : {}),
    ...(trustRealms !== undefined ? { trustRealms } : {}),
    ...(dr.chunkBytes !== undefined ? { chunkBytes: dr.chunkBytes } : {}),
    tlsVerify: dr.tlsVerify ?? true,
    ...(opts.onWarning ? { onWarning: opts.onWarning } : {}),
  });
  try {
    const copier = new Copier(source, p.target, opts);
    const top = await copier.plan({ mediaType: root.mediaType, digest: root.digest, size: root.size });
    await copier.write();
    if (opts.signal?.aborted) throw new OciBundleError('EINTERRUPTED', 'copy interrupted; no tag written');
    await p.target.putManifest(top, copier.docBytes(top.digest), p.tag);
    const { mounted, monolithic, chunked, patches } = p.target.counts;
    return { descriptor: top, tag: p.tag, copied: copier.copied, skipped: copier.skipped, uploads: { mounted, monolithic, chunked, patches } };
  } finally {
    p.close();
  }
}

/** Copies to `dir:PATH`: into a temp directory beside PATH, published by rename once complete. */
async function copyToDir(source: Layout, root: Descriptor, path: string, opts: CopyOptions): Promise<CopyResult> {
  const { DirTarget } = await import('./dir-target.js');
  const target = new DirTarget(path);
  try {
    await target.open();
    const copier = new Copier(source, target, opts);
    const top = await copier.plan({ mediaType: root.mediaType, digest: root.digest, size: root.size });
    await copier.write();
    if (opts.signal?.aborted) throw new OciBundleError('EINTERRUPTED', 'copy interrupted; nothing written');
    await target.publish(top);
    return { descriptor: top, tag: '', copied: copier.copied, skipped: copier.skipped };
  } finally {
    await target.discard();
  }
}

type PushModule = typeof import('../registry/push.js');

async function loadPush(): Promise<PushModule> {
  try {
    // a literal path, so the bundled CLI (scripts/bundle.mjs) carries the module
    return await import('../registry/push.js');
  } catch (e) {
    throw new OciBundleError('EUSAGE', 'docker:// destinations are not available in this build: the registry client is missing', { cause: e });
  }
}

export async function copyImage(src: string, dest: string, opts: CopyOptions = {}): Promise<CopyResult> {
  parseDestName(dest);
  jobsOf(opts.jobs);
  const source = await openSource(src, { ...opts, registry: { onWarning: opts.onWarning, ...opts.registry } });
  try {
    return await copyFromLayout(source.layout, source.ref, dest, opts);
  } catch (e) {
    // A bare system error (a full or read-only DEST) is named by the destination it hit.
    throw toOciBundleError(e, `cannot copy to ${dest}`);
  } finally {
    await source.close();
  }
}
