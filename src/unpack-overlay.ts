// `unpack --store DIR --overlay`: a bundle whose rootfs is an overlay mount of store layers.
// Registers the bundle in the store, makes sure the layers are there, writes the bundle's
// record (before mounting, so `ocibundle umount` can always undo), mounts, then writes
// config.json from the user db read through the mounted view. A failure undoes all of it.
import { existsSync, mkdirSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { OciBundleError, type WarnFn } from './errors.js';
import { RootFS } from './fs/rootfs.js';
import type { ResolvedImage } from './image/index.js';
import { buildRuntimeConfig, readUserDb, writeFileAtomic } from './runtime-config.js';
import {
  bundleHasRecord, chooseDriver, ensureStack, layersInStore, layerKey, metaDir, mountBundle, openStoreDir, paramsOf,
  register, stackKey, removeStoreTree, umountBundle, unregister, writeRecord, type BundleRecord,
} from './store/index.js';
import type { UnpackOptions, UnpackSummary } from './unpack.js';

export async function unpackOverlay(img: ResolvedImage, opts: UnpackOptions, started: number): Promise<UnpackSummary> {
  if (opts.rootfsOnly) throw new OciBundleError('EUSAGE', '--overlay makes a bundle: use `unpack`, not `raw unpack`');
  if (opts.keepDirlinks) throw new OciBundleError('EUSAGE', '--keep-dirlinks cannot be honoured by an overlay mount: unpack without --overlay');
  const warn: WarnFn = opts.onWarning ?? (() => {});
  const store = openStoreDir(opts.store!);
  const driver = chooseDriver();
  const bundle = resolve(opts.bundle);
  const rootfs = join(bundle, 'rootfs');
  const config = join(bundle, 'config.json');
  const made = [!existsSync(bundle) && bundle, !existsSync(rootfs) && rootfs].filter((p): p is string => p !== false);
  prepareBundleDir(bundle, rootfs, config, opts.force ?? false);
  const use = { rootless: opts.rootless ?? false, uidMap: opts.uidMap ?? [], gidMap: opts.gidMap ?? [], warn, ...(opts.maxSize === undefined ? {} : { maxSize: opts.maxSize }), ...(opts.signal ? { signal: opts.signal } : {}), ...(opts.resolver ? { resolver: opts.resolver } : {}) };
  const params = paramsOf(use);
  const planned = img.config.rootfs.diff_ids.map((d) => layerKey(d, params));
  const reg = register(store, bundle, [...planned, stackKey(planned, params.opaqueXattr)].map((k) => `${k.alg}/${k.name}`));
  let mounted = false;
  try {
    const { keys: all, results } = await layersInStore(img, store, use);
    const { key: stack, plan } = await ensureStack(store, all, params.opaqueXattr, params.rootless);
    const rec: BundleRecord = { version: 2, id: reg.id, store, layers: plan.layers, stack, root: plan.root, opaqueXattr: params.opaqueXattr, driver, rootless: params.rootless };
    writeRecord(bundle, rec);
    mountBundle(bundle, rec);
    mounted = true;
    const fs = RootFS.open(rootfs);
    let text: string;
    try {
      const spec = buildRuntimeConfig(img.config, { ...opts, ...readUserDb(fs), warn });
      text = `${JSON.stringify(spec, null, '\t')}\n`;
    } finally {
      fs.close();
    }
    writeFileAtomic(config, text);
    return {
      rootfs,
      config,
      manifest: img.manifestDescriptor.digest,
      imageConfig: img.configDescriptor.digest,
      layers: img.layers.map((d, i) => ({ digest: d.digest, diffId: img.config.rootfs.diff_ids[i]!, mediaType: d.mediaType, size: d.size })),
      stats: { entries: plan.entries, files: plan.files, bytes: plan.bytes, whiteouts: 0 },
      resolver: 'openat2',
      ms: Math.round(performance.now() - started),
      store: { dir: store, layers: results, overlay: true },
    };
  } catch (e) {
    try {
      if (mounted || bundleHasRecord(bundle)) umountBundle(bundle);
      removeStoreTree(metaDir(bundle));
      rmSync(config, { force: true });
      for (const d of made.reverse()) rmdirIfEmpty(d); // what this run created, if nothing else is there
    } catch {
      /* keep the first error; `ocibundle umount` finishes the job */
    }
    unregister(store, reg);
    if (opts.signal?.aborted) throw new OciBundleError('EINTERRUPTED', 'unpack interrupted; nothing was left behind', { cause: e });
    throw e;
  }
}

function rmdirIfEmpty(p: string): void {
  try {
    rmdirSync(p);
  } catch {
    /* not empty, or gone: leave it */
  }
}

/** The bundle dir (0700) with no rootfs or config.json in the way (--force: unmount and remove them). */
function prepareBundleDir(bundle: string, rootfs: string, config: string, force: boolean): void {
  if (!existsSync(bundle)) mkdirSync(bundle, { recursive: true, mode: 0o700 });
  else if (!statSync(bundle).isDirectory()) throw new OciBundleError('EEXIST', `bundle ${bundle} exists and is not a directory`);
  for (const p of [rootfs, config]) {
    if (existsSync(p) && !force) throw new OciBundleError('EEXIST', `${p} exists (use --force to replace it)`);
  }
  if (!force) return;
  if (bundleHasRecord(bundle)) umountBundle(bundle);
  rmSync(config, { force: true });
  removeStoreTree(rootfs); // refuses while anything is mounted there
  removeStoreTree(metaDir(bundle));
}
