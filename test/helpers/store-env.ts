// Helpers for layer-store tests: unpack with the CLI into a store (flattened, from the store,
// or as an overlay bundle), unmount every overlay a test made (in `after`/finally), and the
// images of ../shared/bench present on this machine.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import assert from 'node:assert/strict';
import { BIN } from './cli.js';

export const BENCH_IMAGES = process.env['OCIBUNDLE_IMAGES'] ?? '/tmp/ocibundle-images';

export function cli(args: string[], timeout = 600_000): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function ok(args: string[], timeout?: number): string {
  const r = cli(args, timeout);
  assert.equal(r.status, 0, `ocibundle ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

function mountPoints(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter(Boolean).map((l) => l.split(' ')[4]!);
}

/** Unmount every mount at or below `dir` (deepest first); returns how many there were. */
export function unmountAllUnder(dir: string): number {
  const abs = resolve(dir);
  const mine = mountPoints().filter((m) => m === abs || m.startsWith(`${abs}/`)).sort((a, b) => b.length - a.length);
  for (const m of mine) spawnSync('umount', ['-l', m]);
  return mine.length;
}

export function isMountPoint(p: string): boolean {
  return mountPoints().includes(resolve(p));
}

/** The first tag of each layout under BENCH_IMAGES (top level), e.g. ['busybox:latest', ...]. */
export function benchImages(): { name: string; ref: string }[] {
  if (!existsSync(BENCH_IMAGES)) return [];
  const out: { name: string; ref: string }[] = [];
  for (const name of readdirSync(BENCH_IMAGES).sort()) {
    const idx = join(BENCH_IMAGES, name, 'index.json');
    if (!existsSync(idx)) continue;
    const manifests = (JSON.parse(readFileSync(idx, 'utf8')) as { manifests: { annotations?: Record<string, string> }[] }).manifests;
    const tags = manifests.map((m) => m.annotations?.['org.opencontainers.image.ref.name']).filter((t): t is string => !!t);
    const tag = tags.includes('latest') ? 'latest' : tags[0];
    if (tag) out.push({ name, ref: `${join(BENCH_IMAGES, name)}:${tag}` });
  }
  return out;
}
