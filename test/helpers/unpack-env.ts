// Test environment for the unpack hostile/bundle tests: a scratch area on its own tmpfs
// (strictatime, so a read of a sentinel file shows), a SENTINEL tree outside every bundle,
// a fingerprint of that tree, one-call layouts and a CLI runner. Test code only: never
// imported by src/, and it never touches anything outside the area it made.
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chownSync, closeSync, constants, existsSync, lstatSync, mkdirSync, mkdtempSync, openSync, readdirSync,
  readlinkSync, readSync, rmSync, symlinkSync, utimesSync, writeFileSync, chmodSync, lutimesSync,
} from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeLayout, type ImageSpec, type BuiltLayout } from '../../fixtures/layout.js';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const CLI = join(REPO, 'bin', 'ocibundle');

export interface Area {
  /** The area root (a tmpfs mount point when `mounted`). */
  root: string;
  /** The sentinel tree that no case may read, change, link or delete. */
  sentinel: string;
  mounted: boolean;
  /** A fresh, not yet existing path under the area (for a bundle or a layout). */
  fresh(kind: string): string;
  cleanup(): void;
}

/**
 * Makes `/dev/shm/<prefix>XXXX`, mounts a tmpfs with strictatime on it when possible (root),
 * and fills `sentinel/` there. Every bundle and layout of the tests goes beside it.
 */
