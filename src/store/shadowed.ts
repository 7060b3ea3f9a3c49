// Which entries of a store layer stack never reach the finished rootfs: anything a higher
// layer removes (a whiteout, or a non-directory, at its path or above it), anything below a
// higher opaque directory, and a non-directory that a higher layer replaces at the same path
// (a directory under a directory merges, so it stays; with --keep-dirlinks so does a symlink
// under a directory). Building a rootfs from the store leaves
// them out: no create, copy or unlink. A directory the layer made up as the parent of a kept
// entry is made up by the applier as before. A file any hardlink names is kept. Pure: reads
// manifests only.
import type { LayerManifest } from './manifest.js';

/** Per layer (lowest first), the paths of entries a higher layer hides ('.' never). */
export function shadowedEntries(manifests: LayerManifest[], opaqueXattr: string, keepDirlinks = false): Set<string>[] {
  const out = manifests.map(() => new Set<string>());
  const linked = new Set<string>();
  for (const m of manifests) for (const e of m.entries) if (e.n !== undefined) linked.add(e.n);
  const declared = new Set<string>(); // paths a higher layer declares
  const dirs = new Set<string>(); // those that are directories
  const gone = new Set<string>(); // paths a higher layer removes with everything below them
  const hidden = new Set<string>(); // paths below which a higher layer hides everything ('.' included)
  const under = (p: string): boolean => {
    if (hidden.has('.')) return true;
    for (let i = p.indexOf('/'); i >= 0; i = p.indexOf('/', i + 1)) {
      const a = p.slice(0, i);
      if (gone.has(a) || hidden.has(a)) return true;
    }
    return false;
  };
  for (let i = manifests.length - 1; i >= 0; i--) {
    const m = manifests[i]!;
    if (i < manifests.length - 1) {
      for (const e of m.entries) {
        if (e.p === '.' || (e.k === 'file' && linked.has(e.p))) continue;
        // --keep-dirlinks: a symlink stays where a higher layer has a directory
        const replacedHere = declared.has(e.p) && !(keepDirlinks && e.k === 'symlink' && dirs.has(e.p));
        const self = e.k === 'dir' ? gone.has(e.p) : gone.has(e.p) || replacedHere;
        if (self || under(e.p)) out[i]!.add(e.p);
      }
    }
    const implicit = new Set(m.implicit);
    for (const e of m.entries) {
      const opaque = e.k === 'dir' && e.x?.[opaqueXattr] !== undefined;
      if (opaque) hidden.add(e.p);
      if (e.p === '.' || implicit.has(e.p)) continue;
      declared.add(e.p);
      if (e.k === 'dir') dirs.add(e.p);
      else gone.add(e.p);
    }
  }
  return out;
}
