// The mtree model of a bundle (path -> entry with umoci's keywords) and its text form as
// go-mtree writes and reads it: hierarchical "name key=value" lines, "..", /set and /unset
// defaults, vis-encoded names. Parsing treats the file as untrusted input: names are
// decoded and confined (no "..", no absolute paths), values checked, size and count capped.
import { OciBundleError } from '../errors.js';
import { unvis, vis } from './mtree-vis.js';

export type MtreeType = 'file' | 'dir' | 'link' | 'char' | 'block' | 'fifo' | 'socket';

export interface MtreeEntry {
  type: MtreeType;
  mode?: number;
  uid?: number;
  gid?: number;
  size?: number;
  nlink?: number;
  /** tar_time in whole seconds (go-mtree truncates). */
  tarTime?: number;
  link?: string;
  sha256?: string;
  /** xattr name -> base64 value; empty when the entry has none. */
  xattrs: Map<string, string>;
}

/** Clean rootfs-relative paths ('.' is the root) -> entries. */
export type Mtree = Map<string, MtreeEntry>;

export const KEYWORDS = 'size,type,uid,gid,mode,link,nlink,tar_time,sha256digest,xattr';
const TYPES = new Set<MtreeType>(['file', 'dir', 'link', 'char', 'block', 'fifo', 'socket']);
export const MAX_MTREE_BYTES = 1024 * 1024 * 1024;

function formatMode(m: number): string {
  return m === 0 ? '0' : `0${m.toString(8)}`;
}

/** One entry's keywords, in go-mtree's order. */
export function formatKeywords(e: MtreeEntry): string {
  let s = '';
  if (e.size !== undefined) s += ` size=${e.size}`;
  s += ` type=${e.type}`;
  if (e.uid !== undefined) s += ` uid=${e.uid}`;
  if (e.gid !== undefined) s += ` gid=${e.gid}`;
  if (e.mode !== undefined) s += ` mode=${formatMode(e.mode)}`;
  if (e.link !== undefined) s += ` link=${vis(e.link)}`;
  if (e.nlink !== undefined) s += ` nlink=${e.nlink}`;
  if (e.tarTime !== undefined) s += ` tar_time=${e.tarTime}.000000000`;
  if (e.sha256 !== undefined) s += ` sha256digest=${e.sha256}`;
  if (e.xattrs.size > 0) for (const name of [...e.xattrs.keys()].sort()) s += ` xattr.${vis(name)}=${e.xattrs.get(name)}`;
  return s;
}

/**
 * A tree to format, by handle: the recorder's model (node ids) or an Mtree map (paths).
 * children() lists a directory's entries in any order, with their base names; entry() may
 * hand out one object again and again (used before the next call, fields may be undefined).
 */
export interface MtreeSource<H> {
  readonly root: H | null;
  entry(h: H): MtreeEntry;
  isDir(h: H): boolean;
  children(h: H): [string, H][];
}

/** An Mtree map as a source: entries whose parent is not a directory of the map are unreachable. */
function mapSource(tree: Mtree): MtreeSource<string> {
  const children = new Map<string, [string, string][]>();
  for (const p of tree.keys()) {
    if (p === '.') continue;
    const i = p.lastIndexOf('/');
    const parent = i < 0 ? '.' : p.slice(0, i);
    let list = children.get(parent);
    if (!list) children.set(parent, (list = []));
    list.push([p.slice(i + 1), p]);
  }
  const root = tree.get('.');
  return {
    root: root && root.type === 'dir' ? '.' : null,
    entry: (p) => tree.get(p)!,
    isDir: (p) => tree.get(p)!.type === 'dir',
    children: (p) => children.get(p) ?? [],
  };
}

function byName(a: [string, unknown], b: [string, unknown]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}

/** Pieces of text are handed out once they pass this size. */
const PIECE = 64 * 1024;

/**
 * The text being formatted, as bytes in one reused buffer: each line's short string dies at
 * once (a string built up with += would live, and be promoted, until its piece is handed out).
 * Everything written is ASCII (vis() escapes the rest), so latin1 is byte for byte the text.
 */
class PieceBuffer {
  private b = Buffer.allocUnsafe(2 * PIECE);
  private n = 0;

  get full(): boolean {
    return this.n >= PIECE;
  }

