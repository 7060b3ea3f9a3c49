// `unpack` and `raw unpack` as library functions: resolve the image, build the rootfs under a
// temporary name, stream every layer through verification, decompression, diff_id hashing and
// the applier, then rename into place (what it replaces moved aside first) and write
// config.json last. Any failure or abort removes what this run made; a SIGKILLed run leaves a
// complete bundle or one without config.json, plus `.ocibundle-*.tmp` names the next run
// clears. Owns the bundle's life cycle (host paths through src/host/guard), not entry semantics.
import { chmodSync, lstatSync, mkdirSync, readdirSync, readlinkSync, renameSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { checkUnpackOptions } from './api-options.js';
import { OciBundleError, renameInError, toOciBundleError, type WarnFn } from './errors.js';
import { mkdirpSync } from './host/mkdirp.js';
import { assertOutsideSources, assertPathArg, assertReplaceable } from './host/guard.js';
import { RootFS } from './fs/rootfs.js';
import { pidAlive } from './host/owner.js';
import { parseTempName, tempName } from './host/temp.js';
import { syncFileSystemOf } from './host/durable.js';
import { removeTree as removeTreeUnguarded } from './fs/remove-tree.js';
import type { ResolvedImage } from './image/index.js';
import { applyLayerBytes } from './pipeline/apply-layer.js';
import { layerStreams } from './pipeline/layer-stream.js';
import { openImage } from './open-image.js';
import { localSourcePaths, type SourceOptions } from './source/index.js';
import { step } from './test-hooks.js';
import { Applier, type ApplyStats } from './layer/apply.js';
import type { IdMap } from './layer/ids.js';
import { buildRuntimeConfig, readUserDb, runtimeConfigText, writeFileAtomic, type RuntimeConfigOptions } from './runtime-config.js';
import { checkShape } from './spec/index.js';
import { BundleRecorder } from './build/unpack-meta.js';

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
  /** Write umoci.json and the mtree into the bundle, for repack by ocibundle or umoci (default true; with `overlay`, only when true). */
  mtree?: boolean;
  /** Flush the bundle to disk (syncfs of its file system) before config.json is written and
   * again before returning. Default false: like umoci and GNU tar, a finished unpack survives
   * a kill of the process, not a power loss. */
  sync?: boolean;
  /** A layer store directory (see src/store): layers are extracted there once and reused. */
  store?: string;
  /** With `store`: BUNDLE/rootfs becomes an overlay mount of the store's layers. */
  overlay?: boolean;
  /** Called with the store's per-layer results (hit or extracted), for the summary. */
  onStoreLayers?: (results: ('hit' | 'extracted')[], copy?: { copiedBytes: number; skippedBytes: number; skippedEntries: number }) => void;
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
  /** With a store: its directory and, per layer, whether it was there already or extracted now;
   * without overlay also the file bytes copied from it and those not copied because a higher
   * layer replaces or removes the file. */
  store?: { dir: string; layers: ('hit' | 'extracted')[]; overlay: boolean; copiedBytes?: number; skippedBytes?: number; skippedEntries?: number };
}

/** Progress events within a layer come at most this often (10 a second). */
const PROGRESS_MS = 100;

export async function unpack(opts: UnpackOptions): Promise<UnpackSummary> {
  const started = performance.now();
  checkUnpackOptions(opts); // a JavaScript caller's wrong shape: EUSAGE naming the option
  if (!opts.rootfsOnly) checkShape(opts); // a bad flag fails before any layer is read
  assertPathArg(opts.bundle, opts.rootfsOnly ? 'rootfs' : 'bundle');
  const sources = localSourcePaths(opts.image, opts.source ?? {});
  assertOutsideSources(opts.bundle, opts.rootfsOnly ? 'rootfs' : 'bundle', sources);
  // a registry source reports (e.g. a corrupt cache entry fetched again) through the same callback
  const source = { ...opts.source, registry: { onWarning: opts.onWarning, ...opts.source?.registry } };
  const img = await openImage(opts.image, opts.platform, source, opts.onWarning);
  try {
    return await unpackResolved(img, opts, started, sources);
  } finally {
    await img.close();
  }
}

