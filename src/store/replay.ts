// Builds an ordinary rootfs from store layers: each layer's manifest is replayed as tar-like
// entries through the normal applier (verbatim metadata: maps and xattr policy were applied at
// extraction), whiteout devices and opaque markers turned back into whiteout entries, and each
// file's content reflinked or copied from the store (src/fs/clone.ts); entries a higher layer
// hides are left out (src/store/shadowed.ts). Nothing is downloaded, verified or decompressed.
import { join } from 'node:path';
import { OciBundleError } from '../errors.js';
import { native } from '../fs/native.js';
import { RootFS } from '../fs/rootfs.js';
import type { Applier } from '../layer/apply.js';
import type { TarEntry } from '../layer/tar.js';
import { readManifest } from './entry.js';
import { parseTime, xattrsOf, type ManifestEntry } from './manifest.js';
import { entryDir, TREE, type LayerKey } from './paths.js';
import { shadowedEntries } from './shadowed.js';

export interface ReplayStats {
  /** File content copied from the store. */
  copiedBytes: number;
  /** Content of files a higher layer replaces or removes, not copied. */
  skippedBytes: number;
  /** Entries a higher layer replaces or removes (those files included): not created at all. */
  skippedEntries: number;
}

function entry(e: ManifestEntry, over: Partial<TarEntry>, opaqueXattr: string): TarEntry {
  const t = parseTime(e.t);
  return { name: e.p, type: 'file', size: 0, mode: e.m, uid: e.u, gid: e.g, mtime: t, atime: t, linkname: '', devmajor: 0, devminor: 0, xattrs: xattrsOf(e, opaqueXattr), ...over };
}

function whiteoutName(p: string, base: string): string {
  const slash = p.lastIndexOf('/');
  return slash < 0 ? base : `${p.slice(0, slash)}/${base}`;
}

/** Apply the store layers `keys` (lowest first) through `applier`, which writes the new rootfs. */
export function replayLayers(store: string, keys: LayerKey[], applier: Applier, opaqueXattr: string, keepDirlinks: boolean, signal?: AbortSignal): ReplayStats {
  const manifests = keys.map((k) => readManifest(store, k));
  const shadowed = shadowedEntries(manifests, opaqueXattr, keepDirlinks);
  const stats: ReplayStats = { copiedBytes: 0, skippedBytes: 0, skippedEntries: 0 };
  for (const [i, key] of keys.entries()) {
    const manifest = manifests[i]!;
    const dead = shadowed[i]!;
    const implicit = new Set(manifest.implicit);
    const src = RootFS.open(join(entryDir(store, key), TREE));
    const h = applier.layer();
    try {
      for (const e of manifest.entries) {
        if (signal?.aborted) throw new OciBundleError('EINTERRUPTED', 'unpack interrupted');
        if (e.p === '.') {
          if (manifest.rootDeclared) h.onEntry(entry(e, { type: 'dir' }, opaqueXattr));
          if (e.x?.[opaqueXattr] !== undefined) h.onEntry(entry(e, { name: '.wh..wh..opq' }, opaqueXattr));
          continue;
        }
        if (dead.has(e.p)) {
          // a higher layer replaces or removes it: never written (see src/store/shadowed.ts)
          if (e.k !== 'dir' || !implicit.has(e.p)) stats.skippedEntries++; // made-up dirs were never entries
          if (e.k === 'file') stats.skippedBytes += e.s;
          continue;
        }
        switch (e.k) {
          case 'dir':
            if (!implicit.has(e.p)) h.onEntry(entry(e, { type: 'dir' }, opaqueXattr));
            if (e.x?.[opaqueXattr] !== undefined) h.onEntry(entry(e, { name: `${e.p}/.wh..wh..opq` }, opaqueXattr));
            break;
          case 'file':
            if (e.n !== undefined) {
              h.onEntry(entry(e, { type: 'hardlink', linkname: e.n }, opaqueXattr));
              break;
            }
            h.onEntry(entry(e, { size: e.s }, opaqueXattr));
            stats.copiedBytes += e.s;
            if (e.s > 0) {
              const fd = src.openRead(e.p);
              try {
                h.onContent(fd, e.s, e.h);
              } finally {
                native().close(fd);
              }
            }
            h.onEntryEnd();
            break;
          case 'symlink':
            h.onEntry(entry(e, { type: 'symlink', linkname: e.l ?? '' }, opaqueXattr));
            break;
          case 'char':
          case 'block': {
            const [major, minor] = (e.d ?? '0:0').split(':').map(Number) as [number, number];
            if (e.k === 'char' && major === 0 && minor === 0) h.onEntry(entry(e, { name: whiteoutName(e.p, `.wh.${e.p.slice(e.p.lastIndexOf('/') + 1)}`) }, opaqueXattr));
            else h.onEntry(entry(e, { type: e.k, devmajor: major, devminor: minor }, opaqueXattr));
            break;
          }
          case 'fifo':
            h.onEntry(entry(e, { type: 'fifo' }, opaqueXattr));
            break;
          default:
            break; // sockets are never extracted
        }
      }
    } finally {
      src.close();
    }
  }
  return stats;
}
