// Recipes: what an overlay bundle of one image with one set of options needs once its layers
// are in the store (layer and stack keys, config.json's text, the warnings), written by the
// full `unpack --overlay` into STORE/recipes/ so the CLI's warm path can make the next bundle
// without loading the image, spec and CLI libraries. Keyed by everything that decides the
// result; a recipe is used only while the layout still holds the same index and blobs.
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Warning } from '../errors.js';
import { distFile } from '../package-files.js';
import { readMarker } from './entry.js';
import { writeReplacing, type OverlayDriver } from './overlay.js';
import type { LayerKey } from './paths.js';

export interface Recipe {
  version: 1;
  id: string;
  /** The layout directory the image was read from, its index.json (sha256 of the parsed document) and the blobs resolution read. */
  layout: string;
  index: string;
  blobs: { digest: string; size: number }[];
  /** Paths the bundle must stay outside of (the unpack guard's sources). */
  sources: string[];
  keys: LayerKey[];
  driver: OverlayDriver;
  rootless: boolean;
  opaqueXattr: string;
  configText: string;
  warnings: Warning[];
}

const RECIPES = 'recipes';

/** Options that decide a bundle's content; anything else present (a newer option) means no recipe. */
const DECIDING = ['args', 'entrypoint', 'cmd', 'env', 'cwd', 'user', 'mounts', 'annotations', 'readonlyRootfs', 'net', 'configPatch', 'hostname', 'tty', 'volumes', 'rootless', 'uidMap', 'gidMap', 'keepDirlinks', 'maxSize', 'platform', 'mtree', 'resolver', 'rootfsOnly'];
/** Options that do not change what is made (the image and bundle are keyed apart). */
const INERT = ['image', 'bundle', 'force', 'sync', 'store', 'overlay', 'signal', 'onWarning', 'onProgress', 'onStoreLayers', 'source'];

/**
 * The deciding options as canonical text, or null when the options carry something a recipe
 * cannot key (a newer option, registry settings, a source platform).
 */
export function recipeOptions(opts: Record<string, unknown>): string | null {
  for (const k of Object.keys(opts)) if (opts[k] !== undefined && !DECIDING.includes(k) && !INERT.includes(k)) return null;
  const source = opts['source'] as { platform?: unknown; registry?: Record<string, unknown> } | undefined;
  if (source?.platform !== undefined) return null;
  for (const [k, v] of Object.entries(source?.registry ?? {})) if (v !== undefined && !(k === 'onWarning' || (k === 'tlsVerify' && v === true))) return null;
  return JSON.stringify(DECIDING.map((k) => [k, opts[k] ?? null]));
}

/** The id of the recipe for this request: image as given, cwd, options, user, host facts, build. */
export function recipeId(image: string, options: string): string {
  const facts = [image, process.cwd(), options, process.getuid?.(), process.getgid?.(), process.arch, existsSync('/etc/resolv.conf'), buildStamp()];
  return createHash('sha256').update(JSON.stringify(facts)).digest('hex');
}

/** When the code that decides a bundle was built (a rebuilt ocibundle makes new recipes). */
function buildStamp(): number {
  const dirs = ['spec/', 'store/'].map(distFile);
  let newest = statSync(distFile('runtime-config.js')).mtimeMs;
  for (const d of dirs) for (const n of readdirSync(d)) if (n.endsWith('.js')) newest = Math.max(newest, statSync(new URL(n, d)).mtimeMs);
  return newest;
}

export function indexHash(index: unknown): string {
  return createHash('sha256').update(JSON.stringify(index)).digest('hex');
}

export function writeRecipe(store: string, r: Recipe): void {
  try {
    mkdirSync(join(store, RECIPES), { recursive: true, mode: 0o700 });
    writeReplacing(join(store, RECIPES, `${r.id}.json`), 'recipe', JSON.stringify(r), 0o600);
  } catch {
    // a read-only or full store still works: the next bundle takes the full path
  }
}

/** The recipe `id` when it is there and still true: same index, same blobs, every entry complete. */
export function usableRecipe(store: string, id: string): Recipe | null {
  let r: Recipe;
  try {
    r = JSON.parse(readFileSync(join(store, RECIPES, `${id}.json`), 'utf8')) as Recipe;
  } catch {
    return null;
  }
  if (r.version !== 1 || r.id !== id) return null;
  try {
    const marker = JSON.parse(readFileSync(join(r.layout, 'oci-layout'), 'utf8')) as { imageLayoutVersion?: unknown };
    if (marker.imageLayoutVersion !== '1.0.0' || !lstatSync(join(r.layout, 'blobs')).isDirectory()) return null;
    if (indexHash(JSON.parse(readFileSync(join(r.layout, 'index.json'), 'utf8'))) !== r.index) return null;
    for (const b of r.blobs) if (!blobIntact(r.layout, b)) return null;
  } catch {
    return null;
  }
  return r.keys.every((k) => readMarker(store, k)) ? r : null;
}

function blobIntact(layout: string, b: { digest: string; size: number }): boolean {
  const [alg, hex] = b.digest.split(':');
  if (alg !== 'sha256' || !/^[0-9a-f]{64}$/.test(hex ?? '')) return false;
  const p = join(layout, 'blobs', alg, hex!);
  const st = lstatSync(p);
  if (!st.isFile() || st.size !== b.size) return false;
  return createHash('sha256').update(readFileSync(p)).digest('hex') === hex;
}

/** `store gc`: drop recipes that name an entry no longer complete. */
export function dropStaleRecipes(store: string): void {
  const dir = join(store, RECIPES);
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    try {
      const r = JSON.parse(readFileSync(p, 'utf8')) as Recipe;
      if (r.keys.every((k) => readMarker(store, k))) continue;
    } catch {
      // unreadable: drop it
    }
    rmSync(p, { force: true });
  }
}