async function unpackResolved(img: ResolvedImage, opts: UnpackOptions, started: number, sources: string[]): Promise<UnpackSummary> {
  const warn: WarnFn = opts.onWarning ?? (() => {});
  if (opts.overlay) {
    if (opts.store === undefined) throw new OciBundleError('EUSAGE', '--overlay needs --store');
    return (await import('./unpack-overlay.js')).unpackOverlay(img, opts, started);
  }
  const targets = planTargets(opts, sources, warn);
  opts.signal?.addEventListener('abort', () => step('aborted'), { once: true });
  const tmpRootfs = join(targets.workDir, tempName('rootfs'));
  let fs: RootFS | null = null;
  try {
    mkdirSync(tmpRootfs, { mode: 0o755 });
    liveTemps.add(tmpRootfs);
    fs = RootFS.open(tmpRootfs, opts.resolver === undefined ? {} : { resolver: opts.resolver });
    const recorder = targets.rootfsOnly || opts.mtree === false ? null : new BundleRecorder(img, opts);
    const applier = new Applier(fs, {
      ...(recorder ? { observer: recorder.observer } : {}),
      rootless: opts.rootless ?? false,
      uidMap: opts.uidMap ?? [],
      gidMap: opts.gidMap ?? [],
      keepDirlinks: opts.keepDirlinks ?? false,
      diskPath: tmpRootfs,
      warn,
      verbatim: opts.store !== undefined, // store layers are already mapped and filtered
      threadedWrites: opts.store === undefined, // file content and finishing on a second thread
      ...(opts.maxSize === undefined ? {} : { maxBytes: opts.maxSize }),
    });
    let storeResults: ('hit' | 'extracted')[] | null = null;
    let copy: { copiedBytes: number; skippedBytes: number; skippedEntries: number } | undefined;
    const onStoreLayers = (r: ('hit' | 'extracted')[], c?: typeof copy) => ((storeResults = r), (copy = c), opts.onStoreLayers?.(r, c));
    const layers = opts.store === undefined ? await applyLayers(img, applier, opts, recorder) : await storeLayers(img, applier, { ...opts, onStoreLayers }, tmpRootfs);
    applier.finish();
    recorder?.finish(fs);
    let configText: string | null = null;
    if (!targets.rootfsOnly) {
      const spec = buildRuntimeConfig(img.config, { ...opts, ...readUserDb(fs), warn });
      configText = runtimeConfigText(spec);
    }
    const resolver = fs.resolver;
    fs.close();
    fs = null;
    step('layers-applied');
    const sync = opts.sync === true;
    publish(targets, tmpRootfs, configText, sync);
    if (targets.config !== null) BundleRecorder.publish(dirname(targets.config), recorder, opts.force ?? false);
    if (sync) {
      syncFileSystemOf(targets.config === null ? targets.rootfs : dirname(targets.config));
      step('synced');
    }
    return {
      rootfs: targets.rootfs,
      config: targets.config,
      manifest: img.manifestDescriptor.digest,
      imageConfig: img.configDescriptor.digest,
      layers,
      stats: applier.stats,
      resolver,
      ms: Math.round(performance.now() - started),
      ...(storeResults && opts.store !== undefined ? { store: { dir: resolve(opts.store), layers: storeResults, overlay: false, ...copy } } : {}),
    };
  } catch (e) {
    fs?.close();
    step('cleanup');
    try {
      removeTree(tmpRootfs);
      removeCreatedDirs(targets);
    } catch {
      // keep the first error; the `.ocibundle-*.tmp` name is cleared by the next run
    }
    step('cleaned');
    if (opts.signal?.aborted) throw new OciBundleError('EINTERRUPTED', 'unpack interrupted; nothing was left behind', { cause: e });
    // The temporary name is ours, not the user's: messages name the rootfs it was to become.
    throw renameInError(toOciBundleError(e, `cannot unpack into ${targets.shownRootfs}`), tmpRootfs, targets.shownRootfs);
  } finally {
    liveTemps.delete(tmpRootfs);
  }
}

