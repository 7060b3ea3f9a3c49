// Canonical listing of a directory tree for differential tests: one record per entry with
// type, mode, owner, size, content hash, link target, hardlink group, xattrs and mtime.
// Two unpackers agree when their listings are equal (modulo documented exceptions).
import { createHash } from 'node:crypto';
import { lstatSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { RootFS } from '../../src/fs/rootfs.js';

export interface TreeEntry {
  path: string;
  type: string;
  mode: string;
  uid: number;
  gid: number;
  size: number;
  sha256?: string;
  link?: string;
  hardlinkGroup?: string;
  rdev?: string;
  xattrs?: Record<string, string>;
  mtime: string; // sec.nsec
}

function typeOf(mode: number): string {
  switch (mode & 0o170000) {
    case 0o100000: return 'file';
    case 0o040000: return 'dir';
    case 0o120000: return 'symlink';
    case 0o020000: return 'char';
    case 0o060000: return 'block';
    case 0o010000: return 'fifo';
    case 0o140000: return 'socket';
    default: return 'unknown';
  }
}

/** Linux dev_t -> 'major:minor' (glibc's encoding). */
function devString(d: bigint): string {
  const major = ((d >> 8n) & 0xfffn) | ((d >> 32n) & ~0xfffn);
  const minor = (d & 0xffn) | ((d >> 12n) & ~0xffn);
  return `${major}:${minor}`;
}

/** List `root` recursively (root itself as '.'), sorted by path. */
export function listTree(root: string, opts: { xattrs?: boolean } = {}): TreeEntry[] {
  const out: TreeEntry[] = [];
  const inodes = new Map<bigint, string>();
  const fs = opts.xattrs === false ? null : RootFS.open(root);
  const visit = (rel: string) => {
    const abs = rel === '.' ? root : join(root, rel);
    const st = lstatSync(abs, { bigint: true });
    const type = typeOf(Number(st.mode));
    const e: TreeEntry = {
      path: rel,
      type,
      mode: (Number(st.mode) & 0o7777).toString(8).padStart(4, '0'),
      uid: Number(st.uid),
      gid: Number(st.gid),
      size: type === 'file' || type === 'symlink' ? Number(st.size) : 0,
      mtime: `${st.mtimeMs / 1000n}.${String(st.mtimeNs % 1_000_000_000n).padStart(9, '0')}`,
    };
    if (type === 'file') e.sha256 = createHash('sha256').update(readFileSync(abs)).digest('hex');
    if (type === 'symlink') e.link = readlinkSync(abs);
    if (type === 'char' || type === 'block') e.rdev = devString(st.rdev);
    if (type !== 'dir' && st.nlink > 1n) {
      const first = inodes.get(st.ino);
      if (first === undefined) inodes.set(st.ino, rel);
      e.hardlinkGroup = first ?? rel;
    }
    if (fs) {
      const x = fs.listXattrs(rel);
      if (x.size > 0) e.xattrs = Object.fromEntries([...x].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, v.toString('hex')]));
    }
    out.push(e);
    if (type === 'dir') {
      for (const name of readdirSync(abs).sort()) visit(rel === '.' ? name : `${rel}/${name}`);
    }
  };
  try {
    visit('.');
  } finally {
    fs?.close();
  }
  return out;
}

/** Differences between two listings, as readable lines; `ignore` drops fields per path. */
export function diffTrees(a: TreeEntry[], b: TreeEntry[], ignore: (path: string, field: string) => boolean = () => false): string[] {
  const byPath = (l: TreeEntry[]) => new Map(l.map((e) => [e.path, e]));
  const ma = byPath(a);
  const mb = byPath(b);
  const out: string[] = [];
  for (const p of new Set([...ma.keys(), ...mb.keys()])) {
    const x = ma.get(p);
    const y = mb.get(p);
    if (!x || !y) {
      if (!ignore(p, 'presence')) out.push(`${p}: only in ${x ? 'first' : 'second'}`);
      continue;
    }
    for (const k of new Set([...Object.keys(x), ...Object.keys(y)]) as Set<keyof TreeEntry>) {
      const vx = JSON.stringify(x[k]);
      const vy = JSON.stringify(y[k]);
      if (vx !== vy && !ignore(p, k)) out.push(`${p}: ${k} ${vx} != ${vy}`);
    }
  }
  return out.sort();
}

/**
 * A diffTrees `ignore` for directories that no tar entry declares: every unpacker gives them
 * the time of the unpack, so their mtimes cannot agree. They are found in `reference` (a tree
 * just unpacked) by an mtime within the last hour; fixtures use older, declared times.
 */
export function unpackTimeDirs(reference: TreeEntry[]): (path: string, field: string) => boolean {
  const recent = Date.now() / 1000 - 3600;
  const dirs = new Set(reference.filter((e) => e.type === 'dir' && Number(e.mtime.split('.')[0]) > recent).map((e) => e.path));
  return (path, field) => field === 'mtime' && dirs.has(path);
}
