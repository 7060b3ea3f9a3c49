// `repack`: the bundle's rootfs diffed against its mtree becomes one new layer on the image
// the bundle came from (umoci.json's descriptor walk), committed under a tag. New and changed
// objects are added, deleted ones whited out; an unchanged rootfs adds no layer (only a
// history entry unless --no-history). --refresh-bundle rewrites the bundle's metadata for
// the new image. The bundle is read only through RootFS: no symlink in it is ever followed.
import { join } from 'node:path';
import { OciBundleError, type WarnFn } from '../errors.js';
import { RootFS } from '../fs/rootfs.js';
import { loadImage, openLayout, parseImageRef } from '../image/index.js';
import { cleanEntryPath } from '../layer/paths.js';
import { readBundleMeta, recordedMaps, writeBundleMeta } from './bundle-meta.js';
import { historyEntry, sourceDateEpoch, type HistoryFlags } from './history.js';
import { commitImage } from './image-commit.js';
import { writeLayer, type Compression } from './layer-blob.js';
import { LayerEntries } from './layer-entries.js';
import { diffRootfs } from './rootfs-diff.js';

export interface RepackOptions {
  /** PATH[:TAG]: the layout the bundle was unpacked from, and the tag to write (default latest). */
  image: string;
  bundle: string;
  history?: HistoryFlags;
  compress?: Compression;
  refreshBundle?: boolean;
  /** Paths in the rootfs whose changes are ignored. */
  maskPaths?: string[];
  /** Do not mask the image's Config.Volumes (umoci masks them by default). */
  noMaskVolumes?: boolean;
  onWarning?: WarnFn;
  /** SIGINT/SIGTERM of the CLI: stops the repack before the tag moves (EINTERRUPTED). */
  signal?: AbortSignal;
}

export interface RepackResult {
  manifest: string;
  layer: string | null;
  added: number;
  whiteouts: number;
  hashed: number;
}

export async function repack(opts: RepackOptions): Promise<RepackResult> {
  const ref = parseImageRef(opts.image);
  if (ref.digest) throw new OciBundleError('EUSAGE', 'repack writes a tag: give --image PATH[:TAG], not a digest');
  const tag = ref.tag ?? 'latest';
  const { meta, mtree, trustedUntil } = readBundleMeta(opts.bundle);
  const layout = await openLayout(ref.path);
  const path = meta.descriptorPath;
  const base = await loadImage(layout, path[path.length - 1]!);
  const epoch = sourceDateEpoch();
  const mask = [...(opts.maskPaths ?? [])];
  if (!opts.noMaskVolumes) mask.push(...Object.keys(base.config.config?.Volumes ?? {}));
  const cleanMask = mask.map((m) => cleanEntryPath(m)).filter((m) => m !== '.');
  const fs = RootFS.open(join(opts.bundle, 'rootfs'));
  try {
    const diff = diffRootfs(fs, mtree, { mask: cleanMask, trustedUntil });
    const maps = recordedMaps(meta);
    const history = historyEntry(opts.history ?? {}, { author: base.config.author, createdBy: 'ocibundle repack' });
    let layer: Awaited<ReturnType<typeof writeLayer>> | undefined;
    let entries: LayerEntries | undefined;
    if (diff.adds.length > 0 || diff.whiteouts.length > 0) {
      layer = await writeLayer(layout, opts.compress ?? 'gzip', async (w) => {
        entries = new LayerEntries(fs, w, { rootless: meta.rootless, uidMap: maps.uid, gidMap: maps.gid, ...(epoch === undefined ? {} : { clampTo: epoch }) });
        const t = { sec: epoch ?? 0, nsec: 0 };
        for (const p of diff.whiteouts) await entries.whiteout(p, t);
        for (const d of diff.adds) await entries.add(d);
        await w.finish();
      }, opts.signal);
    }
    try {
      const committed = await commitImage(layout, { descriptorPath: path, manifest: base.manifest, config: base.config }, {
        ...(layer ? { layer } : {}),
        history,
      }, tag, opts.signal);
      if (opts.refreshBundle) {
        for (const [p, sha] of entries?.digests ?? []) {
          const e = diff.current.get(p);
          if (e && e.type === 'file') e.sha256 = sha;
        }
        writeBundleMeta(opts.bundle, { ...meta, descriptorPath: committed.descriptorPath }, diff.current);
      }
      return { manifest: committed.manifest.digest, layer: layer?.descriptor.digest ?? null, added: diff.adds.length, whiteouts: diff.whiteouts.length, hashed: diff.hashed };
    } finally {
      await layer?.pin.release();
    }
  } finally {
    fs.close();
  }
}