async function applyLayers(img: ResolvedImage, applier: Applier, opts: UnpackOptions, recorder: BundleRecorder | null): Promise<LayerSummary[]> {
  const diffIds = img.config.rootfs.diff_ids;
  const compressedTotal = img.layers.reduce((n, l) => n + l.size, 0);
  let compressedDone = 0;
  const out: LayerSummary[] = [];
  // Progress by bytes within a layer, at most every PROGRESS_MS (and at each layer's start and end).
  let lastReport = 0;
  const report = (layer: number, read: number) => {
    const now = performance.now();
    if (now - lastReport < PROGRESS_MS) return;
    lastReport = now;
    opts.onProgress?.({ layer, layers: img.layers.length, compressedDone: compressedDone + read, compressedTotal });
  };
  const streams = layerStreams(img, {
    ...(opts.signal === undefined ? {} : { signal: opts.signal }),
    ...(opts.onProgress ? { onRead: report } : {}),
  });
  try {
    for (const [i, desc] of img.layers.entries()) {
      lastReport = performance.now();
      opts.onProgress?.({ layer: i, layers: img.layers.length, compressedDone, compressedTotal });
      await applyLayerBytes(streams, i, desc, applier.layer(), () => applier.abort(), opts.signal);
      compressedDone += desc.size;
      opts.onProgress?.({ layer: i, layers: img.layers.length, compressedDone, compressedTotal });
      out.push({ digest: desc.digest, diffId: diffIds[i]!, mediaType: desc.mediaType, size: desc.size });
    }
  } finally {
    await streams.close();
  }
  return out;
}

/** `--store` without --overlay: layers from the store (extracted there when missing), replayed. */
async function storeLayers(img: ResolvedImage, applier: Applier, opts: UnpackOptions, tmpRootfs: string): Promise<LayerSummary[]> {
  const { rootfsFromStore } = await import('./store/index.js');
  const { results, replay } = await rootfsFromStore(img, opts.store!, applier, { ...opts, warn: opts.onWarning ?? (() => {}) }, tmpRootfs);
  opts.onStoreLayers?.(results, replay);
  return img.layers.map((d, i) => ({ digest: d.digest, diffId: img.config.rootfs.diff_ids[i]!, mediaType: d.mediaType, size: d.size }));
}

interface Targets {
  workDir: string; // where the temporary rootfs is built (same file system as the target)
  rootfs: string;
  config: string | null;
  rootfsOnly: boolean;
  /** Directories this run created (deepest first), removed again when it fails. */
  created: string[];
  /** The rootfs as the user named it, for messages. */
  shownRootfs: string;
}

/**
 * Where the rootfs and config.json go, after clearing dead runs' temps and refusing what may
 * not be replaced. A bundle without config.json is incomplete (an unpack was cut short), so
 * its lone rootfs is replaced even without --force.
 */
function planTargets(opts: UnpackOptions, sources: string[], warn: WarnFn): Targets {
  try {
    return planTargetsOrThrow(opts, sources, warn);
  } catch (e) {
    throw toOciBundleError(e, `cannot create ${opts.rootfsOnly ? 'rootfs' : 'bundle'} ${opts.bundle}`);
  }
}

/** A path that exists but is not a directory (a dangling symlink included) as EEXIST naming what it is. */
function notADirectory(path: string, shown: string): OciBundleError {
  const st = lstatSync(path, { throwIfNoEntry: false });
  const link = st?.isSymbolicLink() ? (statSync(path, { throwIfNoEntry: false }) ? 'a symbolic link to a non-directory' : `a symbolic link to missing ${readlinkSync(path)}`) : undefined;
  return new OciBundleError('EEXIST', `bundle ${shown} exists and is ${link ?? 'not a directory'}`);
}

function planTargetsOrThrow(opts: UnpackOptions, sources: string[], warn: WarnFn): Targets {
  const target = resolve(opts.bundle);
  const shown = opts.bundle;
  const force = opts.force ?? false;
  // 0700 keeps setuid files and devices away from other users; with an id map the runtime's
  // mapped root is such an "other" user and must still reach BUNDLE/rootfs: 0711 (search only).
  const mapped = (opts.uidMap?.length ?? 0) > 0 || (opts.gidMap?.length ?? 0) > 0;
  const replaceable = (p: string, what: string) => assertReplaceable(p, { what, sources, notLayout: true });
  if (opts.rootfsOnly) {
    const parent = dirname(target);
    const created = makeDirs(parent, 0o755);
    clearStale(parent, (k) => k.startsWith('rootfs'), sources);
    if (exists(target)) {
      if (!force) throw new OciBundleError('EEXIST', `${shown} exists (use --force to replace it)`);
      replaceable(target, 'rootfs');
    }
    if (mapped) warnUnsearchable(target, opts.uidMap ?? [], warn);
    return { workDir: parent, rootfs: target, config: null, rootfsOnly: true, created, shownRootfs: shown };
  }
  if (exists(target) && !statSync(target, { throwIfNoEntry: false })?.isDirectory()) throw notADirectory(target, shown);
  const created = makeDirs(target, 0o700);
  if (mapped && created.length > 0) chmodSync(target, 0o711);
  if (mapped) warnUnsearchable(join(target, 'rootfs'), opts.uidMap ?? [], warn);
  const rootfs = join(target, 'rootfs');
  const config = join(target, 'config.json');
  clearStale(target, () => true, sources);
  const configSt = lstatSync(config, { throwIfNoEntry: false });
  if (configSt !== undefined) {
    if (!force) throw new OciBundleError('EEXIST', `${join(shown, 'config.json')} exists (use --force to replace it)`);
    if (!configSt.isFile() && !configSt.isSymbolicLink()) throw new OciBundleError('EEXIST', `${join(shown, 'config.json')} is not a file: not replaced`);
    replaceable(config, 'bundle config');
  }
  if (exists(rootfs)) replaceable(rootfs, 'bundle rootfs');
  return { workDir: target, rootfs, config, rootfsOnly: false, created, shownRootfs: join(shown, 'rootfs') };
}

