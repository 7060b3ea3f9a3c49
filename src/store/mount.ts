// Mounting and unmounting an overlay without spawning mount(8): the kernel's new mount API
// through the addon, one "lowerdir+" per layer (Linux 6.8+), so neither the one-page option
// limit nor a working directory is involved. Reports false where the kernel lacks that API
// (the caller falls back to mount(8)); any other refusal is EIO with the kernel's own message.
import { childProcess } from '../host/lazy-builtins.js';
import { OciBundleError } from '../errors.js';
import { native } from '../fs/native.js';

function code(e: unknown): string | undefined {
  return (e as { code?: string } | null)?.code;
}

/** Mount overlayfs at `target`: `lowers` top first. False: this kernel has no "lowerdir+". */
export function mountOverlay(target: string, lowers: string[], upper: string, work: string): boolean {
  if (process.env['OCIBUNDLE_TEST_MOUNT8'] === '1') return false; // tests: take the mount(8) path
  const n = native();
  let fd: number;
  try {
    fd = n.fsopen('overlay');
  } catch (e) {
    if (['ENOSYS', 'ENODEV', 'EPERM'].includes(code(e) ?? '')) return false;
    throw mountError(target, e, []);
  }
  try {
    try {
      n.fsconfigSet(fd, 'lowerdir+', lowers[0]!);
    } catch (e) {
      if (code(e) === 'EINVAL' && n.fsMessages(fd).some((m) => m.includes('lowerdir+'))) return false; // "Unknown parameter"
      throw e;
    }
    for (const l of lowers.slice(1)) n.fsconfigSet(fd, 'lowerdir+', l);
    n.fsconfigSet(fd, 'upperdir', upper);
    n.fsconfigSet(fd, 'workdir', work);
    n.fsconfigCreate(fd);
    const m = n.fsmount(fd);
    try {
      n.moveMount(m, target);
    } finally {
      n.close(m);
    }
    return true;
  } catch (e) {
    throw mountError(target, e, safeMessages(fd));
  } finally {
    n.close(fd);
  }
}

function safeMessages(fd: number): string[] {
  try {
    return native().fsMessages(fd);
  } catch {
    return [];
  }
}

function mountError(target: string, e: unknown, messages: string[]): OciBundleError {
  const why = messages.length > 0 ? messages.map((m) => m.replace(/^[ewi] /, '')).join('; ') : (e as Error).message;
  return new OciBundleError('EIO', `cannot mount the overlay at ${target}: ${why}`, { cause: e });
}

/** Unmount `target`: umount2 as root (kernel overlay), fusermount3 -u otherwise. */
export function unmount(target: string, asRoot: boolean): void {
  if (asRoot) {
    try {
      native().umount2(target, 0);
    } catch (e) {
      throw new OciBundleError('EIO', `cannot unmount ${target}: ${(e as Error).message}`, { cause: e });
    }
    return;
  }
  const r = childProcess().spawnSync('fusermount3', ['-u', target], { encoding: 'utf8' });
  if (r.status !== 0) {
    const why = (r.stderr || r.error?.message || `status ${r.status}`).trim().split('\n')[0];
    throw new OciBundleError('EIO', `cannot unmount ${target}: ${why}`);
  }
}
