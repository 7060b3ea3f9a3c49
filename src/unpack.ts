// `unpack` and `raw unpack` as library functions: resolve the image, build the rootfs under a
// temporary name, stream every layer through verification, decompression, diff_id hashing and
// the applier, then rename into place and write config.json last. Any failure or abort
// removes what this run made; a SIGKILLed run leaves only a `.ocibundle-*.tmp` name behind,
// which the next run clears. Owns the bundle's life cycle, not the semantics of entries.
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { OciBundleError, type WarnFn } from './errors.js';
import { RootFS } from './fs/rootfs.js';
import { openBlob, type Descriptor, type ResolvedImage } from './image/index.js';
import { layerStreams } from './pipeline/layer-stream.js';
import { openImage } from './open-image.js';
import type { SourceOptions } from './source/index.js';
import { Applier, type ApplyStats } from './layer/apply.js';
import { TarParser } from './layer/tar.js';
import type { IdMap } from './layer/ids.js';
import { buildRuntimeConfig, readUserDb, writeFileAtomic, type RuntimeConfigOptions } from './runtime-config.js';
import { checkShape } from './spec/index.js';

export interface UnpackProgress {
  layer: number; // 0-based index of the layer being applied
  layers: number;
  compressedDone: number; // bytes of compressed layer blobs read so far, all layers
  compressedTotal: number;
}

export interface UnpackOptions extends Omit<RuntimeConfigOptions, 'passwd' | 'group'> {
  /** An image name as on the command line: `PATH[:TAG]`, `PATH@DIGEST`, `oci:`, `oci-archive:`,
   * `docker-archive:` or `docker://` (see src/source). */
  image: string;
  /** Registry flags for docker:// names. */
  source?: SourceOptions;
  /** The bundle directory (unpack) or the rootfs directory itself (rootfsOnly). */
  bundle: string;
  /** `raw unpack`: write only a rootfs at `bundle`, no config.json. */
  rootfsOnly?: boolean;
  platform?: string;
  /** Replace an existing rootfs / config.json. */
  force?: boolean;
  rootless?: boolean;
  uidMap?: IdMap[];
  gidMap?: IdMap[];
  keepDirlinks?: boolean;
  /** Cap on the total bytes of file content written. */
  maxSize?: number;
  signal?: AbortSignal;
  onWarning?: WarnFn;
  onProgress?: (p: UnpackProgress) => void;
  /** Force the component-walk resolver instead of openat2 (tests). */
  resolver?: 'openat2' | 'walk' | 'auto';
}

export interface LayerSummary {
  digest: string;
  diffId: string;
  mediaType: string;
  size: number;
}

export interface UnpackSummary {
  rootfs: string;
  config: string | null;
  manifest: string;
  imageConfig: string;
  layers: LayerSummary[];
  stats: ApplyStats;
  resolver: 'openat2' | 'walk';
  ms: number;
}

const TMP_PREFIX = '.ocibundle-';

export async function unpack(opts: UnpackOptions): Promise<UnpackSummary> {
  const started = performance.now();
  if (!opts.rootfsOnly) checkShape(opts); // a bad flag fails before any layer is read
  const img = await openImage(opts.image, opts.platform, opts.source ?? {});
  try {
    return await unpackResolved(img, opts, started);
  } finally {
    await img.close();
  }
}

