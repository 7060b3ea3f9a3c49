// Overlay bundles on disk: the record in BUNDLE/.ocibundle/overlay.json (store, layers, the
// stack entry, the root's metadata, driver), the upper and work dirs beside it, and mounting
// BUNDLE/rootfs with the kernel's overlayfs (root; the new mount API, else mount(8) with lower
// dirs named by short links in STORE/l so long stacks fit the one-page option limit) or
// fuse-overlayfs (rootless).
import { childProcess } from '../host/lazy-builtins.js';
import { chmodSync, closeSync, existsSync, mkdirSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, writeSync } from 'node:fs';
import { createTempFileSync } from '../host/temp.js';
import { dirname, join, resolve } from 'node:path';
import { OciBundleError } from '../errors.js';
import { BUNDLE_META_DIR, BUNDLE_RECORD } from './bundles.js';
import { readMarker } from './entry.js';
import { mountOverlay, unmount } from './mount.js';
import { entryDir, TREE, type LayerKey } from './paths.js';
import { RootFS } from '../fs/rootfs.js';
import { parseTime, xattrsOf } from './manifest.js';
import { mountPoints, removeStoreTree } from './remove.js';
import type { DirOverride } from './stack.js';

export type OverlayDriver = 'kernel' | 'fuse-overlayfs';

export interface BundleRecord {
  version: 2;
  /** The registration id in STORE/bundles (see bundles.ts). */
  id: string;
  store: string;
  /** Lowest layer first. */
  layers: LayerKey[];
  /** The stack entry (STORE/layers/stack/ID): the directory overrides, mounted on top. */
  stack: LayerKey;
  /** The metadata of the rootfs root, set on the upper dir (null: no layer declares it). */
  root: DirOverride | null;
  opaqueXattr: string;
  driver: OverlayDriver;
  rootless: boolean;
}

/** The kernel takes mount options up to one page; keep a margin. */
const OPTIONS_MAX = 4000;

export function metaDir(bundle: string): string {
  return join(bundle, BUNDLE_META_DIR);
}

export function readRecord(bundle: string): BundleRecord {
  const p = join(metaDir(bundle), BUNDLE_RECORD);
  try {
    return JSON.parse(readFileSync(p, 'utf8')) as BundleRecord;
  } catch (e) {
    throw new OciBundleError('ENOLAYOUT', `${resolve(bundle)} is not an overlay bundle (no readable ${BUNDLE_META_DIR}/${BUNDLE_RECORD})`, { cause: e });
  }
}

export function writeRecord(bundle: string, rec: BundleRecord): void {
  mkdirSync(metaDir(bundle), { recursive: true, mode: 0o700 });
  writeReplacing(join(metaDir(bundle), BUNDLE_RECORD), 'record', `${JSON.stringify(rec, null, 2)}\n`, 0o600);
}

/**
 * `path` replaced by `text`: a temp file of `kind` beside it, then a rename. Not fsynced: an
 * overlay bundle does not outlive a reboot without `ocibundle mount`, and a torn one is made
 * again with --force (the fsync cost more than the rest of a warm bundle on ext4).
 */
