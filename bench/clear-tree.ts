// The one way the layer-store rows remove their trees: only a path inside the bench's own
// directory, with every mount below it (overlay bundles of this or a killed earlier run)
// unmounted first, and nothing removed while a mount is still there: rm -rf through a
// mounted overlay would delete through the merged view.
import { spawnSync } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { resolve } from 'node:path';

/** Mount points at or below `path` in mountinfo text, deepest first. */
export function mountsUnder(path: string, mountinfo: string): string[] {
  const p = resolve(path);
  return mountinfo
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(' ')[4]!.replace(/\\040/g, ' '))
    .filter((m) => m === p || m.startsWith(`${p}/`))
    .sort((a, b) => b.length - a.length);
}

const mountinfo = (): Promise<string> => readFile('/proc/self/mountinfo', 'utf8');

/** Unmount what is mounted below `path` (failures left for clearTree to refuse on). */
export async function unmountUnder(path: string): Promise<void> {
  for (const m of mountsUnder(path, await mountinfo())) spawnSync('umount', [m]);
}

/** Remove `path`, which must lie inside `within`, once nothing is mounted at or below it. */
export async function clearTree(within: string, path: string): Promise<void> {
  const w = resolve(within);
  const p = resolve(path);
  if (!p.startsWith(`${w}/`)) throw new Error(`bench: refusing to remove ${path}: not inside ${w}`);
  await unmountUnder(p);
  const left = mountsUnder(p, await mountinfo());
  if (left.length > 0) throw new Error(`bench: ${left[0]} is still mounted; not removing ${path}`);
  await rm(p, { recursive: true, force: true });
}
