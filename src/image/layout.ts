// Opening and creating OCI image layouts on disk: the oci-layout marker, the blobs/
// directory and a structurally valid index.json. Returns a Layout (path, store, index
// snapshot). Never follows the tag; resolution lives in resolve.ts.
import { promises as fsp, realpathSync } from 'node:fs';
import { OciBundleError, toOciBundleError } from '../errors.js';
import { checkIndexShape } from './checks.js';
import { readRegularFile, fsyncDir } from './fsutil.js';
import { CREATE_EXCL } from '../host/temp.js';
import { DirStore, MemStore, type BlobStore } from './store.js';
import type { ImageIndex } from './types.js';
import { join } from 'node:path';

export interface Layout {
  /** The layout directory as given (or a label for a memory store). */
  readonly path: string;
  readonly store: BlobStore;
  /** index.json as read when the layout was opened (updateIndex re-reads under the lock). */
  readonly index: ImageIndex;
  /** Stamp (inode, size, mtime) of index.json when `index` was read, if the store has one. */
  readonly indexStamp?: string | undefined;
  /**
   * True when the source made the manifests up (docker-archive): nothing vouches for what
   * they assert but the source's reading of the files, so a copy verifies the diff_ids too.
   */
  readonly synthesised?: boolean;
}

export const LAYOUT_VERSION = '1.0.0';

/** Parses and checks index.json bytes; EBADLAYOUT naming `where`. */
export function parseIndexJson(bytes: Buffer, where: string): ImageIndex {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw new OciBundleError('EBADLAYOUT', `${where}/index.json is not valid json`, { cause: e });
  }
  // umoci 0.4.7's `init` writes `"manifests": null` (Go's nil slice): an empty layout. Read as
  // [], so the next index write says [] (the schema wants an array).
  if (typeof doc === 'object' && doc !== null && (doc as { manifests?: unknown }).manifests === null) {
    (doc as { manifests: unknown[] }).manifests = [];
  }
  try {
    checkIndexShape(doc, `${where}/index.json`);
  } catch (e) {
    throw new OciBundleError('EBADLAYOUT', `${where}/index.json is invalid`, { cause: e });
  }
  return doc as ImageIndex;
}

function errCode(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | null)?.code;
}

/** Opens a layout directory; ENOLAYOUT if it is not one, EBADLAYOUT if it is a broken one. */
export async function openLayout(path: string): Promise<Layout> {
  let st;
  try {
    st = await fsp.stat(path);
  } catch (e) {
    throw new OciBundleError('ENOLAYOUT', `no oci image layout at ${path}: ${errCode(e) === 'ENOENT' ? 'no such directory' : 'cannot stat'}`, { cause: e });
  }
  if (!st.isDirectory()) throw new OciBundleError('ENOLAYOUT', `no oci image layout at ${path}: not a directory`);
  let marker: Buffer;
  try {
    marker = await readRegularFile(join(path, 'oci-layout'), 64 * 1024, 'oci-layout');
  } catch (e) {
    if (errCode(e) === 'ENOENT') throw new OciBundleError('ENOLAYOUT', `no oci image layout at ${path}: oci-layout file missing`, { cause: e });
    if (e instanceof OciBundleError) throw new OciBundleError('EBADLAYOUT', `${path}/oci-layout is unusable`, { cause: e });
    throw new OciBundleError('EBADLAYOUT', `${path}/oci-layout cannot be read`, { cause: e });
  }
  let version: unknown;
  try {
    version = (JSON.parse(marker.toString('utf8')) as { imageLayoutVersion?: unknown } | null)?.imageLayoutVersion;
  } catch (e) {
    throw new OciBundleError('EBADLAYOUT', `${path}/oci-layout is not valid json`, { cause: e });
  }
  if (version !== LAYOUT_VERSION) {
    throw new OciBundleError('EBADLAYOUT', `${path}/oci-layout has imageLayoutVersion ${JSON.stringify(version)}, want "${LAYOUT_VERSION}"`);
  }
  try {
    const b = await fsp.lstat(join(path, 'blobs'));
    if (!b.isDirectory()) throw new OciBundleError('EBADLAYOUT', `${path}/blobs is ${b.isSymbolicLink() ? 'a symlink; refused' : 'not a directory'}`);
  } catch (e) {
    if (e instanceof OciBundleError) throw e;
    throw new OciBundleError('EBADLAYOUT', `${path}/blobs is missing`, { cause: e });
  }
  const store = new DirStore(path, realpathSync(path));
  let bytes: Buffer;
  try {
    bytes = await store.readIndex();
  } catch (e) {
    if (e instanceof OciBundleError && e.code === 'ELIMIT') throw e;
    throw new OciBundleError('EBADLAYOUT', `${path}/index.json ${errCode(e) === 'ENOENT' ? 'is missing' : 'cannot be read'}`, { cause: e });
  }
  return { path, store, index: parseIndexJson(bytes, path), indexStamp: store.lastIndexStamp };
}

/** A layout over an in-memory store (tests). */
export async function memoryLayout(store: MemStore, label = 'memory'): Promise<Layout> {
  return { path: label, store, index: parseIndexJson(await store.readIndex(), label) };
}

/** Creates an empty layout at `path`, which must not exist (EEXIST). */
export async function initLayout(path: string): Promise<Layout> {
  try {
    await fsp.mkdir(path, { mode: 0o755 });
  } catch (e) {
    if (errCode(e) === 'EEXIST') throw new OciBundleError('EEXIST', `cannot create layout ${path}: it exists`);
    throw new OciBundleError('EIO', `cannot create layout ${path}`, { cause: e });
  }
  const made: string[] = [];
  const write = async (name: string, text: string) => {
    const fh = await fsp.open(join(path, name), CREATE_EXCL, 0o644);
    made.push(name);
    try {
      await fh.writeFile(text);
      await fh.sync();
    } finally {
      await fh.close();
    }
  };
  try {
    await fsp.mkdir(join(path, 'blobs', 'sha256'), { recursive: true, mode: 0o755 });
    await write('oci-layout', JSON.stringify({ imageLayoutVersion: LAYOUT_VERSION }));
    await write('index.json', JSON.stringify({ schemaVersion: 2, manifests: [] }));
    await fsyncDir(path);
  } catch (e) {
    // a half-made layout (a full disk, say) is undone: only the names made here, no recursion
    for (const name of made) await fsp.unlink(join(path, name)).catch(() => undefined);
    for (const dir of [join(path, 'blobs', 'sha256'), join(path, 'blobs'), path]) await fsp.rmdir(dir).catch(() => undefined);
    throw toOciBundleError(e, `cannot create layout ${path}`);
  }
  return openLayout(path);
}
