// Host-path guards in front of every --force replacement and every recursive delete: a path
// may be replaced only when an unpack could have made it. Refuses an empty name, '/', the cwd
// and its ancestors, $HOME and its ancestors, mount points, anything overlapping a source the
// command reads, and a directory that holds an OCI layout. Checks only; deletes nothing.
import { lstatSync, readFileSync, realpathSync } from 'node:fs';
import { basename, dirname, resolve, sep } from 'node:path';
import { OciBundleError } from '../errors.js';

/** A path argument that names nothing: empty (yargs also reads a lone `-` as empty) or `-`. */
export function assertPathArg(p: string, what: string): void {
  if (p === '' || p === '-') {
    throw new OciBundleError('EUSAGE', `${what} path cannot be empty${p === '-' ? " or '-'" : ''}: name a directory`);
  }
}

/**
 * The absolute path with every symlink resolved except a final one (which a replacement moves
 * as a link). Missing trailing components are kept as written.
 */
export function hostPath(p: string): string {
  const abs = resolve(p);
  if (abs === sep) return abs;
  return resolve(realPrefix(dirname(abs)), basename(abs));
}

function realPrefix(abs: string): string {
  try {
    return realpathSync(abs);
  } catch {
    const parent = dirname(abs);
    return parent === abs ? abs : resolve(realPrefix(parent), basename(abs));
  }
}

/** The path with symlinks resolved as far as it exists (for sources, which are followed). */
function realPath(p: string): string {
  return realPrefix(resolve(p));
}

/** True when `inner` is `outer` or lies below it (both absolute and normalised). */
export function isWithinHost(inner: string, outer: string): boolean {
  if (inner === outer || outer === sep) return true;
  return inner.startsWith(outer.endsWith(sep) ? outer : outer + sep);
}

export interface ReplaceCheck {
  /** What the path is, for the message: `rootfs`, `bundle rootfs`, `stale temp`. */
  what: string;
  /** Local paths the command reads (source layout or archive, cache dir): never touched. */
  sources?: string[];
  /** Also refuse a directory with `oci-layout` or `index.json` at its top. */
  notLayout?: boolean;
}

/**
 * Throws unless the existing path `p` may be replaced or removed (only the link, if it is a
 * symlink). Call it before any rename-aside or recursive delete of a path a user named.
 */
export function assertReplaceable(p: string, check: ReplaceCheck): void {
  const real = hostPath(p);
  const refuse = (why: string) => new OciBundleError('EUSAGE', `refusing to replace ${check.what} ${real}: ${why}`);
  if (real === sep) throw refuse('it is the root directory');
  const cwd = currentDir();
  if (cwd !== null && isWithinHost(cwd, real)) throw refuse('it is the current directory or one of its ancestors');
  const home = process.env['HOME'];
  if (home !== undefined && home !== '' && isWithinHost(realPath(home), real)) throw refuse('it is $HOME or one of its ancestors');
  for (const s of check.sources ?? []) {
    const src = realPath(s);
    if (isWithinHost(src, real) || isWithinHost(real, src)) throw refuse(`it overlaps the image source ${src}`);
  }
  const st = lstatSync(real, { throwIfNoEntry: false });
  if (!st?.isDirectory()) return;
  if (isMountPoint(real)) throw refuse('it is a mount point');
  if (check.notLayout) {
    const marker = ['oci-layout', 'index.json'].find((n) => lstatSync(resolve(real, n), { throwIfNoEntry: false }) !== undefined);
    if (marker !== undefined) {
      throw new OciBundleError('EEXIST', `refusing to replace ${check.what} ${real}: it holds ${marker}, so it looks like an OCI layout, not a rootfs (remove it yourself if it is not one)`);
    }
  }
}

/** Throws when writing into `p` would write into a source the command reads. */
export function assertOutsideSources(p: string, what: string, sources: string[]): void {
  const real = hostPath(p);
  for (const s of sources) {
    const src = realPath(s);
    if (isWithinHost(real, src)) throw new OciBundleError('EUSAGE', `${what} ${real} is or lies inside the image source ${src}`);
  }
}

function currentDir(): string | null {
  try {
    return realpathSync(process.cwd());
  } catch {
    return null; // a deleted cwd has no ancestors to protect
  }
}

/** A directory on which something is mounted: another device than its parent, or listed in mountinfo. */
export function isMountPoint(real: string): boolean {
  if (real === sep) return true;
  const st = lstatSync(real, { throwIfNoEntry: false, bigint: true });
  const parent = lstatSync(dirname(real), { throwIfNoEntry: false, bigint: true });
  if (st && parent && (st.dev !== parent.dev || st.ino === parent.ino)) return true;
  return mountPoints().has(real);
}

function mountPoints(): Set<string> {
  let text: string;
  try {
    text = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return new Set();
  }
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    const field = line.split(' ')[4];
    // mountinfo escapes space, tab, newline and backslash as \ooo
    if (field) out.add(field.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8))));
  }
  return out;
}
