// Test sandboxes for src/fs: a temp dir on tmpfs holding `rootfs/` and, beside it, a
// `sentinel/` tree OUTSIDE the rootfs whose exact state (modes, owners, ctimes, contents,
// xattrs) must never change. Helpers only; no assertions about RootFS live here.
import {
  lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync, symlinkSync,
} from 'node:fs';
import { join } from 'node:path';
import type { Resolver } from '../../src/fs/rootfs.js';

export const RESOLVERS: readonly Resolver[] = ['openat2', 'walk'];

export interface Sandbox {
  dir: string;
  root: string; // <dir>/rootfs
  sentinel: string; // <dir>/sentinel, outside the root
  /** A fingerprint of everything under sentinel/. */
  snapshot(): string;
  cleanup(): void;
}

const TMP_BASE = (() => {
  try {
    if (lstatSync('/dev/shm').isDirectory()) return '/dev/shm';
  } catch {
    /* no tmpfs */
  }
  return '/tmp';
})();

export function makeSandbox(tag = 'fs'): Sandbox {
  const dir = mkdtempSync(join(TMP_BASE, `fs-test-${tag}-`));
  const root = join(dir, 'rootfs');
  const sentinel = join(dir, 'sentinel');
  mkdirSync(root, { mode: 0o755 });
  mkdirSync(join(sentinel, 'etc'), { recursive: true, mode: 0o755 });
  writeFileSync(join(sentinel, 'etc', 'passwd'), 'host:x:0:0::/:/bin/sh\n', { mode: 0o644 });
  writeFileSync(join(sentinel, 'etc', 'shadow'), 'host-secret\n', { mode: 0o600 });
  writeFileSync(join(sentinel, 'victim'), 'do not touch\n', { mode: 0o640 });
  mkdirSync(join(sentinel, 'dir', 'sub'), { recursive: true });
  writeFileSync(join(sentinel, 'dir', 'sub', 'f'), 'deep\n');
  symlinkSync('victim', join(sentinel, 'link'));
  return {
    dir,
    root,
    sentinel,
    snapshot: () => fingerprint(sentinel),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Path, type, mode, owner, size, mtime, ctime (ns) and content of every entry, sorted. */
export function fingerprint(top: string): string {
  const lines: string[] = [];
  const visit = (p: string, rel: string): void => {
    const st = lstatSync(p, { bigint: true });
    let extra = '';
    if (st.isFile()) extra = readFileSync(p).toString('base64');
    else if (st.isSymbolicLink()) extra = readlinkSync(p);
    lines.push(`${rel} ${st.mode} ${st.uid}:${st.gid} ${st.size} ${st.mtimeNs} ${st.ctimeNs} ${st.nlink} ${extra}`);
    if (st.isDirectory()) for (const n of readdirSync(p).sort()) visit(join(p, n), `${rel}/${n}`);
  };
  visit(top, '.');
  return lines.join('\n');
}

/** Open file descriptors of this process (for leak checks). */
export function openFdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

/** A valid VFS_CAP_REVISION_2 security.capability value holding both 0x00 and 0xff bytes. */
export function capabilityValue(): Buffer {
  return Buffer.from([
    0x01, 0x00, 0x00, 0x02, // magic: revision 2, effective
    0x00, 0x04, 0x00, 0xff, // permitted[0] (CAP_NET_BIND_SERVICE plus high bits)
    0x00, 0x00, 0x00, 0x00, // inheritable[0]
    0xff, 0xff, 0xff, 0xff, // permitted[1]
    0x00, 0x00, 0x00, 0x00, // inheritable[1]
  ]);
}

/** The `code` of what `fn` throws, or undefined when it does not throw. */
export function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return undefined;
}
