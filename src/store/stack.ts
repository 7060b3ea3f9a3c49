// How a stack of store layers reads as one rootfs under overlayfs, and where that differs from
// applying the layers in order: a directory a layer created only as a missing parent would
// show its made-up metadata over the real one below it. The fix is an upper-dir copy of the
// right metadata for each such directory (and its ancestors); a missing parent over a lower
// symlink or file cannot be represented at all (EPATH). Pure: reads manifests only.
import { OciBundleError } from '../errors.js';
import type { LayerManifest, ManifestEntry } from './manifest.js';

/** A directory the bundle's upper dir must hold, with the metadata the flattened rootfs has. */
export interface DirOverride {
  p: string;
  m: number;
  u: number;
  g: number;
  t: string;
  x?: Record<string, string>;
  /** A whiteout in the upper dir instead: a directory the layers made only to hold whiteouts. */
  w?: true;
}

interface Layer {
  entries: Map<string, ManifestEntry>;
  implicit: Set<string>;
  rootDeclared: boolean;
}

function isWhiteout(e: ManifestEntry): boolean {
  return e.k === 'char' && e.d === '0:0';
}

/**
 * Index of the lowest layer the overlay must mount: overlayfs ignores an opaque marker on a
 * lower layer's root, so the layers below the topmost opaque root are left out instead.
 */
export function visibleFrom(manifests: LayerManifest[], opaqueXattr: string): number {
  for (let k = manifests.length - 1; k > 0; k--) {
    const root = manifests[k]!.entries.find((e) => e.p === '.');
    if (root?.x?.[opaqueXattr] !== undefined) return k;
  }
  return 0;
}

/** Directories of a layer holding something besides whiteouts and implicit directories. */
function dirsWithContent(L: Layer): Set<string> {
  const out = new Set<string>();
  for (const e of L.entries.values()) {
    if (isWhiteout(e) || (e.k === 'dir' && L.implicit.has(e.p))) continue;
    for (const a of ancestors(e.p)) out.add(a);
  }
  return out;
}

function ancestors(p: string): string[] {
  const out: string[] = [];
  let i = p.indexOf('/');
  while (i >= 0) {
    out.push(p.slice(0, i));
    i = p.indexOf('/', i + 1);
  }
  return out;
}

/**
 * The upper-dir directories (parents first) that make the overlay of `manifests` (lowest
 * layer first) show what the flattened unpack shows. The root ('.') is always included when
 * some layer declared it. `opaqueXattr` names the opaque marker of these layers.
 */
