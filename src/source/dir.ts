// `dir:PATH`, skopeo's directory transport, as a source: `version` must say "Directory
// Transport Version: 1.x", `manifest.json` is the image's manifest (or index, with its
// instances as HEX.manifest.json), every other blob is a file named by its sha256 hex. Served
// as a read-only layout whose index.json has that one manifest; files are opened O_NOFOLLOW and
// must be regular files. Never writes (dir-target.ts writes this format).
import { constants as C, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { OciBundleError } from '../errors.js';
import { digestOf, parseDigest } from '../image/digest.js';
import { parseJsonCapped } from '../image/json.js';
import { JSON_CAP } from '../image/blob.js';
import { isIndexType, isManifestType, MT } from '../image/media-types.js';
import type { Layout } from '../image/layout.js';
import { ReadOnlyStore, type RawBlob } from '../image/store.js';
import { REF_NAME_ANNOTATION, type ImageIndex } from '../image/types.js';

export const DIR_VERSION = 'Directory Transport Version: 1.1\n';
const VERSION_RE = /^Directory Transport Version: 1\.[0-9]+\n?$/;
const OPEN = C.O_RDONLY | C.O_NONBLOCK | C.O_NOFOLLOW;

/** Opens a direct child of `dir` for reading: a regular file, never through a symlink. */
async function openChild(dir: string, name: string, what: string): Promise<fsp.FileHandle | undefined> {
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(join(dir, name), OPEN);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP') throw new OciBundleError('EBLOBTYPE', `dir:${dir}: ${what} ${name} is a symlink; refused`, { cause: e });
    if (code === 'ENXIO' || code === 'ENODEV' || code === 'EOPNOTSUPP') throw new OciBundleError('EBLOBTYPE', `dir:${dir}: ${what} ${name} is not a regular file`, { cause: e });
    throw new OciBundleError('EIO', `dir:${dir}: cannot open ${what} ${name}`, { cause: e });
  }
  const st = await fh.stat();
  if (!st.isFile()) {
    await fh.close();
    throw new OciBundleError('EBLOBTYPE', `dir:${dir}: ${what} ${name} is not a regular file; refused`);
  }
  return fh;
}

async function readChild(dir: string, name: string, cap: number, what: string): Promise<Buffer | undefined> {
  const fh = await openChild(dir, name, what);
  if (!fh) return undefined;
  try {
    const st = await fh.stat();
    if (st.size > cap) throw new OciBundleError('ELIMIT', `dir:${dir}: ${name} is ${st.size} bytes, over the ${cap}-byte limit`);
    return await fh.readFile();
  } finally {
    await fh.close();
  }
}

/** A manifest document's media type: its own field, else its shape. */
export function documentType(bytes: Buffer, what: string): string {
  const doc = parseJsonCapped(bytes, what, { code: 'ESCHEMA' }) as Record<string, unknown> | null;
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new OciBundleError('ESCHEMA', `${what} is not a json object`);
  const declared = typeof doc['mediaType'] === 'string' ? (doc['mediaType'] as string) : undefined;
  const mt = declared ?? ('manifests' in doc ? MT.ociIndex : 'config' in doc ? MT.ociManifest : undefined);
  if (doc['schemaVersion'] === 1) throw new OciBundleError('EMEDIATYPE', `${what} is a docker schema 1 manifest, which is not supported`);
  if (mt === undefined || !(isIndexType(mt) || isManifestType(mt))) {
    throw new OciBundleError('EMEDIATYPE', `${what} has media type ${JSON.stringify(String(mt).slice(0, 200))}, neither an index nor a manifest`);
  }
  return mt;
}

/** The blobs of a dir: image: manifest.json for the top digest, HEX.manifest.json or HEX for others. */
class DirTransportStore extends ReadOnlyStore {
  constructor(
    private readonly dir: string,
    private readonly top: string,
    index: Buffer,
  ) {
    super(index);
  }
  protected get readOnly(): string {
    return `dir:${this.dir}: a dir: source is read-only`;
  }

  /** The file holding `digest`, opened; undefined when there is none. */
  private async find(digest: string): Promise<fsp.FileHandle | undefined> {
    const { algorithm, hex } = parseDigest(digest);
    if (algorithm !== 'sha256') return undefined;
    if (digest === this.top) return openChild(this.dir, 'manifest.json', 'manifest');
    return (await openChild(this.dir, `${hex}.manifest.json`, 'manifest')) ?? openChild(this.dir, hex, 'blob');
  }

  async openBlob(digest: string): Promise<RawBlob> {
    const fh = await this.find(digest);
    if (!fh) throw new OciBundleError('ENOBLOB', `blob ${digest} not found in dir:${this.dir}`);
    const { size } = await fh.stat();
    return {
      size,
      read: async (buf, length) => (await fh.read(buf, 0, length, null)).bytesRead,
      close: () => fh.close(),
    };
  }

  async statBlob(digest: string): Promise<number | undefined> {
    const fh = await this.find(digest);
    if (!fh) return undefined;
    try {
      return (await fh.stat()).size;
    } finally {
      await fh.close();
    }
  }

  async listBlobs(): Promise<string[]> {
    const out = [this.top];
    for (const n of await fsp.readdir(this.dir)) {
      const m = /^([0-9a-f]{64})(\.manifest\.json)?$/.exec(n);
      if (m) out.push(`sha256:${m[1]}`);
    }
    return [...new Set(out)];
  }
}

/** Opens `dir:PATH` as a read-only layout whose tag `latest` names manifest.json. */
export async function openDirSource(dir: string): Promise<Layout> {
  const st = await fsp.stat(dir).catch(() => undefined);
  if (!st?.isDirectory()) throw new OciBundleError('ENOLAYOUT', `dir:${dir}: no such directory`);
  const version = await readChild(dir, 'version', 1024, 'version file');
  if (version === undefined) throw new OciBundleError('ENOLAYOUT', `dir:${dir} is not a dir: image: no version file`);
  if (!VERSION_RE.test(version.toString('latin1'))) {
    throw new OciBundleError('EBADLAYOUT', `dir:${dir}: version file says ${JSON.stringify(version.toString('latin1').slice(0, 80))}, not Directory Transport Version 1.x`);
  }
  const manifest = await readChild(dir, 'manifest.json', JSON_CAP, 'manifest');
  if (manifest === undefined) throw new OciBundleError('ENOLAYOUT', `dir:${dir} has no manifest.json`);
  const digest = digestOf(manifest);
  const mediaType = documentType(manifest, `dir:${dir}/manifest.json`);
  const index: ImageIndex = { schemaVersion: 2, manifests: [{ mediaType, digest, size: manifest.length, annotations: { [REF_NAME_ANNOTATION]: 'latest' } }] };
  const bytes = Buffer.from(JSON.stringify(index));
  return { path: `dir:${dir}`, store: new DirTransportStore(dir, digest, bytes), index };
}
