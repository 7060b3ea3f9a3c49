// The diff of a bundle's rootfs against its mtree, with go-mtree's comparison rules (only
// keywords the mtree entry carries count; xattrs and tar_time always do): what changed or is
// new, and what is gone, collapsed so a deleted directory is one whiteout and nothing under
// a replaced path is whited out. Files are hashed only when every other keyword matches and
// their ctime is newer than the mtree's trusted write time (see repack.ts).
import type { RootFS, Time } from '../fs/rootfs.js';
import type { Mtree, MtreeEntry } from './mtree-spec.js';
import { diskMtreeEntry, hashFile, walkRootfs, type DiskEntry } from './mtree-walk.js';

export interface DiffOptions {
  /** Path prefixes (rootfs-relative, clean) left out of the diff entirely. */
  mask: string[];
  /** Files whose ctime is at or before this were not touched since the mtree was written. */
  trustedUntil: Time | null;
}

export interface RootfsDiff {
  /** New or changed objects, parents before children. */
  adds: DiskEntry[];
  /** Paths to white out (topmost only), sorted. */
  whiteouts: string[];
  /** The mtree of the rootfs as it is now (sha256 of added files filled in by the caller). */
  current: Mtree;
  hashed: number;
}

function masked(path: string, mask: string[]): boolean {
  for (const m of mask) if (path === m || path.startsWith(`${m}/`)) return true;
  return false;
}

function after(a: Time, b: Time): boolean {
  return a.sec > b.sec || (a.sec === b.sec && a.nsec > b.nsec);
}

/** True when every keyword `old` carries (sha256 aside) matches the disk entry `now`. */
function sameExceptDigest(old: MtreeEntry, now: MtreeEntry): boolean {
  if (old.type !== now.type) return false;
  for (const k of ['mode', 'uid', 'gid', 'size', 'nlink', 'link'] as const) {
    if (old[k] !== undefined && now[k] !== undefined && old[k] !== now[k]) return false;
  }
  if (old.tarTime !== now.tarTime) return false;
  if (old.xattrs.size !== now.xattrs.size) return false;
  for (const [k, v] of old.xattrs) if (now.xattrs.get(k) !== v) return false;
  return true;
}

function parentOf(p: string): string {
  const i = p.lastIndexOf('/');
  return i < 0 ? '.' : p.slice(0, i);
}

export function diffRootfs(fs: RootFS, mtree: Mtree, opts: DiffOptions): RootfsDiff {
  const adds: DiskEntry[] = [];
  const current: Mtree = new Map();
  let hashed = 0;
  for (const d of walkRootfs(fs, (p) => masked(p, opts.mask))) {
    if (d.st.kind === 'socket') continue; // sockets do not go into layers
    const old = mtree.get(d.path);
    const now = diskMtreeEntry(d, d.st.kind === 'file' ? '' : undefined);
    let changed = old === undefined || !sameExceptDigest(old, now);
    if (!changed && d.st.kind === 'file' && old!.sha256 !== undefined) {
      const trusted = opts.trustedUntil !== null && !after(d.st.ctime, opts.trustedUntil);
      if (trusted) now.sha256 = old!.sha256;
      else {
        now.sha256 = hashFile(fs, d.path).sha256;
        hashed++;
        changed = now.sha256 !== old!.sha256;
      }
    } else if (!changed && d.st.kind === 'file') now.sha256 = old!.sha256 ?? '';
    current.set(d.path, now);
    if (changed) adds.push(d);
  }
  const gone = new Set<string>();
  const whiteouts: string[] = [];
  for (const p of mtree.keys()) {
    if (p === '.' || current.has(p) || masked(p, opts.mask)) continue;
    gone.add(p);
    const parent = parentOf(p);
    if (gone.has(parent)) continue; // the parent's whiteout covers it
    const pe = current.get(parent);
    if (pe === undefined || pe.type !== 'dir') continue; // a replaced (or masked) parent covers it
    whiteouts.push(p);
  }
  whiteouts.sort();
  return { adds, whiteouts, current, hashed };
}
