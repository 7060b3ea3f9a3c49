// Whiteout naming rules of the OCI image-spec: `.wh.NAME` deletes NAME from lower layers and
// `.wh..wh..opq` makes its directory opaque. This module only classifies and validates names;
// applying them (and the "never delete what this layer adds" rule) is LayerState's job.
import { OciBundleError } from '../errors.js';
import { baseOf, joinPath, parentOf } from './paths.js';

export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_MARKER = '.wh..wh..opq';

export type Whiteout =
  | { kind: 'none' }
  | { kind: 'remove'; target: string } // delete `target` (a clean path) from lower layers
  | { kind: 'opaque'; dir: string }; // hide all lower-layer content of `dir`

/** Classify a clean entry path. Throws EWHITEOUT for names that cannot be honoured. */
export function classifyWhiteout(path: string): Whiteout {
  const base = baseOf(path);
  if (!base.startsWith(WHITEOUT_PREFIX)) return { kind: 'none' };
  const dir = parentOf(path);
  if (base === OPAQUE_MARKER) return { kind: 'opaque', dir };
  const name = base.slice(WHITEOUT_PREFIX.length);
  if (name === '') throw new OciBundleError('EWHITEOUT', `empty whiteout name: ${path}`);
  if (name === '.' || name === '..') {
    throw new OciBundleError('EWHITEOUT', `whiteout resolves outside its own directory: ${path}`);
  }
  if (name.startsWith(WHITEOUT_PREFIX) && name !== OPAQUE_MARKER.slice(WHITEOUT_PREFIX.length)) {
    // `.wh..wh.x` would delete a whiteout file, which can never exist in a rootfs.
    throw new OciBundleError('EWHITEOUT', `whiteout of a whiteout name: ${path}`);
  }
  return { kind: 'remove', target: joinPath(dir, name) };
}

/**
 * What one layer has added, so that its whiteouts never remove its own entries whatever
 * their order in the tar. `added` holds every path the layer wrote; `ancestors` every
 * directory above one (so an opaque walk can descend into them instead of deleting them).
 */
export class LayerAdds {
  readonly added = new Set<string>();
  private readonly ancestors = new Set<string>();

  add(path: string): void {
    this.added.add(path);
    let p = parentOf(path);
    while (p !== '.' && !this.ancestors.has(p)) {
      this.ancestors.add(p);
      p = parentOf(p);
    }
  }

  /** True when `path` or something below it was written by this layer. */
  touches(path: string): boolean {
    return this.added.has(path) || this.ancestors.has(path);
  }

  clear(): void {
    this.added.clear();
    this.ancestors.clear();
  }
}
