// `mkdir -p` for host directories (bundles, layouts, caches) that reports the real failure.
// Node's own recursive mkdir says ENOENT for a read-only file system or a dangling symlink and
// never returns for a path under /proc; this one creates each missing parent once and throws
// the system error of the component that failed. Knows nothing of images or bundles.
import { mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

const codeOf = (e: unknown) => (e as { code?: unknown } | null)?.code;

/** True when `e` (from mkdir) means the directory is already there. */
function alreadyDir(e: unknown, path: string): boolean {
  if (codeOf(e) !== 'EEXIST') return false;
  return statSync(path, { throwIfNoEntry: false })?.isDirectory() === true;
}

/**
 * Creates `path` and its missing parents (parents 0755, `path` itself `mode`); returns the
 * directories it made, deepest first.
 */
export function mkdirpSync(path: string, mode = 0o755): string[] {
  try {
    mkdirSync(path, { mode });
    return [path];
  } catch (e) {
    if (alreadyDir(e, path)) return [];
    if (codeOf(e) !== 'ENOENT' || dirname(path) === path) throw e;
  }
  const made = mkdirpSync(dirname(path), 0o755);
  try {
    mkdirSync(path, { mode }); // a second ENOENT (a parent that cannot hold it, as in /proc) is final
  } catch (e) {
    if (alreadyDir(e, path)) return made;
    throw e;
  }
  return [path, ...made];
}

/** mkdirpSync for async callers (a few mkdir calls: not worth a second implementation). */
export async function mkdirp(path: string, mode = 0o755): Promise<string[]> {
  return mkdirpSync(path, mode);
}
