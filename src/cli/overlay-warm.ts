// The warm path of `ocibundle unpack --store=DIR --overlay --image IMAGE BUNDLE` as root: when
// the store holds a recipe for exactly this request (src/store/recipe.ts) and the layout still
// has the same index and blobs, the bundle is made from the recipe with the same sequence as
// the full command (src/store/overlay-bundle.ts), loading neither yargs nor the image and spec
// libraries. Any other command line, or any doubt, returns null and the full CLI runs.
import { resolve } from 'node:path';
import { assertOutsideSources, assertPathArg } from '../host/guard.js';
import { acquireLock } from '../host/lock.js';
import { readMarker, touchUse } from '../store/entry.js';
import { makeOverlayBundle } from '../store/overlay-bundle.js';
import { recipeId, recipeOptions, usableRecipe } from '../store/recipe.js';
import { lockPath } from '../store/paths.js';
import { step } from '../test-hooks.js';
import { stderrWarner } from './output.js';
import { report } from './report.js';
import { withSignals } from './signals.js';

interface WarmArgs {
  store: string;
  image: string;
  bundle: string;
}

/** What the full CLI passes to unpack() for this command line (src/cli/unpack.ts's defaults). */
const CLI_DEFAULTS = { rootfsOnly: false, force: false, rootless: false, uidMap: [], gidMap: [], keepDirlinks: false, tty: false, volumes: true, mtree: false, overlay: true };

/** The request when argv is exactly `unpack --store=DIR --overlay --image IMAGE BUNDLE` (any order). */
export function warmArgs(argv: readonly string[]): WarmArgs | null {
  if (argv[0] !== 'unpack') return null;
  let store: string | undefined;
  let image: string | undefined;
  let bundle: string | undefined;
  let overlay = false;
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--overlay') overlay = true;
    else if (a.startsWith('--store=') && a.length > '--store='.length && store === undefined) store = a.slice('--store='.length);
    else if (a === '--image' && i + 1 < argv.length && image === undefined) image = argv[++i];
    else if (a.startsWith('--image=') && image === undefined) image = a.slice('--image='.length);
    else if (!a.startsWith('-') && bundle === undefined) bundle = a;
    else return null;
  }
  if (!overlay || store === undefined || image === undefined || image === '' || image.startsWith('-') || bundle === undefined) return null;
  return { store, image, bundle };
}

class Stale extends Error {}

/** The exit status, or null when the full CLI must run (not this command line, or no usable recipe). */
export async function runWarm(argv: readonly string[]): Promise<number | null> {
  const a = warmArgs(argv);
  if (a === null || process.getuid?.() !== 0) return null;
  const store = resolve(a.store);
  const options = recipeOptions({ image: a.image, bundle: a.bundle, store: a.store, ...CLI_DEFAULTS });
  const r = options === null ? null : usableRecipe(store, recipeId(a.image, options));
  if (r === null || r.driver !== 'kernel') return null;
  step('overlay-warm');
  const warn = stderrWarner();
  try {
    assertPathArg(a.bundle, 'bundle');
    assertOutsideSources(a.bundle, 'bundle', r.sources);
    await withSignals((signal) =>
      makeOverlayBundle({
        store,
        bundle: a.bundle,
        force: false,
        driver: r.driver,
        rootless: r.rootless,
        opaqueXattr: r.opaqueXattr,
        keys: r.keys,
        signal,
        layers: async () => {
          // as layersInStore: each lock once after registering (all at once), so gc cannot take a layer now
          const complete = await Promise.all(
            r.keys.map(async (k) => {
              const release = await acquireLock(lockPath(store, k));
              try {
                return readMarker(store, k) !== null;
              } finally {
                await release();
              }
            }),
          );
          if (complete.includes(false)) throw new Stale();
          for (const k of r.keys) touchUse(store, k);
          for (const w of r.warnings) warn(w);
        },
        configText: () => r.configText,
      }),
    );
    return 0;
  } catch (e) {
    if (e instanceof Stale) return null; // a layer went meanwhile (everything was undone): the full path extracts it
    return report(e, false);
  }
}