async function unpackResolved(img: ResolvedImage, opts: UnpackOptions, started: number): Promise<UnpackSummary> {
  const warn: WarnFn = opts.onWarning ?? (() => {});
  const targets = planTargets(opts, warn);
  const tmpRootfs = join(targets.workDir, `${TMP_PREFIX}rootfs-${process.pid}-${Date.now().toString(36)}.tmp`);
  mkdirSync(tmpRootfs, { mode: 0o755 });
  let fs: RootFS | null = null;
  try {
    fs = RootFS.open(tmpRootfs, opts.resolver === undefined ? {} : { resolver: opts.resolver });
    const applier = new Applier(fs, {
      rootless: opts.rootless ?? false,
      uidMap: opts.uidMap ?? [],
      gidMap: opts.gidMap ?? [],
      keepDirlinks: opts.keepDirlinks ?? false,
      diskPath: tmpRootfs,
      warn,
      ...(opts.maxSize === undefined ? {} : { maxBytes: opts.maxSize }),
    });
    const layers = await applyLayers(img, applier, opts);
    applier.finish();
    let configText: string | null = null;
    if (!targets.rootfsOnly) {
      const spec = buildRuntimeConfig(img.config, { ...opts, ...readUserDb(fs), warn });
      configText = `${JSON.stringify(spec, null, '\t')}\n`;
    }
    const resolver = fs.resolver;
    fs.close();
    fs = null;
    publish(targets, tmpRootfs, configText);
    return {
      rootfs: targets.rootfs,
      config: targets.config,
      manifest: img.manifestDescriptor.digest,
      imageConfig: img.configDescriptor.digest,
      layers,
      stats: applier.stats,
      resolver,
      ms: Math.round(performance.now() - started),
    };
  } catch (e) {
    fs?.close();
    try {
      removeTree(tmpRootfs);
    } catch {
      // keep the first error; the `.ocibundle-*.tmp` name is cleared by the next run
    }
    if (opts.signal?.aborted) throw new OciBundleError('EINTERRUPTED', 'unpack interrupted; nothing was left behind', { cause: e });
    throw e;
  }
}

async function applyLayers(img: ResolvedImage, applier: Applier, opts: UnpackOptions): Promise<LayerSummary[]> {
  const diffIds = img.config.rootfs.diff_ids;
  const compressedTotal = img.layers.reduce((n, l) => n + l.size, 0);
  let compressedDone = 0;
  const out: LayerSummary[] = [];
  const streams = layerStreams(img, opts.signal === undefined ? {} : { signal: opts.signal });
  try {
    for (const [i, desc] of img.layers.entries()) {
      opts.onProgress?.({ layer: i, layers: img.layers.length, compressedDone, compressedTotal });
      try {
        await applyLayer(desc, streams.layer(i), applier, opts.signal);
      } catch (e) {
        // A tampered blob usually breaks decompression or the tar first: name the real fault.
        const tampered = opts.signal?.aborted ? null : await blobFault(img, desc);
        throw tampered ? new OciBundleError(tampered.code, tampered.message, { cause: e }) : e;
      }
      compressedDone += desc.size;
      opts.onProgress?.({ layer: i, layers: img.layers.length, compressedDone, compressedTotal });
      out.push({ digest: desc.digest, diffId: diffIds[i]!, mediaType: desc.mediaType, size: desc.size });
    }
  } finally {
    await streams.close();
  }
  return out;
}

/**
 * One layer: its verified, decompressed bytes (see src/pipeline) -> tar parser -> applier.
 * Bytes after the end-of-archive marker are still read (and hashed) by the source.
 */
async function applyLayer(desc: Descriptor, source: AsyncIterable<Buffer>, applier: Applier, signal: AbortSignal | undefined): Promise<void> {
  const parser = new TarParser(applier.layer());
  try {
    for await (const chunk of source) {
      if (signal?.aborted) throw new OciBundleError('EINTERRUPTED', 'unpack interrupted');
      if (!parser.finished) parser.write(chunk);
    }
    parser.end();
  } catch (e) {
    applier.abort();
    if (e instanceof OciBundleError) throw e;
    const code = (e as { code?: string }).code;
    if (code === 'ENOSPC' || code === 'EDQUOT') throw new OciBundleError('ELIMIT', `layer ${desc.digest}: disk full`, { cause: e });
    throw new OciBundleError('ETAR', `layer ${desc.digest}: ${(e as Error).message}`, { cause: e });
  }
}

interface Targets {
  workDir: string; // where the temporary rootfs is built (same file system as the target)
  rootfs: string;
  config: string | null;
  rootfsOnly: boolean;
  force: boolean;
}

