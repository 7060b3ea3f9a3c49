// Throughput probe for src/fs: createFile + write 1 byte + finishFile for N files spread over
// nested directories, per resolver, on tmpfs. Run: node dist/test/helpers/fs-bench.js [N].
// Measures only; never run by `npm test` (not a *.test.ts file).
import { closeSync, fchmodSync, fchownSync, futimesSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { RootFS, type Meta, type Resolver } from '../../src/fs/rootfs.js';

const ONE = Buffer.from('x');

/** ops/s of create+write+finish for `count` files in dirs d000..d099/sub (created first). */
export function benchCreate(base: string, resolver: Resolver | 'node', count: number): number {
  const dir = mkdtempSync(join(base, `fs-bench-${resolver}-`));
  try {
    const meta: Meta = { uid: 1000, gid: 1000, mode: 0o644, atime: { sec: 1700000000, nsec: 1 }, mtime: { sec: 1700000000, nsec: 2 } };
    const dirs = Array.from({ length: 100 }, (_, i) => `usr/d${String(i).padStart(3, '0')}/sub`);
    if (resolver === 'node') {
      for (const d of dirs) mkdirSync(join(dir, d), { recursive: true });
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < count; i++) {
        const fd = openSync(join(dir, dirs[i % dirs.length]!, `f${i}`), 'wx', 0o600);
        writeSync(fd, ONE);
        fchownSync(fd, meta.uid, meta.gid);
        fchmodSync(fd, meta.mode);
        futimesSync(fd, meta.atime.sec, meta.mtime.sec);
        closeSync(fd);
      }
      return count / (Number(process.hrtime.bigint() - t0) / 1e9);
    }
    const fs = RootFS.open(dir, { resolver });
    try {
      for (const d of dirs) {
        const parts = d.split('/');
        for (let k = 1; k <= parts.length; k++) {
          try {
            fs.mkdir(parts.slice(0, k).join('/'), 0o755);
          } catch (e) {
            if ((e as { code?: string }).code !== 'EEXIST') throw e;
          }
        }
      }
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < count; i++) {
        // files of one directory come together in real layers: walk dirs in runs of 200
        const fd = fs.createFile(`${dirs[Math.floor(i / 200) % dirs.length]!}/f${i}`, 0o600);
        writeSync(fd, ONE);
        fs.finishFile(fd, meta);
      }
      return count / (Number(process.hrtime.bigint() - t0) / 1e9);
    } finally {
      fs.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1]?.endsWith('fs-bench.js')) {
  const count = Number(process.argv[2] ?? 20000);
  const base = process.argv[3] ?? '/dev/shm';
  for (let round = 0; round < 3; round++) {
    for (const r of ['openat2', 'walk', 'node'] as const) {
      console.log(`${r}\tround ${round}\t${Math.round(benchCreate(base, r, count))} ops/s`);
    }
  }
}