function exists(p: string): boolean {
  return lstatSync(p, { throwIfNoEntry: false }) !== undefined;
}

/** mkdir -p; returns the directories it made, deepest first. */
function makeDirs(dir: string, mode: number): string[] {
  return mkdirpSync(dir, mode);
}

/** After a failure: rmdir what makeDirs made, as long as each is empty (anything else stays). */
function removeCreatedDirs(t: Targets): void {
  for (const d of t.created) {
    try {
      rmdirSync(d);
    } catch {
      return;
    }
  }
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

/**
 * rm -rf for a tree this run made or is replacing, after the host-path guard. rmSync works on
 * host paths and fails on trees deeper than PATH_MAX (a hostile image can build one through
 * symlinked parents); then the tree is emptied through fd-relative RootFS removal.
 */
function removeTree(p: string, sources: string[] = []): void {
  if (!exists(p)) return;
  assertReplaceable(p, { what: 'temporary tree', sources });
  removeTreeUnguarded(p);
}

/** Temp names of this process still in use (library callers may run several unpacks at once). */
const liveTemps = new Set<string>();

/** Remove leftovers of runs that were killed before they could clean up (names from host/temp). */
function clearStale(dir: string, kinds: (kind: string) => boolean, sources: string[]): void {
  for (const name of readdirSync(dir)) {
    const t = parseTempName(name);
    if (t === undefined || !kinds(t.kind)) continue;
    const p = join(dir, name);
    // Names carry the pid of the run that made them: leave a live run's work alone.
    if (liveTemps.has(p) || (t.pid !== process.pid && pidAlive(t.pid))) continue;
    try {
      removeTree(p, sources);
    } catch {
      // a leftover the guard refuses (a mount point, say) or cannot remove stays
    }
  }
  step('stale-cleared');
}

/**
 * Put the finished rootfs in place. What it replaces is first renamed aside (config.json
 * first, so the bundle is incomplete from then on), the new rootfs renamed in, config.json
 * written (temp + rename; with --sync the rootfs is flushed first and config.json fsynced), and
 * only then the old trees removed. A kill at any point
 * leaves either the old complete bundle, or a bundle without config.json that a plain rerun
 * replaces, plus temp names the next run clears. A failure before the end restores the old.
 */
function publish(t: Targets, tmpRootfs: string, configText: string | null, sync: boolean): void {
  const aside: [string, string][] = [];
  const moveAside = (p: string, kind: string, stepName: string) => {
    if (!exists(p)) return;
    const a = join(t.workDir, tempName(kind));
    renameSync(p, a);
    aside.push([p, a]);
    step(stepName);
  };
  let published = false;
  try {
    if (t.config !== null) moveAside(t.config, 'config-old', 'config-aside');
    moveAside(t.rootfs, 'rootfs-old', 'rootfs-aside');
    renameSync(tmpRootfs, t.rootfs);
    published = true;
    step('rootfs-published');
    if (t.config !== null && configText !== null) {
      // --sync: the rootfs is on disk before the config.json that marks the bundle complete
      if (sync) syncFileSystemOf(t.rootfs);
      writeFileAtomic(t.config, configText, 0o644, sync);
      step('config-written');
    }
  } catch (e) {
    try {
      if (published) renameSync(t.rootfs, tmpRootfs); // removed by the caller's cleanup
      for (const [p, a] of aside.reverse()) renameSync(a, p);
    } catch {
      // the bundle stays incomplete (no config.json): a rerun replaces it
    }
    throw e;
  }
  for (const [, a] of aside) {
    try {
      removeTree(a);
    } catch {
      // the new bundle is complete; the next run clears this temp name
    }
  }
  step('old-removed');
}
