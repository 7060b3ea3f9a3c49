// Child process for fs-remove-signals.test: builds trees on the given scratch dir and removes
// them with RootFS.remove while the parent runs it under --cpu-prof (SIGPROF every few µs), so
// getdents64 often returns short reads. Exits 0 when every tree was removed completely.
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { RootFS } from '../../src/fs/rootfs.js';

const root = process.argv[2]!;
const rounds = Number(process.argv[3] ?? '10');
const fs = RootFS.open(root);
try {
  for (let r = 0; r < rounds; r++) {
    const top = join(root, 't');
    for (let d = 0; d < 40; d++) {
      const dir = join(top, `d${d}`, 'LC_MESSAGES');
      mkdirSync(dir, { recursive: true });
      for (let f = 0; f < 60; f++) writeFileSync(join(dir, `file-with-a-longish-name-${f}.mo`), '');
    }
    fs.remove('t');
    if (existsSync(top)) throw new Error(`round ${r}: tree still there`);
  }
} finally {
  fs.close();
}
