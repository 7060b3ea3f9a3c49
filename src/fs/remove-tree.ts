// rm -rf for a host tree ocibundle made or is replacing: rmSync first; when that fails on a
// tree deeper than PATH_MAX (a hostile image can build one through symlinked parents), the
// tree is emptied through fd-relative RootFS removal and removed again. Never follows symlinks.
import { lstatSync, rmSync } from 'node:fs';
import { RootFS } from './rootfs.js';

export function removeTree(p: string): void {
  try {
    rmSync(p, { recursive: true, force: true });
    return;
  } catch (e) {
    if (!lstatSync(p, { throwIfNoEntry: false })?.isDirectory()) throw e;
  }
  const fs = RootFS.open(p);
  try {
    for (const name of fs.readdir('.')) fs.remove(name);
  } finally {
    fs.close();
  }
  rmSync(p, { recursive: true, force: true });
}
