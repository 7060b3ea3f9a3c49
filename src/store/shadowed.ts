// Which files of a store layer stack never reach the finished rootfs: a file that a higher
// layer replaces at the same path, or removes with a whiteout, an opaque directory or a
// non-directory above it. Building a rootfs from the store leaves them out (no create, copy or
// unlink). A directory the layer made up as such a file's parent is then made up by whatever
// needs it later, with the same made-up metadata, or not at all when nothing does. A file any
// hardlink names is kept. Pure: reads manifests only.
import type { LayerManifest } from './manifest.js';

function isWhiteout(k: string, d: string | undefined): boolean {
  return k === 'char' && (d ?? '0:0') === '0:0';
}

/** Per layer (lowest first), the paths of files whose content a higher layer hides. */
export function shadowedContent(manifests: LayerManifest[], opaqueXattr: string): Set<string>[] {
  const out = manifests.map(() => new Set<string>());
  const linked = new Set<string>();
  for (const m of manifests) for (const e of m.entries) if (e.n !== undefined) linked.add(e.n);
  const replaced = new Set<string>(); // paths a higher layer declares
  const cut = new Set<string>(); // paths below which a higher layer hides everything ('.' included)
  const under = (p: string): boolean => {
    if (cut.has('.')) return true;
    for (let i = p.indexOf('/'); i >= 0; i = p.indexOf('/', i + 1)) if (cut.has(p.slice(0, i))) return true;
    return false;
  };
  for (let i = manifests.length - 1; i >= 0; i--) {
    const m = manifests[i]!;
    if (i < manifests.length - 1) {
      for (const e of m.entries) {
        if (e.k !== 'file' || e.s === 0 || e.n !== undefined || linked.has(e.p)) continue;
        if (replaced.has(e.p) || cut.has(e.p) || under(e.p)) out[i]!.add(e.p);
      }
    }
    const implicit = new Set(m.implicit);
    for (const e of m.entries) {
      const opaque = e.k === 'dir' && e.x?.[opaqueXattr] !== undefined;
      if (e.p === '.') {
        if (opaque) cut.add('.');
        continue;
      }
      if (!implicit.has(e.p)) replaced.add(e.p);
      if (opaque || (e.k !== 'dir' && !implicit.has(e.p)) || isWhiteout(e.k, e.d)) cut.add(e.p);
    }
  }
  return out;
}
