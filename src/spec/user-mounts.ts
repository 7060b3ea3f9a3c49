// Mounts a caller asks for (--mount type=bind|tmpfs): checked as usage input (EUSAGE on a
// relative destination, one with '..', the root, anything on or under /proc or /sys, an
// unknown type, duplicates) and turned into runtime-spec mounts. Pure string work.
import { OciBundleError } from '../errors.js';
import { SPEC_LIMITS } from './limits.js';
import { cleanContainerPath } from './paths.js';
import type { RuntimeMount, ShapeMount } from './types.js';

/** Destinations a caller's mount may not be on or under: the runtime's own proc and sysfs. */
export const FORBIDDEN_MOUNT_ROOTS = ['/proc', '/sys'] as const;
export const MOUNT_TYPES = ['bind', 'tmpfs'] as const;
/** Options of a caller's tmpfs besides mode and size (as Docker's --mount type=tmpfs). */
export const TMPFS_OPTIONS = ['nosuid', 'nodev'] as const;
export const TMPFS_DEFAULT_MODE = 0o1777;

function usage(msg: string): OciBundleError {
  return new OciBundleError('EUSAGE', msg);
}

/** The cleaned destination, or EUSAGE naming why it cannot be one. */
export function checkDestination(dst: unknown, what: string): string {
  if (typeof dst !== 'string' || dst === '') throw usage(`${what}: a destination (dst=PATH) is required`);
  if (dst.includes('\0')) throw usage(`${what}: destination contains a nul byte`);
  if (!dst.startsWith('/')) throw usage(`${what}: destination ${JSON.stringify(dst)} must be an absolute path`);
  if (dst.split('/').includes('..')) throw usage(`${what}: destination ${JSON.stringify(dst)} must not contain '..'`);
  if (Buffer.byteLength(dst) > SPEC_LIMITS.pathBytes) throw usage(`${what}: destination is longer than ${SPEC_LIMITS.pathBytes} bytes`);
  const path = cleanContainerPath(dst, 'mount destination').path;
  if (path === '/') throw usage(`${what}: destination / would cover the whole rootfs`);
  const under = FORBIDDEN_MOUNT_ROOTS.find((r) => path === r || path.startsWith(`${r}/`));
  if (under) throw usage(`${what}: destination ${JSON.stringify(dst)} is on or under ${under}, which the runtime mounts itself`);
  return path;
}

const SIZE_RE = /^(?:[1-9][0-9]{0,15}[kmgKMG]?|[1-9][0-9]?%|100%)$/;

function oneMount(input: ShapeMount, what: string): RuntimeMount {
  if (input === null || typeof input !== 'object') throw usage(`${what}: must be an object`);
  // Checked member by member: library callers may pass anything.
  const m = input as { type?: unknown; source?: unknown; destination?: unknown; readonly?: unknown; size?: unknown; mode?: unknown };
  const type = m.type;
  if (type === 'bind') {
    const destination = checkDestination(m.destination, what);
    const src = m.source;
    if (typeof src !== 'string' || src === '') throw usage(`${what}: a bind mount needs a source (src=HOST_PATH)`);
    if (src.includes('\0')) throw usage(`${what}: source contains a nul byte`);
    if (!src.startsWith('/')) throw usage(`${what}: source ${JSON.stringify(src)} must be an absolute host path`);
    if (m.readonly !== undefined && typeof m.readonly !== 'boolean') throw usage(`${what}: readonly must be a boolean`);
    return { destination, type: 'bind', source: src, options: ['rbind', ...(m.readonly ? ['ro'] : [])] };
  }
  if (type === 'tmpfs') {
    const destination = checkDestination(m.destination, what);
    const options: string[] = [...TMPFS_OPTIONS];
    const mode = m.mode ?? TMPFS_DEFAULT_MODE;
    if (typeof mode !== 'number' || !Number.isInteger(mode) || mode < 0 || mode > 0o7777) throw usage(`${what}: mode must be an octal permission of at most 7777`);
    options.push(`mode=${mode.toString(8)}`);
    if (m.size !== undefined) {
      if (typeof m.size !== 'string' || !SIZE_RE.test(m.size)) throw usage(`${what}: size ${JSON.stringify(m.size)} must be bytes with an optional k, m or g suffix, or a percentage of memory`);
      options.push(`size=${m.size}`);
    }
    return { destination, type: 'tmpfs', source: 'tmpfs', options };
  }
  throw usage(`${what}: unknown mount type ${JSON.stringify(type)} (expected ${MOUNT_TYPES.join(' or ')})`);
}

/** The runtime mounts for a caller's list, in the order given; throws EUSAGE. */
export function buildUserMounts(mounts: readonly ShapeMount[]): RuntimeMount[] {
  if (!Array.isArray(mounts)) throw usage('mounts must be a list');
  const seen = new Set<string>();
  return mounts.map((m, i) => {
    const out = oneMount(m, `mount ${i + 1}`);
    if (seen.has(out.destination)) throw usage(`mount ${i + 1}: destination ${out.destination} is given twice`);
    seen.add(out.destination);
    return out;
  });
}
