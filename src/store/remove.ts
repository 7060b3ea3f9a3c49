// Removal of trees the store made (a layer entry, a temporary extraction dir, a bundle's upper
// data): never follows symlinks, works below PATH_MAX depth through fd-relative removal, and
// refuses a tree that is, or holds, a mount point (an overlay rootfs is unmounted first).
import { lstatSync, readFileSync } from 'node:fs';
import { resolve, sep } from 'node:path';
import { OciBundleError } from '../errors.js';
import { assertReplaceable } from '../host/guard.js';
import { removeTree } from '../fs/remove-tree.js';

/** Mount points currently on the system (from /proc/self/mountinfo), octal escapes decoded. */
export function mountPoints(): string[] {
  let text = '';
  try {
    text = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(' ')[4]!.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))));
}

/** Throws EEXIST when `dir` is, or holds, a mount point: a recursive delete must not cross it. */
export function assertNoMountsUnder(dir: string): void {
  const abs = resolve(dir);
  for (const m of mountPoints()) {
    if (m === abs || m.startsWith(abs + sep)) throw new OciBundleError('EEXIST', `refusing to delete ${abs}: ${m} is mounted there (unmount it first, e.g. ocibundle umount BUNDLE)`);
  }
}

export function removeStoreTree(p: string): void {
  if (!lstatSync(p, { throwIfNoEntry: false })) return;
  assertReplaceable(p, { what: 'store tree' });
  assertNoMountsUnder(p);
  removeTree(p);
}
