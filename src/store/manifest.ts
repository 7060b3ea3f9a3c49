// The content manifest of one extracted layer: every entry of its tree (type, mode, owner,
// size, mtime, content hash, link target, device numbers, xattrs, hardlink group), in walk
// order. Written at extraction beside the tree; `store verify` walks the tree again and
// compares, and the store rebuilds rootfs trees from it. Reads the tree only through RootFS.
import { createHash } from 'node:crypto';
import { readSync } from 'node:fs';
import { native } from '../fs/native.js';
import { RootFS } from '../fs/rootfs.js';

export interface ManifestEntry {
  /** Clean relative path ('.' for the layer root). */
  p: string;
  /** file, dir, symlink, char, block, fifo, socket */
  k: string;
  m: number;
  u: number;
  g: number;
  s: number;
  /** mtime as "sec.nsec" */
  t: string;
  /** sha256 of a file's content */
  h?: string;
  /** symlink target */
  l?: string;
  /** "major:minor" of a device */
  d?: string;
  /** xattrs, name -> base64 value, sorted by name */
  x?: Record<string, string>;
  /** a file with several links: the first path (in walk order) of its inode */
  n?: string;
}

export interface LayerManifest {
  version: 1;
  diffId: string;
  /** Directories no entry of the layer declared (missing parents); see src/store/stack.ts. */
  implicit: string[];
  /** Whether the layer had an entry for its root directory. */
  rootDeclared: boolean;
  entries: ManifestEntry[];
}

const READ_CHUNK = 1 << 20;

/**
 * Walk the tree at `root` (a trusted store path) in pre-order, names sorted. `known` gives the
 * content sha256 of a file of that size when the writer already hashed it (else it is read).
 */
export function walkTree(root: string, known?: (path: string, size: number) => string | undefined): ManifestEntry[] {
  const fs = RootFS.open(root);
  const out: ManifestEntry[] = [];
  const inodes = new Map<bigint, string>();
  const buf = Buffer.allocUnsafe(READ_CHUNK);
  try {
    const visit = (p: string): void => {
      const st = fs.lstat(p)!;
      const e: ManifestEntry = { p, k: st.kind, m: st.mode, u: st.uid, g: st.gid, s: st.kind === 'file' || st.kind === 'symlink' ? st.size : 0, t: `${st.mtime.sec}.${st.mtime.nsec}` };
      if (st.kind === 'file') {
        const first = st.nlink > 1 ? inodes.get(st.ino) : undefined;
        if (first !== undefined) e.n = first;
        else {
          if (st.nlink > 1) inodes.set(st.ino, p);
          e.h = known?.(p, st.size) ?? hashFile(fs, p, buf);
        }
      } else if (st.kind === 'symlink') e.l = fs.readlink(p);
      else if (st.kind === 'char' || st.kind === 'block') e.d = `${st.rdevMajor}:${st.rdevMinor}`;
      const xs = fs.listXattrs(p);
      if (xs.size > 0) {
        e.x = {};
        for (const name of [...xs.keys()].sort()) e.x[name] = xs.get(name)!.toString('base64');
      }
      out.push(e);
      if (st.kind === 'dir') for (const name of fs.readdir(p)) visit(p === '.' ? name : `${p}/${name}`);
    };
    visit('.');
  } finally {
    fs.close();
  }
  return out;
}

function hashFile(fs: RootFS, p: string, buf: Buffer): string {
  const fd = fs.openRead(p);
  const h = createHash('sha256');
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
    }
  } finally {
    native().close(fd);
  }
  return h.digest('hex');
}

/** The first differences between a recorded manifest and the tree as it is now (at most `max`). */
export function compareEntries(recorded: ManifestEntry[], now: ManifestEntry[], max = 10): string[] {
  const problems: string[] = [];
  const byPath = new Map(now.map((e) => [e.p, e]));
  const seen = new Set<string>();
  for (const r of recorded) {
    if (problems.length >= max) return problems;
    seen.add(r.p);
    const n = byPath.get(r.p);
    if (!n) {
      problems.push(`${r.p}: missing`);
      continue;
    }
    for (const f of ['k', 'm', 'u', 'g', 's', 't', 'h', 'l', 'd', 'n'] as const) {
      if (r[f] !== n[f]) {
        problems.push(`${r.p}: ${FIELD_NAMES[f]} was ${String(r[f])}, now ${String(n[f])}`);
        break;
      }
    }
    if (JSON.stringify(r.x ?? {}) !== JSON.stringify(n.x ?? {})) problems.push(`${r.p}: xattrs changed`);
  }
  for (const n of now) {
    if (problems.length >= max) break;
    if (!seen.has(n.p)) problems.push(`${n.p}: not in the manifest`);
  }
  return problems;
}

const FIELD_NAMES = { k: 'type', m: 'mode', u: 'uid', g: 'gid', s: 'size', t: 'mtime', h: 'content sha256', l: 'link target', d: 'device', n: 'hardlink' } as const;

export function parseTime(t: string): { sec: number; nsec: number } {
  const dot = t.indexOf('.');
  return { sec: Number(t.slice(0, dot)), nsec: Number(t.slice(dot + 1)) };
}

export function xattrsOf(e: ManifestEntry, drop: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const [n, v] of Object.entries(e.x ?? {})) if (n !== drop) out.set(n, Buffer.from(v, 'base64'));
  return out;
}
