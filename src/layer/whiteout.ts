// Whiteout naming rules of the OCI image-spec: `.wh.NAME` deletes NAME from lower layers and
// `.wh..wh..opq` makes its directory opaque. This module only classifies and validates names;
// applying them (and the "never delete what this layer adds" rule) is LayerState's job.
import { OciBundleError } from '../errors.js';
import { baseOf, joinPath, parentOf } from './paths.js';
import { grown, ROOT, type PathTable } from './path-table.js';

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
 * their order in the tar: a mark per node of the applier's path table (the paths themselves
 * are interned there once), stamped with the layer, so clear() is O(1).
 */
export class LayerAdds {
  /** (stamp | ADDED | ABOVE) per node; a mark of another stamp is an earlier layer's. */
  private marks = new Int32Array(1024);
  private stamp = 0;

  constructor(private readonly paths: PathTable) {}

  /** Records `path` as written by this layer; returns its node id. */
  add(path: string): number {
    const id = this.paths.intern(path);
    this.set(id, ADDED);
    for (let p = this.paths.parentOf(id); p !== ROOT && !this.has(p, ABOVE); p = this.paths.parentOf(p)) this.set(p, ABOVE);
    return id;
  }

  /** True when `path` or something below it was written by this layer. */
  touches(path: string): boolean {
    const id = this.paths.find(path);
    return id >= 0 && this.has(id, ADDED | ABOVE);
  }

  /** True when this layer wrote `path` itself. */
  wrote(path: string): boolean {
    const id = this.paths.find(path);
    return id >= 0 && this.has(id, ADDED);
  }

  /** The next layer begins. */
  clear(): void {
    this.stamp += STAMP_STEP;
  }

  private has(id: number, bits: number): boolean {
    const m = id < this.marks.length ? this.marks[id]! : 0;
    return (m & ~3) === this.stamp && (m & bits) !== 0;
  }

  private set(id: number, bit: number): void {
    this.marks = grown(this.marks, id + 1);
    const m = this.marks[id]!;
    this.marks[id] = (m & ~3) === this.stamp ? m | bit : this.stamp | bit;
  }
}

const ADDED = 1;
const ABOVE = 2;
/** Stamps start at 4 (after clear()): a zeroed mark belongs to no layer. */
const STAMP_STEP = 4;
