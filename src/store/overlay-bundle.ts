// Making an overlay bundle, the one sequence both the full `unpack --overlay` and the CLI's
// warm path (src/cli/overlay-warm.ts) run: prepare the bundle dir, register in the store,
// make sure the layers and the stack entry are complete (each lock taken once after
// registering), write the record (before mounting, so `ocibundle umount` can always undo),
// mount, write config.json. A failure undoes all of it, and nothing else.
import { existsSync, mkdirSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { OciBundleError } from '../errors.js';
import { register, unregister } from './bundles.js';
import { bundleHasRecord, metaDir, mountBundle, umountBundle, writeRecord, writeReplacing, type BundleRecord, type OverlayDriver } from './overlay.js';
import type { LayerKey } from './paths.js';
import { ensureStack, stackKey, type OverlayPlan } from './plan.js';
import { removeStoreTree } from './remove.js';

export interface OverlayBundleJob<R> {
  store: string;
  bundle: string;
  force: boolean;
  driver: OverlayDriver;
  rootless: boolean;
  opaqueXattr: string;
  /** Every layer of the image, lowest first (registered before anything is read). */
  keys: LayerKey[];
  signal?: AbortSignal;
  /** Make sure `keys` are complete in the store and safe from gc (after registration). */
  layers(): Promise<R>;
  /** config.json's text, given the mounted rootfs. */
  configText(rootfs: string): string;
  /** More files the bundle gets once mounted (umoci.json and the mtree), and their undo. */
  extras?: { write(bundle: string, rootfs: string): void; remove(bundle: string): void };
}

export interface OverlayBundleResult<R> {
  rootfs: string;
  config: string;
  plan: OverlayPlan;
  layers: R;
  configText: string;
}

export async function makeOverlayBundle<R>(job: OverlayBundleJob<R>): Promise<OverlayBundleResult<R>> {
  const bundle = resolve(job.bundle);
  const rootfs = join(bundle, 'rootfs');
  const config = join(bundle, 'config.json');
  const made = [!existsSync(bundle) && bundle, !existsSync(rootfs) && rootfs].filter((p): p is string => p !== false);
  prepareBundleDir(bundle, rootfs, config, job.force);
  const reg = register(job.store, bundle, [...job.keys, stackKey(job.keys, job.opaqueXattr)].map((k) => `${k.alg}/${k.name}`));
  let mounted = false;
  let extras = false;
  try {
    const layers = await job.layers();
    const { key: stack, plan } = await ensureStack(job.store, job.keys, job.opaqueXattr, job.rootless);
    const rec: BundleRecord = { version: 2, id: reg.id, store: job.store, layers: plan.layers, stack, root: plan.root, opaqueXattr: job.opaqueXattr, driver: job.driver, rootless: job.rootless };
    writeRecord(bundle, rec);
    mountBundle(bundle, rec);
    mounted = true;
    if (job.signal?.aborted) throw new OciBundleError('EINTERRUPTED', 'unpack interrupted');
    const configText = job.configText(rootfs);
    extras = true;
    job.extras?.write(bundle, rootfs);
    writeReplacing(config, 'config', configText, 0o644);
    return { rootfs, config, plan, layers, configText };
  } catch (e) {
    try {
      if (mounted || bundleHasRecord(bundle)) umountBundle(bundle);
      removeStoreTree(metaDir(bundle));
      rmSync(config, { force: true });
      if (extras) job.extras?.remove(bundle); // only what this run wrote
      for (const d of made.reverse()) rmdirIfEmpty(d); // what this run created, if nothing else is there
    } catch {
      /* keep the first error; `ocibundle umount` finishes the job */
    }
    unregister(job.store, reg);
    if (job.signal?.aborted) throw new OciBundleError('EINTERRUPTED', 'unpack interrupted; nothing was left behind', { cause: e });
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