export function makeArea(prefix: string, sizeMb = 1024): Area {
  const root = mkdtempSync(join('/dev/shm', prefix));
  let mounted = false;
  if (process.getuid?.() === 0) {
    const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m,strictatime,mode=0755`, 'tmpfs', root]);
    mounted = r.status === 0;
  }
  const sentinel = join(root, 'sentinel');
  buildSentinel(sentinel);
  let n = 0;
  return {
    root,
    sentinel,
    mounted,
    fresh: (kind) => join(root, `${kind}${n++}`),
    cleanup: () => {
      if (mounted) spawnSync('umount', ['-l', root]);
      rmSync(root, { recursive: true, force: true });
    },
  };
}

export const SENTINEL_CONTENT = 'sentinel content: must never change\n';
const OLD = 1_000_000_000; // atime, strictly older than mtime, so any read moves it
const MT = 1_100_000_000;

function buildSentinel(s: string): void {
  mkdirSync(join(s, 'dir', 'deeper'), { recursive: true });
  mkdirSync(join(s, 'target'));
  const files: [string, string, number, number, number][] = [
    ['file', SENTINEL_CONTENT, 0o640, 1234, 2345],
    ['exec', '#!/bin/sh\necho sentinel\n', 0o755, 0, 0],
    ['dir/inner', 'inner\n', 0o600, 42, 42],
    ['dir/deeper/leaf', 'leaf\n', 0o444, 7, 8],
    ['target/keep', 'keep\n', 0o644, 0, 0],
  ];
  for (const [p, content, mode, uid, gid] of files) {
    writeFileSync(join(s, p), content);
    chmodSync(join(s, p), mode);
    if (process.getuid?.() === 0) chownSync(join(s, p), uid, gid);
  }
  symlinkSync('target', join(s, 'link'));
  symlinkSync('/', join(s, 'rootlink'));
  for (const d of ['dir/deeper', 'dir', 'target']) chmodSync(join(s, d), 0o750);
  for (const p of ['file', 'exec', 'dir/inner', 'dir/deeper/leaf', 'target/keep', 'dir/deeper', 'dir', 'target', '.']) {
    utimesSync(join(s, p), OLD, MT);
  }
  lutimesSync(join(s, 'link'), OLD, MT);
}

/**
 * Everything observable about a tree without disturbing it: kind, mode, owner, size, inode,
 * link count, mtime and ctime (ctime catches chmod/chown/utime/link even to equal values),
 * file atime (a read moves it on a strictatime mount), symlink targets and file contents
 * (read with O_NOATIME). Directory atimes are left out: listing a directory moves them.
 */
export function fingerprint(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const visit = (p: string): void => {
    const st = lstatSync(p, { bigint: true });
    const rel = relative(dir, p) || '.';
    const base = `mode=${st.mode.toString(8)} uid=${st.uid} gid=${st.gid} size=${st.size} ino=${st.ino} nlink=${st.nlink} mtime=${st.mtimeNs} ctime=${st.ctimeNs}`;
    if (st.isSymbolicLink()) out.set(rel, `${base} -> ${readlinkSync(p)}`);
    else if (st.isDirectory()) {
      out.set(rel, `${base} [${readdirSync(p).sort().join(',')}]`);
      for (const name of readdirSync(p).sort()) visit(join(p, name));
    } else out.set(rel, `${base} atime=${st.atimeNs} sha=${hashNoAtime(p)}`);
  };
  visit(dir);
  return out;
}

function hashNoAtime(p: string): string {
  const fd = openSync(p, constants.O_RDONLY | constants.O_NOATIME);
  try {
    const h = createHash('sha256');
    const buf = Buffer.alloc(65536);
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
    }
    return h.digest('hex');
  } finally {
    closeSync(fd);
  }
}

/** Lines that differ between two fingerprints, for an assertion message. */
export function fingerprintDiff(before: Map<string, string>, after: Map<string, string>): string[] {
  const diff: string[] = [];
  for (const [k, v] of before) if (after.get(k) !== v) diff.push(`${k}: ${v} => ${after.get(k) ?? '(gone)'}`);
  for (const [k, v] of after) if (!before.has(k)) diff.push(`${k}: (new) ${v}`);
  return diff;
}

/** Writes a one-image layout with these layers (and spec overrides); returns `DIR:latest`. */
export function imageOf(area: Area, layers: Buffer[], spec: Partial<ImageSpec> = {}): { image: string; layout: BuiltLayout } {
  const dir = area.fresh('layout');
  const config = { config: { Cmd: ['/bin/sh'] } }; // a command, so no WNOARGS warning
  const layout = writeLayout(dir, { images: [{ tag: 'latest', layers, config, ...spec }] });
  return { image: `${dir}:latest`, layout };
}

/** rm -rf that copes with trees deeper than PATH_MAX (GNU rm works fd-relative). */
export function removeAll(p: string): void {
  const r = spawnSync('rm', ['-rf', '--one-file-system', p]);
  if (r.status !== 0) throw new Error(`rm -rf ${p} failed: ${r.stderr.toString()}`);
}

/** Names in `bundle` that a failed run must not leave: rootfs, config.json, temp names. */
export function leftovers(bundle: string): string[] {
  if (!existsSync(bundle)) return [];
  return readdirSync(bundle).filter((n) => n === 'rootfs' || n === 'config.json' || n.startsWith('.ocibundle-'));
}

/** A compact description of a node in a rootfs, for assertions: kind, mode, owner, target. */
export function nodeOf(p: string): { kind: string; mode: number; uid: number; gid: number; target?: string; content?: string } | null {
  let st;
  try {
    st = lstatSync(p);
  } catch {
    return null;
  }
  const kind = st.isSymbolicLink() ? 'symlink' : st.isDirectory() ? 'dir' : st.isFile() ? 'file' : st.isFIFO() ? 'fifo' : st.isCharacterDevice() ? 'char' : st.isBlockDevice() ? 'block' : 'other';
  const base = { kind, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
  if (kind === 'symlink') return { ...base, target: readlinkSync(p) };
  if (kind === 'file' && st.size < 65536) {
    const fd = openSync(p, constants.O_RDONLY);
    try {
      const b = Buffer.alloc(st.size);
      readSync(fd, b, 0, st.size, 0);
      return { ...base, content: b.toString() };
    } finally {
      closeSync(fd);
    }
  }
  return base;
}

/** Every path under `dir` (relative, sorted), symlinks not followed. */
export function listPaths(dir: string): string[] {
  const out: string[] = [];
  const visit = (rel: string): void => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const r = rel === '' ? name : `${rel}/${name}`;
      out.push(r);
      if (lstatSync(join(dir, r)).isDirectory()) visit(r);
    }
  };
  visit('');
  return out;
}

export interface CliResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export function runCli(args: string[], timeoutMs = 60_000, opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): CliResult {
  const t0 = performance.now();
  const env = { ...process.env, OCIBUNDLE_DEBUG: '', ...opts.env };
  const r: SpawnSyncReturns<string> = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: timeoutMs, env, ...(opts.cwd === undefined ? {} : { cwd: opts.cwd }) });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, ms: performance.now() - t0 };
}

/**
 * Starts the CLI, sends `sig` once `ready()` turns true (polled every 10 ms) or after
 * `delayMs`, whichever comes later, and resolves with its result.
 */
export function runCliWithSignal(
  args: string[], sig: NodeJS.Signals, delayMs: number, ready: () => boolean = () => true, env: NodeJS.ProcessEnv = {},
): Promise<CliResult & { signalledAfterMs: number; signalledAtEpochMs: number; exitedAtEpochMs: number }> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  let signalledAfterMs = -1;
  const poll = setInterval(() => {
    if (performance.now() - t0 >= delayMs && ready() && signalledAfterMs < 0) {
      signalledAfterMs = performance.now() - t0;
      child.kill(sig);
      clearInterval(poll);
    }
  }, 10);
  const guard = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((res) => {
    child.on('close', (status, signal) => {
      clearInterval(poll);
      clearTimeout(guard);
      const now = performance.now();
      const epoch = (ms: number) => performance.timeOrigin + ms;
      res({ status, signal, stdout, stderr, ms: now - t0, signalledAfterMs, signalledAtEpochMs: epoch(t0 + signalledAfterMs), exitedAtEpochMs: epoch(now) });
    });
  });
}

/** Asserting helper for CLI errors: exactly one stderr line `ocibundle: CODE: ...`. */
export function oneErrorLine(stderr: string): { lines: number; code: string | null } {
  const lines = stderr.split('\n').filter((l) => l !== '');
  const m = /^ocibundle: ([A-Z]+): /.exec(lines[0] ?? '');
  return { lines: lines.length, code: m ? m[1]! : null };
}