  add(s: string): void {
    if (this.n + s.length > this.b.length) {
      const b = Buffer.allocUnsafe(Math.max(2 * this.b.length, this.n + s.length));
      this.b.copy(b, 0, 0, this.n);
      this.b = b;
    }
    this.n += this.b.write(s, this.n, 'latin1');
  }

  take(): string {
    const s = this.b.toString('latin1', 0, this.n);
    this.n = 0;
    return s;
  }
}

/**
 * The text of an mtree, in pieces (join or write them in order, as they are made): the
 * header comments, then each directory with its non-directories first and its
 * subdirectories after, each group sorted by name, as go-mtree walks.
 */
export function* formatMtree<H>(tree: Mtree | MtreeSource<H>, header: { tree: string; date: Date }): Generator<string> {
  yield `#          user: ocibundle\n#       machine: ${process.env['HOSTNAME'] ?? 'localhost'}\n#          tree: ${vis(header.tree)}\n`;
  yield `#          date: ${header.date.toUTCString()}\n#      keywords: ${KEYWORDS}\n\n`;
  const src = (tree instanceof Map ? mapSource(tree) : tree) as MtreeSource<unknown>;
  if (src.root === null) return;
  const buf = new PieceBuffer();
  // an explicit stack instead of recursion: [handle, path, depth] of directories still to write, then their '..'
  type Step = { h: unknown; path: string; depth: number } | null;
  const stack: Step[] = [{ h: src.root, path: '.', depth: 0 }];
  while (stack.length > 0) {
    const step = stack.pop()!;
    if (step === null) {
      buf.add('..\n');
      continue;
    }
    const { h, path, depth } = step;
    if (depth > 0) buf.add('\n');
    buf.add(`# ${vis(path)}\n${path === '.' ? '.' : vis(path.slice(path.lastIndexOf('/') + 1))}${formatKeywords(src.entry(h))}\n`);
    const kids = src.children(h).sort(byName);
    const pad = ' '.repeat(4 * (depth + 1));
    const subdirs: [string, unknown][] = [];
    for (const k of kids) {
      if (src.isDir(k[1])) subdirs.push(k);
      else {
        buf.add(`${pad}${vis(k[0])}${formatKeywords(src.entry(k[1]))}\n`);
        if (buf.full) yield buf.take();
      }
    }
    if (buf.full) yield buf.take();
    if (depth > 0) stack.push(null);
    for (let i = subdirs.length - 1; i >= 0; i--) {
      const [name, c] = subdirs[i]!;
      stack.push({ h: c, path: path === '.' ? name : `${path}/${name}`, depth: depth + 1 });
    }
  }
  buf.add('\n..\n');
  yield buf.take();
}

function bad(line: number, why: string): OciBundleError {
  return new OciBundleError('EBUNDLE', `mtree line ${line}: ${why}`);
}

type Kv = Map<string, string>;

function keyvals(tokens: string[]): Kv {
  const m: Kv = new Map();
  for (const t of tokens) {
    const eq = t.indexOf('=');
    if (eq <= 0) m.set(t, '');
    else m.set(t.slice(0, eq), t.slice(eq + 1));
  }
  return m;
}

function num(v: string, line: number, key: string, radix = 10): number {
  const re = radix === 8 ? /^[0-7]{1,8}$/ : /^\d{1,16}$/;
  if (!re.test(v)) throw bad(line, `bad ${key} value ${JSON.stringify(v.slice(0, 40))}`);
  const n = parseInt(v, radix);
  if (!Number.isSafeInteger(n)) throw bad(line, `bad ${key} value`);
  return n;
}

