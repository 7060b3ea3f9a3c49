// Node-shaped system errors for the fs layer: building one in JS (for the component walk)
// and relabelling an addon error with the rootfs-relative path that was asked for. Pure;
// touches no file.
import { constants as osConstants } from 'node:os';

export interface SysError extends Error {
  code: string;
  errno: number;
  syscall: string;
  path?: string;
  dest?: string;
  /** The attribute name, for *xattr failures. */
  xattr?: string;
}

const DESCRIPTIONS: Record<string, string> = {
  ENOENT: 'no such file or directory',
  ENOTDIR: 'not a directory',
  ELOOP: 'too many levels of symbolic links',
  EEXIST: 'file exists',
  EINVAL: 'invalid argument',
};

/** A new error shaped like Node's: "ELOOP: too many levels of symbolic links, walk 'a/b'". */
export function sysError(code: keyof typeof DESCRIPTIONS, syscall: string, path: string): SysError {
  const e = new Error(`${code}: ${DESCRIPTIONS[code]}, ${syscall} '${path}'`) as SysError;
  e.code = code;
  e.errno = -((osConstants.errno as Record<string, number>)[code] ?? 0);
  e.syscall = syscall;
  e.path = path;
  return e;
}

export function codeOf(e: unknown): string | undefined {
  const c = (e as { code?: unknown } | null)?.code;
  return typeof c === 'string' ? c : undefined;
}

const MESSAGE = /^([A-Z0-9_]+): (.*?), ([a-z0-9_]+)( |$)/;

/**
 * Rewrite an addon error so that `path` (and the message) name the rootfs-relative path
 * instead of the last component handed to the syscall. Returns the same object.
 */
export function relabel(e: unknown, path: string, dest?: string): unknown {
  if (!(e instanceof Error)) return e;
  const se = e as SysError;
  if (typeof se.code !== 'string' || typeof se.syscall !== 'string') return e;
  const m = MESSAGE.exec(se.message);
  const desc = m?.[2] ?? se.code.toLowerCase();
  se.path = path;
  if (dest !== undefined) se.dest = dest;
  const tail = dest !== undefined ? ` -> '${dest}'` : '';
  const attr = se.xattr !== undefined ? ` (xattr '${se.xattr}')` : '';
  se.message = `${se.code}: ${desc}, ${se.syscall} '${path}'${tail}${attr}`;
  return e;
}
