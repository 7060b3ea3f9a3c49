// Entry names -> clean rootfs-relative paths. Pure string work: absolute names and '..' are
// clamped at the rootfs root (as umoci's path cleaning does), never resolved against the host.
// Containment itself is enforced by src/fs; this only gives src/fs well-formed paths.
import { OciBundleError } from '../errors.js';

/**
 * Normalise a tar entry name (or hardlink target) to 'a/b/c', or '.' for the root itself.
 * Leading '/', './', repeated slashes and '.' components vanish; '..' pops a component and
 * never climbs above the root. Empty names and names with NUL are refused.
 */
export function cleanEntryPath(name: string): string {
  if (name.length === 0) throw new OciBundleError('EPATH', 'tar entry with an empty name');
  if (name.includes('\0')) throw new OciBundleError('EPATH', `tar entry name contains a nul byte: ${JSON.stringify(name)}`);
  // Fast path: already clean (the overwhelmingly common case: 'usr/bin/x' or './usr/bin/x').
  let s = name.startsWith('./') ? name.slice(2) : name;
  if (s.endsWith('/')) s = s.slice(0, -1);
  if (s.length > 0 && !s.startsWith('/') && !/(^|\/)\.{1,2}(\/|$)|\/\//.test(s)) return s;
  const out: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return out.length === 0 ? '.' : out.join('/');
}

export function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '.' : path.slice(0, i);
}

export function baseOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? path : path.slice(i + 1);
}

export function joinPath(dir: string, name: string): string {
  return dir === '.' ? name : `${dir}/${name}`;
}

/** True when `path` is `dir` or lies below it. */
export function isWithin(path: string, dir: string): boolean {
  if (dir === '.') return true;
  return path === dir || (path.length > dir.length && path.startsWith(dir) && path.charCodeAt(dir.length) === 47);
}
