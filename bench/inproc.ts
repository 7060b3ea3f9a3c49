// The in-process case: N `unpack()` calls of one image in one Node process, each into a new
// bundle (removed again after it was timed, so the disk stays small), as a test harness that
// calls the library would. Prints one JSON line: median and spread per bundle, and memory
// (heap after a full GC, RSS) after 10, 100, N/2 and N bundles (those up to N): growth after the warm-up
// (V8 reserving its heap, the allocator's arenas) would show between 100 and N.
// Run by run.ts as `node --expose-gc inproc.js IMAGE OUTDIR N`; spawns nothing itself.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { unpack } from '../src/index.js';
import { median } from './stats.js';

export interface InprocResult {
  n: number;
  medianMs: number;
  p10Ms: number;
  p90Ms: number;
  /** bundles made when each memory figure below was taken: 10, 100, N/2, N (distinct, up to N) */
  marks: number[];
  heapMb: number[];
  rssMb: number[];
}

function memory(): { heap: number; rss: number } {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  return { heap: m.heapUsed / 2 ** 20, rss: m.rss / 2 ** 20 };
}

async function main(): Promise<void> {
  const [image, out, count] = process.argv.slice(2);
  const n = Number(count);
  if (image === undefined || out === undefined || !Number.isInteger(n) || n < 10) throw new Error('usage: inproc.js IMAGE OUTDIR N (N >= 10)');
  const marks = [...new Set([10, 100, Math.floor(n / 2), n])].filter((m) => m >= 10 && m <= n).sort((a, b) => a - b);
  const mem: { heap: number; rss: number }[] = [];
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const bundle = join(out, `b${i}`);
    const t0 = performance.now();
    await unpack({ image, bundle });
    times.push(performance.now() - t0);
    rmSync(bundle, { recursive: true, force: true });
    if (marks.includes(i + 1)) mem.push(memory());
  }
  const sorted = [...times].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  const r: InprocResult = {
    n,
    medianMs: median(times)!,
    p10Ms: at(0.1),
    p90Ms: at(0.9),
    marks,
    heapMb: mem.map((m) => m.heap),
    rssMb: mem.map((m) => m.rss),
  };
  process.stdout.write(`${JSON.stringify(r)}\n`);
}

await main();