export function dirOverrides(manifests: LayerManifest[], opaqueXattr: string): DirOverride[] {
  const layers: Layer[] = manifests.map((m) => ({ entries: new Map(m.entries.map((e) => [e.p, e])), implicit: new Set(m.implicit), rootDeclared: m.rootDeclared }));
  const opaque = (e: ManifestEntry | undefined) => e?.k === 'dir' && e.x?.[opaqueXattr] !== undefined;
  /** Does something in layers (from, to] hide `p` of lower layers (a whiteout, a non-dir or opaque ancestor)? */
  const hiddenBetween = (p: string, from: number, to: number, inclusiveTop: boolean): boolean => {
    for (let k = to - (inclusiveTop ? 0 : 1); k > from; k--) {
      const L = layers[k]!;
      for (const a of ancestors(p)) {
        const e = L.entries.get(a);
        if (e && (e.k !== 'dir' || opaque(e))) return true;
      }
    }
    return false;
  };
  /** The metadata `p` (a directory in layer `top`) has after flattened application. */
  const resolve = (p: string, top: number): ManifestEntry | null => {
    const e = layers[top]!.entries.get(p)!;
    if (!layers[top]!.implicit.has(p)) return e;
    // an opaque ancestor in this very layer hid lower content: the parent is new
    for (const a of ancestors(p)) if (opaque(layers[top]!.entries.get(a))) return e;
    for (let j = top - 1; j >= 0; j--) {
      const lower = layers[j]!.entries.get(p);
      if (!lower) continue;
      if (hiddenBetween(p, j, top, false)) return e;
      if (isWhiteout(lower)) return e;
      if (lower.k === 'symlink') throw new OciBundleError('EPATH', `a layer adds entries below ${p}, a symlink in a lower layer: an overlay cannot follow it (unpack without --overlay)`);
      if (lower.k !== 'dir') throw new OciBundleError('EPATH', `cannot create entries below ${p}: it is a ${lower.k} in a lower layer, not a directory`);
      return resolve(p, j);
    }
    return e;
  };
  const wanted = new Map<string, DirOverride>();
  const add = (p: string, e: ManifestEntry) => {
    const o: DirOverride = { p, m: e.m, u: e.u, g: e.g, t: e.t };
    if (e.x) {
      const x = Object.fromEntries(Object.entries(e.x).filter(([n]) => n !== opaqueXattr));
      if (Object.keys(x).length > 0) o.x = x;
    }
    wanted.set(p, o);
  };
  /** p and the ancestors it needs, each as the overlay shows it. */
  const addWithAncestors = (p: string, e: ManifestEntry) => {
    for (const a of ancestors(p)) {
      if (wanted.has(a)) continue;
      for (let k = layers.length - 1; k >= 0; k--) {
        const ae = layers[k]!.entries.get(a);
        if (ae) {
          add(a, resolve(a, k) ?? ae);
          break;
        }
      }
    }
    add(p, e);
  };
  const candidates = new Set<string>();
  for (const L of layers) for (const p of L.implicit) candidates.add(p);
  for (const p of candidates) {
    // the topmost layer holding p decides what the overlay shows
    let top = -1;
    for (let k = layers.length - 1; k >= 0; k--) {
      if (layers[k]!.entries.has(p)) {
        top = k;
        break;
      }
    }
    if (top < 0 || !layers[top]!.implicit.has(p)) continue;
    if (hiddenBetween(p, top, layers.length - 1, true)) continue;
    const real = resolve(p, top);
    if (!real || real === layers[top]!.entries.get(p)) continue;
    addWithAncestors(p, real);
  }
  // A directory only one layer has is not merged, and overlayfs lists the whiteouts in it.
  // Such whiteouts hide nothing: the upper dir merges the directory (which filters them), or,
  // when the layer made the directory only to hold them, whites the directory out.
  const inOtherLayer = (p: string, k: number) => layers.some((L, j) => j !== k && L.entries.has(p));
  for (const [k, L] of layers.entries()) {
    const content = dirsWithContent(L);
    for (const e of L.entries.values()) {
      // whiteouts, and directories made only for an opaque marker (an opaque dir nothing had)
      const emptyImplicit = e.k === 'dir' && L.implicit.has(e.p) && !content.has(e.p) && !inOtherLayer(e.p, k);
      if (!isWhiteout(e) && !emptyImplicit) continue;
      const parent = ancestors(e.p).pop();
      if (!emptyImplicit && (parent === undefined || inOtherLayer(parent, k) || wanted.has(parent))) continue;
      let hide: string | null = emptyImplicit ? e.p : null;
      for (const a of [...ancestors(e.p)].reverse()) {
        if (inOtherLayer(a, k) || !L.implicit.has(a) || content.has(a)) break;
        hide = a;
      }
      if (hide === null) {
        if (parent !== undefined) addWithAncestors(parent, resolve(parent, k) ?? L.entries.get(parent)!);
      } else if (!wanted.has(hide) && !ancestors(hide).some((a) => wanted.get(a)?.w)) {
        const q = ancestors(hide).pop();
        if (q !== undefined) addWithAncestors(q, resolve(q, k) ?? L.entries.get(q)!);
        wanted.set(hide, { p: hide, m: 0, u: 0, g: 0, t: '0.0', w: true });
      }
    }
  }
  for (let k = layers.length - 1; k >= 0; k--) {
    if (layers[k]!.rootDeclared) {
      add('.', layers[k]!.entries.get('.')!);
      break;
    }
  }
  return [...wanted.values()].sort((a, b) => (a.p === '.' ? -1 : b.p === '.' ? 1 : a.p.split('/').length - b.p.split('/').length || (a.p < b.p ? -1 : 1)));
}
