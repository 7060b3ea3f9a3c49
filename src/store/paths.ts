// Where things live in a layer store, and nothing else: the default store directory, the
// key of a layer (its diff_id plus the extraction settings that change its bytes on disk) and
// the paths of a layer's tree, manifest, completion marker and lock. No I/O but mkdir.
import { createHash } from 'node:crypto';
import { mkdirSync, statSync, chmodSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { OciBundleError } from '../errors.js';
import type { IdMap } from '../layer/ids.js';

/** `$XDG_CACHE_HOME/ocibundle`, else `~/.cache/ocibundle`. */
export function defaultStoreDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env['XDG_CACHE_HOME'];
  return join(xdg && xdg.startsWith('/') ? xdg : join(homedir(), '.cache'), 'ocibundle');
}

/** Create the store (mode 0700) and its folders when missing; returns the absolute path. */
export function openStoreDir(dir: string): string {
  const root = resolve(dir);
  mkdirSync(root, { recursive: true, mode: 0o700 });
  const st = statSync(root);
  if (!st.isDirectory()) throw new OciBundleError('EEXIST', `store ${root} is not a directory`);
  if ((st.mode & 0o077) !== 0 && st.uid === process.getuid?.()) chmodSync(root, 0o700);
  for (const sub of ['layers', 'bundles']) mkdirSync(join(root, sub), { recursive: true, mode: 0o700 });
  return root;
}

/** What changes a layer's extracted tree besides its content. */
export interface ExtractParams {
  rootless: boolean;
  uidMap: IdMap[];
  gidMap: IdMap[];
  keepDirlinks: boolean;
  /** The xattr that marks opaque directories: trusted.* for the kernel as root, user.* else. */
  opaqueXattr: string;
}

export function opaqueXattrFor(uid: number | undefined): string {
  return uid === 0 ? 'trusted.overlay.opaque' : 'user.overlay.opaque';
}

const HEX = /^[0-9a-f]{32,128}$/;

export interface LayerKey {
  alg: string;
  /** `HEX` for the default settings (root, no id maps), `HEX-PARAMS` otherwise. */
  name: string;
  diffId: string;
}

export function layerKey(diffId: string, p: ExtractParams): LayerKey {
  const colon = diffId.indexOf(':');
  const alg = diffId.slice(0, colon);
  const hex = diffId.slice(colon + 1);
  if (!/^[a-z0-9]+$/.test(alg) || !HEX.test(hex)) throw new OciBundleError('EBADDIGEST', `diff_id ${JSON.stringify(diffId)} cannot name a store entry`);
  const plain = !p.rootless && p.uidMap.length === 0 && p.gidMap.length === 0 && !p.keepDirlinks && p.opaqueXattr === 'trusted.overlay.opaque';
  if (plain) return { alg, name: hex, diffId };
  const tag = createHash('sha256').update(JSON.stringify([p.rootless, p.uidMap, p.gidMap, p.keepDirlinks, p.opaqueXattr])).digest('hex').slice(0, 12);
  return { alg, name: `${hex}-${tag}`, diffId };
}

export function algDir(store: string, alg: string): string {
  return join(store, 'layers', alg);
}

/** The entry directory of a layer: `root/` (the overlay lower dir), `manifest.json`, `complete`. */
export function entryDir(store: string, k: LayerKey): string {
  return join(store, 'layers', k.alg, k.name);
}

export const TREE = 'root';
export const MANIFEST = 'manifest.json';
export const MARKER = 'complete';
export const LAST_USE = 'used';

export function lockPath(store: string, k: LayerKey): string {
  return join(store, 'layers', k.alg, `${k.name}.lock`);
}
