// The image-writing commands other than repack: new (an empty image), config (edits of the
// config and manifest), raw add-layer (a tar made elsewhere), insert (a host file or tree, a
// whiteout, an opaque marker). Each resolves PATH[:TAG], writes blobs pinned against gc and
// moves the tag (or --tag NEW) through commitImage under the layout lock.
import { closeSync, openSync, readSync, fstatSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { OciBundleError } from '../errors.js';
import { RootFS } from '../fs/rootfs.js';
import { checkTag, hostPlatform, openLayout, parseImageRef, resolveInLayout, type ImageConfig, type Manifest } from '../image/index.js';
import type { IdMap } from '../layer/ids.js';
import { cleanEntryPath } from '../layer/paths.js';
import { TarParser } from '../layer/tar.js';
import { applyConfigEdits, type ConfigEdits } from './config-edit.js';
import { historyEntry, nowRfc3339, sourceDateEpoch, type HistoryFlags } from './history.js';
import { commitImage } from './image-commit.js';
import { writeLayer, writeLayerBytes, type Compression, type LayerBlob } from './layer-blob.js';
import { LayerEntries } from './layer-entries.js';
import { walkRootfs } from './mtree-walk.js';

const CONFIG_MT = 'application/vnd.oci.image.config.v1+json';
const MANIFEST_MT = 'application/vnd.oci.image.manifest.v1+json';

function refParts(image: string): { path: string; tag: string } {
  const r = parseImageRef(image);
  if (r.digest) throw new OciBundleError('EUSAGE', 'this command writes a tag: give --image PATH[:TAG], not a digest');
  return { path: r.path, tag: r.tag ?? 'latest' };
}

/** `new --image PATH:TAG`: an image with no layers, the host's os/architecture. */
export async function newImage(image: string, signal?: AbortSignal): Promise<string> {
  const { path, tag } = refParts(image);
  const layout = await openLayout(path);
  const plat = hostPlatform();
  const config: ImageConfig = { created: nowRfc3339(), architecture: plat.architecture, os: plat.os, config: {}, rootfs: { type: 'layers', diff_ids: [] } };
  if (plat.variant) config.variant = plat.variant;
  const manifest: Manifest = { schemaVersion: 2, mediaType: MANIFEST_MT, config: { mediaType: CONFIG_MT, digest: 'sha256:' + '0'.repeat(64), size: 0 }, layers: [] } as Manifest;
  const c = await commitImage(layout, { descriptorPath: [{ mediaType: MANIFEST_MT, digest: 'sha256:' + '0'.repeat(64), size: 0 }], manifest, config }, {}, tag, signal);
  return c.manifest.digest;
}

async function base(image: string, newTag: string | undefined) {
  const { path, tag } = refParts(image);
  if (newTag !== undefined) checkTag(newTag);
  const layout = await openLayout(path);
  const img = await resolveInLayout(layout, tag);
  return { layout, img, tag: newTag ?? tag, baseImage: { descriptorPath: img.descriptorPath ?? [img.manifestDescriptor], manifest: img.manifest, config: img.config } };
}

export interface CommonOptions {
  image: string;
  /** write this tag instead of the one --image names */
  tag?: string;
  history?: HistoryFlags;
  /** SIGINT/SIGTERM of the CLI: stops the command before the tag moves (EINTERRUPTED). */
  signal?: AbortSignal;
}

/** `config`: edits of the config and manifest; no layer. */
export async function configImage(opts: CommonOptions & { edits: ConfigEdits }): Promise<string> {
  const { layout, img, tag, baseImage } = await base(opts.image, opts.tag);
  let manifestEdits: Manifest | null = null;
  const history = historyEntry(opts.history ?? {}, { author: opts.edits.author ?? img.config.author, createdBy: 'ocibundle config' });
  const c = await commitImage(layout, baseImage, {
    history,
    editConfig: (cfg) => {
      manifestEdits = structuredClone(img.manifest) as Manifest;
      applyConfigEdits(cfg, manifestEdits, opts.edits);
    },
    editManifest: (m) => {
      if (manifestEdits === null) return;
      if (manifestEdits.annotations === undefined) delete m.annotations;
      else m.annotations = manifestEdits.annotations;
    },
  }, tag, opts.signal);
  return c.manifest.digest;
}

async function commitLayer(layout: Awaited<ReturnType<typeof base>>, layer: LayerBlob, opts: CommonOptions, createdBy: string): Promise<string> {
  try {
    const h = historyEntry(opts.history ?? {}, { author: layout.img.config.author, createdBy });
    const c = await commitImage(layout.layout, layout.baseImage, { layer, history: h }, layout.tag, opts.signal);
    return c.manifest.digest;
  } finally {
    await layer.pin.release();
  }
}

/** `raw add-layer`: a tar file (checked as tar while it streams) becomes the top layer. */
export async function rawAddLayer(opts: CommonOptions & { file: string; compress?: Compression }): Promise<string> {
  const b = await base(opts.image, opts.tag);
  const fd = openSync(opts.file, 'r');
  try {
    if (!fstatSync(fd).isFile()) throw new OciBundleError('EUSAGE', `${opts.file} is not a regular file`);
    const parser = new TarParser({ onEntry: () => undefined, onData: () => undefined, onEntryEnd: () => undefined });
    const layer = await writeLayerBytes(b.layout, opts.compress ?? 'gzip', async (put) => {
      for (;;) {
        const buf = Buffer.allocUnsafe(1 << 20);
        const n = readSync(fd, buf, 0, buf.length, null);
        if (n === 0) break;
        const chunk = buf.subarray(0, n);
        if (!parser.finished) parser.write(chunk);
        await put(chunk);
      }
      parser.end();
    }, opts.signal);
    return await commitLayer(b, layer, opts, 'ocibundle raw add-layer');
  } finally {
    closeSync(fd);
  }
}

export interface InsertOptions extends CommonOptions {
  /** host file or directory; absent with whiteout */
  source?: string;
  target: string;
  whiteout?: boolean;
  opaque?: boolean;
  rootless?: boolean;
  uidMap?: IdMap[];
  gidMap?: IdMap[];
  compress?: Compression;
}

/** `insert`: SOURCE (a file or a whole tree, symlinks kept as links) at TARGET, or a whiteout. */
export async function insert(opts: InsertOptions): Promise<string> {
  const target = cleanEntryPath(opts.target);
  if (target === '.' && (opts.whiteout || !opts.source)) throw new OciBundleError('EUSAGE', 'cannot white out the root');
  const b = await base(opts.image, opts.tag);
  const epoch = sourceDateEpoch();
  const owner = { rootless: opts.rootless ?? false, uidMap: opts.uidMap ?? [], gidMap: opts.gidMap ?? [], ...(epoch === undefined ? {} : { clampTo: epoch }) };
  const now = { sec: epoch ?? Math.floor(Date.now() / 1000), nsec: 0 };
  let fs: RootFS | null = null;
  let single = false;
  if (!opts.whiteout) {
    if (!opts.source) throw new OciBundleError('EUSAGE', 'insert needs SOURCE and TARGET (or --whiteout TARGET)');
    const src = resolve(opts.source);
    try {
      fs = RootFS.open(src);
    } catch {
      fs = RootFS.open(dirname(src));
      single = true;
    }
    if (single && opts.opaque) throw new OciBundleError('EUSAGE', '--opaque needs a directory SOURCE');
  }
  try {
    const layer = await writeLayer(b.layout, opts.compress ?? 'gzip', async (w) => {
      const out = new LayerEntries(fs!, w, owner);
      if (opts.whiteout) await out.whiteout(target, now);
      else {
        if (opts.opaque) await out.opaque(target, now);
        const name = single ? basename(resolve(opts.source!)) : '.';
        const skip = single ? (p: string) => p !== name : () => false;
        for (const d of walkRootfs(fs!, (p) => single && skip(p))) {
          if (single && d.path === '.') continue;
          const rel = single ? '' : d.path === '.' ? '' : d.path;
          const as = rel === '' ? target : target === '.' ? rel : `${target}/${rel}`;
          await out.add(d, as);
        }
      }
      await w.finish();
    }, opts.signal);
    return await commitLayer(b, layer, opts, 'ocibundle insert');
  } finally {
    fs?.close();
  }
}