function toEntry(kv: Kv, line: number): MtreeEntry {
  const type = kv.get('type') ?? 'file';
  if (!TYPES.has(type as MtreeType)) throw bad(line, `unknown type ${JSON.stringify(type.slice(0, 20))}`);
  const e: MtreeEntry = { type: type as MtreeType, xattrs: new Map() };
  for (const [k, v] of kv) {
    switch (k) {
      case 'mode': {
        const m = num(v, line, k, 8);
        if (m > 0o7777) throw bad(line, `mode ${v} out of range`);
        e.mode = m;
        break;
      }
      case 'uid':
      case 'gid':
      case 'size':
      case 'nlink': {
        const n = num(v, line, k);
        if ((k === 'uid' || k === 'gid') && n > 0xffffffff) throw bad(line, `${k} ${v} out of range`);
        e[k] = n;
        break;
      }
      case 'tar_time':
      case 'time': {
        const m = /^(\d{1,15})(?:\.(\d{1,9}))?$/.exec(v);
        if (!m) throw bad(line, `bad ${k} value ${JSON.stringify(v.slice(0, 40))}`);
        e.tarTime = Number(m[1]);
        break;
      }
      case 'link': {
        const t = unvis(v);
        if (t === null || t.includes('\0')) throw bad(line, 'bad link value');
        e.link = t;
        break;
      }
      case 'sha256digest':
      case 'sha256':
        if (!/^[0-9a-f]{64}$/.test(v)) throw bad(line, 'bad sha256digest value');
        e.sha256 = v;
        break;
      default:
        if (k.startsWith('xattr.')) {
          const name = unvis(k.slice(6));
          if (name === null || name === '' || name.includes('\0')) throw bad(line, 'bad xattr name');
          if (!/^[A-Za-z0-9+/]*={0,2}$/.test(v)) throw bad(line, `xattr ${name} is not base64`);
          e.xattrs.set(name, v);
        }
      // other keywords (time, sha1digest, uname, ...) are not umoci's: ignored
    }
  }
  return e;
}

/** A clean relative path from decoded components; null if a component is unsafe. */
function join(parent: string, name: string): string | null {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) return null;
  return parent === '.' ? name : `${parent}/${name}`;
}

function cleanFull(name: string): string | null {
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.length === 0) return '.';
  if (parts.some((p) => p === '..' || p.includes('\0'))) return null;
  return parts.join('/');
}

/** Parse mtree text (umoci's or ours) into the model; EBUNDLE on anything malformed. */
export function parseMtree(text: string): Mtree {
  if (text.length > MAX_MTREE_BYTES) throw new OciBundleError('EBUNDLE', 'mtree is larger than 1 GiB');
  const tree: Mtree = new Map();
  let set: Kv = new Map();
  let cur: string | null = null; // current directory path; null before the root entry
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    let raw = lines[i]!;
    while (raw.endsWith('\\') && !raw.endsWith('\\\\') && i + 1 < lines.length) raw = raw.slice(0, -1) + lines[++i]!;
    const trimmed = raw.replace(/^[ \t]+/, '');
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const tokens = trimmed.split(/[ \t]+/).filter((t) => t !== '');
    const head = tokens[0]!;
    const line = i + 1;
    if (raw.startsWith('/')) {
      if (head === '/set') set = new Map([...set, ...keyvals(tokens.slice(1))]);
      else if (head === '/unset') {
        for (const k of tokens.slice(1)) {
          if (k === 'all') set = new Map();
          else set.delete(k);
        }
      } else throw bad(line, `unknown special ${JSON.stringify(head.slice(0, 20))}`);
      continue;
    }
    if (head === '..') {
      if (cur === null || cur === '.') cur = null;
      else {
        const j: number = cur.lastIndexOf('/');
        cur = j < 0 ? '.' : cur.slice(0, j);
      }
      continue;
    }
    const name = unvis(head);
    if (name === null) throw bad(line, 'bad escape in name');
    const kv = new Map([...set, ...keyvals(tokens.slice(1))]);
    const e = toEntry(kv, line);
    let path: string | null;
    if (name.includes('/')) path = cleanFull(name);
    else if (cur === null) {
      if (name !== '.') throw bad(line, `entry ${JSON.stringify(name.slice(0, 60))} before the root "."`);
      path = '.';
    } else path = join(cur, name);
    if (path === null) throw bad(line, `unsafe name ${JSON.stringify(name.slice(0, 60))}`);
    if (tree.has(path)) throw bad(line, `duplicate entry ${JSON.stringify(path.slice(0, 60))}`);
    tree.set(path, e);
    if (!name.includes('/') && e.type === 'dir') cur = path;
  }
  const root = tree.get('.');
  if (!root || root.type !== 'dir') throw new OciBundleError('EBUNDLE', 'mtree has no root directory entry "."');
  return tree;
}