function planTargets(opts: UnpackOptions, warn: WarnFn): Targets {
  const target = resolve(opts.bundle);
  const force = opts.force ?? false;
  // 0700 keeps setuid files and devices away from other users; with an id map the runtime's
  // mapped root is such an "other" user and must still reach BUNDLE/rootfs: 0711 (search only).
  const mapped = (opts.uidMap?.length ?? 0) > 0 || (opts.gidMap?.length ?? 0) > 0;
  if (opts.rootfsOnly) {
    const parent = dirname(target);
    mkdirSync(parent, { recursive: true });
    if (existsSync(target) && !force) throw new OciBundleError('EEXIST', `${target} exists (use --force to replace it)`);
    clearStale(parent, `${TMP_PREFIX}rootfs-`);
    if (mapped) warnUnsearchable(target, opts.uidMap ?? [], warn);
    return { workDir: parent, rootfs: target, config: null, rootfsOnly: true, force };
  }
  if (!existsSync(target)) {
    mkdirSync(target, { recursive: true, mode: 0o700 });
    if (mapped) chmodSync(target, 0o711);
  } else if (!statSync(target).isDirectory()) throw new OciBundleError('EEXIST', `bundle ${target} exists and is not a directory`);
  if (mapped) warnUnsearchable(join(target, 'rootfs'), opts.uidMap ?? [], warn);
  const rootfs = join(target, 'rootfs');
  const config = join(target, 'config.json');
  for (const p of [rootfs, config]) {
    if (existsSync(p) && !force) throw new OciBundleError('EEXIST', `${p} exists (use --force to replace it)`);
  }
  clearStale(target, TMP_PREFIX);
  return { workDir: target, rootfs, config, rootfsOnly: false, force };
}

/**
 * WBUNDLEMODE for the first directory from the rootfs's parent up to `/` that the runtime's
 * mapped root (the host uid that container uid 0 maps to) cannot search.
 */
function warnUnsearchable(rootfs: string, uidMap: IdMap[], warn: WarnFn): void {
  const root = uidMap.find((m) => m.containerID === 0)?.hostID;
  for (let d = dirname(rootfs); ; d = dirname(d)) {
    const st = statSync(d);
    const searchable = st.uid === root ? (st.mode & 0o100) !== 0 : (st.mode & 0o001) !== 0;
    if (!searchable) {
      warn({ code: 'WBUNDLEMODE', message: `${d} (mode ${(st.mode & 0o777).toString(8)}) is not searchable by the mapped root (host uid ${root ?? 'unmapped'}): the runtime cannot reach ${rootfs}` });
      return;
    }
    if (d === dirname(d)) return;
  }
}

/** EDIGEST/ESIZE when the layer blob does not match its descriptor, else null. */
async function blobFault(img: ResolvedImage, desc: Descriptor): Promise<OciBundleError | null> {
  try {
    for await (const chunk of openBlob(img.layout, desc)) void chunk;
    return null;
  } catch (e) {
    return e instanceof OciBundleError && (e.code === 'EDIGEST' || e.code === 'ESIZE') ? e : null;
  }
}

/**
 * rm -rf for a tree this run made or is replacing. rmSync works on host paths and fails on
 * trees deeper than PATH_MAX (a hostile image can build one through symlinked parents);
 * then the tree is emptied through fd-relative RootFS removal and removed again.
 */
function removeTree(p: string): void {
  try {
    rmSync(p, { recursive: true, force: true });
    return;
  } catch (e) {
    if (!lstatSync(p, { throwIfNoEntry: false })?.isDirectory()) throw e;
  }
  const fs = RootFS.open(p);
  try {
    for (const name of fs.readdir('.')) fs.remove(name);
  } finally {
    fs.close();
  }
  rmSync(p, { recursive: true, force: true });
}

/** Remove leftovers of runs that were killed before they could clean up. */
function clearStale(dir: string, prefix: string): void {
  for (const name of readdirSync(dir)) {
    if (!name.startsWith(prefix) || !name.endsWith('.tmp')) continue;
    // Names carry the pid of the run that made them: leave a live run's work alone.
    const pid = Number(/-(\d+)(?:-[0-9a-z]+)?\.tmp$/.exec(name)?.[1]);
    if (pid > 0 && pid !== process.pid && isAlive(pid)) continue;
    removeTree(join(dir, name));
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as { code?: string }).code === 'EPERM';
  }
}

/** Move the finished rootfs into place, then write config.json (temp + fsync + rename). */
function publish(t: Targets, tmpRootfs: string, configText: string | null): void {
  if (t.force) {
    if (t.config) rmSync(t.config, { force: true });
    removeTree(t.rootfs);
  }
  renameSync(tmpRootfs, t.rootfs);
  if (t.config === null || configText === null) return;
  try {
    writeFileAtomic(t.config, configText);
  } catch (e) {
    rmSync(t.rootfs, { recursive: true, force: true });
    throw e;
  }
}