export function writeReplacing(path: string, kind: string, text: string, mode: number): void {
  const { path: tmp, fd } = createTempFileSync(dirname(path), kind, mode);
  try {
    try {
      writeSync(fd, text);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

export function isMounted(path: string): boolean {
  return mountPoints().includes(resolve(path));
}

export function chooseDriver(): OverlayDriver {
  if (process.getuid?.() === 0) return 'kernel';
  if (childProcess().spawnSync('sh', ['-c', 'command -v fuse-overlayfs'], { stdio: 'ignore' }).status !== 0) {
    throw new OciBundleError('EUSAGE', 'rootless overlay bundles need fuse-overlayfs (Debian package fuse-overlayfs), which is not installed; unpack without --overlay instead');
  }
  return 'fuse-overlayfs';
}

const UNSAFE = /[,:\\\n]/;

/** Create fresh upper and work dirs (the root's metadata on the upper dir), then mount BUNDLE/rootfs. */
export function mountBundle(bundle: string, rec: BundleRecord): void {
  const b = resolve(bundle);
  if (UNSAFE.test(b)) throw new OciBundleError('EUSAGE', `overlay bundle paths cannot contain ',', ':', '\\' or newlines: ${b}`);
  const rootfs = join(b, 'rootfs');
  if (isMounted(rootfs)) throw new OciBundleError('EEXIST', `${rootfs} is already mounted`);
  if (rec.version !== 2) throw new OciBundleError('EINVALID', `${b} was recorded by another version of ocibundle (record version ${String(rec.version)}): unpack it again with --force`);
  const lowerKeys = [rec.stack, ...[...rec.layers].reverse()]; // top first
  for (const k of lowerKeys) {
    if (!readMarker(rec.store, k)) throw new OciBundleError('ENOBLOB', `layer ${k.diffId} is no longer complete in the store ${rec.store}: unpack the bundle again`);
  }
  const upper = join(metaDir(b), 'upper');
  const work = join(metaDir(b), 'work');
  removeStoreTree(upper);
  removeStoreTree(work);
  mkdirSync(upper, { mode: 0o755 });
  chmodSync(upper, 0o755);
  mkdirSync(work, { mode: 0o700 });
  if (rec.root) applyOverrides(upper, [rec.root], rec.opaqueXattr, rec.rootless);
  mkdirSync(rootfs, { recursive: true, mode: 0o755 });
  if (rec.driver === 'kernel' && mountOverlay(rootfs, lowerKeys.map((k) => join(entryDir(rec.store, k), TREE)), upper, work)) return;
  const lowers = lowerKeys.map((k) => shortLink(rec.store, k));
  const options = `lowerdir=${lowers.join(':')},upperdir=${upper},workdir=${work}`;
  if (options.length > OPTIONS_MAX) {
    throw new OciBundleError('ELIMIT', `${rec.layers.length} layers make overlay mount options of ${options.length} bytes, more than the ${OPTIONS_MAX} one mount takes`);
  }
  const cwd = join(rec.store, SHORT_DIR);
  const r =
    rec.driver === 'kernel'
      ? childProcess().spawnSync('mount', ['-t', 'overlay', 'overlay', '-o', options, rootfs], { cwd, encoding: 'utf8' })
      : childProcess().spawnSync('fuse-overlayfs', ['-o', options, rootfs], { cwd, encoding: 'utf8' });
  if (r.status !== 0) {
    const why = (r.stderr || r.error?.message || `status ${r.status}`).trim().split('\n')[0];
    throw new OciBundleError('EIO', `cannot mount the overlay at ${rootfs}: ${why}`);
  }
}

/** STORE/l/ID -> ../layers/ALG/NAME/root: a lower dir in 10 to 64 bytes, relative to STORE/l. */
export const SHORT_DIR = 'l';

/**
 * The shortest free link name for layer `k` in STORE/l (a prefix of its hex, longer only on a
 * clash), made when missing; containerd names its snapshots by short ids for the same reason.
 */
function shortLink(store: string, k: LayerKey): string {
  const dir = join(store, SHORT_DIR);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const target = `../layers/${k.alg}/${k.name}/${TREE}`;
  for (let n = 10; n <= k.name.length; n += 6) {
    const id = k.name.slice(0, n);
    const p = join(dir, id);
    try {
      symlinkSync(target, p);
      return id;
    } catch (e) {
      if ((e as { code?: string }).code !== 'EEXIST') throw e;
      try {
        if (readlinkSync(p) === target) return id;
      } catch {
        /* not a link: try a longer name */
      }
    }
  }
  return `../layers/${k.alg}/${k.name}/${TREE}`;
}

/** Unmount BUNDLE/rootfs (when mounted) and remove the upper and work dirs. */
export function umountBundle(bundle: string): { wasMounted: boolean } {
  const b = resolve(bundle);
  const rec = readRecord(b);
  const rootfs = join(b, 'rootfs');
  const wasMounted = isMounted(rootfs);
  if (wasMounted) {
    unmount(rootfs, rec.driver === 'kernel' || process.getuid?.() === 0);
    if (isMounted(rootfs)) throw new OciBundleError('EIO', `cannot unmount ${rootfs}: still mounted`);
  }
  removeStoreTree(join(metaDir(b), 'upper'));
  removeStoreTree(join(metaDir(b), 'work'));
  return { wasMounted };
}

export function bundleHasRecord(bundle: string): boolean {
  return existsSync(join(metaDir(bundle), BUNDLE_RECORD));
}

/** Create `overrides` (parents first) below `dir` with their recorded metadata; `.` sets dir's own. */
export function applyOverrides(dir: string, overrides: DirOverride[], opaqueXattr: string, rootless: boolean): void {
  const fs = RootFS.open(dir);
  try {
    for (const o of overrides) {
      if (o.w) {
        fs.mknod(o.p, 'char', 0, 0, 0);
        continue;
      }
      if (o.p !== '.') fs.mkdir(o.p, 0o700);
      const t = parseTime(o.t);
      fs.setMeta(o.p, { uid: o.u, gid: o.g, mode: o.m, atime: t, mtime: t, xattrs: xattrsOf({ p: o.p, k: 'dir', m: o.m, u: o.u, g: o.g, s: 0, t: o.t, ...(o.x ? { x: o.x } : {}) }, opaqueXattr), chown: !rootless });
    }
    // children made the parents' mtimes move: set them again, deepest first
    for (const o of [...overrides].reverse()) {
      if (o.w) continue;
      const t = parseTime(o.t);
      fs.setTimes(o.p, t, t);
    }
  } finally {
    fs.close();
  }
}
