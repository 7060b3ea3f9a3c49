// Reading the conversion.md fields of an image config defensively (wrong JSON types fail
// with ECONFIG naming the field) and turning them into env, args, cwd, annotations and
// volume mounts. Pure; user resolution is in user.ts, the Linux template in defaults.ts.
import { OciBundleError, type WarnFn } from '../errors.js';
import { DEFAULT_ARGS, DEFAULT_ENV, SYSTEM_MOUNT_ROOTS, VOLUME_OPTIONS } from './defaults.js';
import { SPEC_LIMITS } from './limits.js';
import { cleanContainerPath } from './paths.js';
import type { RuntimeMount } from './types.js';

export type Warn = WarnFn;

/** Labels under these prefixes steer crun itself (hook output files on the host, handlers). */
export const UNSAFE_LABEL_PREFIXES = ['run.oci.'] as const;

export const ANNOTATION = {
  os: 'org.opencontainers.image.os',
  architecture: 'org.opencontainers.image.architecture',
  variant: 'org.opencontainers.image.variant',
  osVersion: 'org.opencontainers.image.os.version',
  osFeatures: 'org.opencontainers.image.os.features',
  author: 'org.opencontainers.image.author',
  created: 'org.opencontainers.image.created',
  stopSignal: 'org.opencontainers.image.stopSignal',
  exposedPorts: 'org.opencontainers.image.exposedPorts',
} as const;

function bad(field: string, want: string): OciBundleError {
  return new OciBundleError('ECONFIG', `image config field ${field} must be ${want}`);
}

/** A string field; null and absent are undefined. */
export function optString(v: unknown, field: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw bad(field, 'a string');
  return v;
}

/** An array-of-strings field; null and absent are []. */
export function stringList(v: unknown, field: string, max: number): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw bad(field, 'an array of strings');
  if (v.length > max) throw new OciBundleError('ELIMIT', `image config field ${field} has ${v.length} entries, more than ${max}`);
  for (const s of v) if (typeof s !== 'string') throw bad(field, 'an array of strings');
  return v as string[];
}

/** An object-as-set field (ExposedPorts, Volumes): its keys. null and absent are []. */
export function objectKeys(v: unknown, field: string, max: number): string[] {
  if (v === undefined || v === null) return [];
  if (typeof v !== 'object' || Array.isArray(v)) throw bad(field, 'an object');
  const keys = Object.keys(v);
  if (keys.length > max) throw new OciBundleError('ELIMIT', `image config field ${field} has ${keys.length} entries, more than ${max}`);
  return keys;
}

function checkExecString(s: string, field: string): number {
  const n = Buffer.byteLength(s);
  if (n > SPEC_LIMITS.stringBytes) {
    throw new OciBundleError('ELIMIT', `image config field ${field} has a string of ${n} bytes, more than ${SPEC_LIMITS.stringBytes}: ${JSON.stringify(s.slice(0, 40))}...`);
  }
  return n;
}

/**
 * process.env: the defaults (PATH, TERM), then Config.Env. A name keeps the position of its
 * first appearance and the value of its last, so the image's values win over the defaults.
 * Entries with no '=', an empty name or a nul byte cannot be passed to execve: dropped, with
 * a WENV warning each. Returns the list and whether the image set HOME.
 */
export function mergeEnv(imageEnv: string[], warn: Warn): { env: string[]; hasHome: boolean; bytes: number } {
  const values = new Map<string, string>();
  for (const d of DEFAULT_ENV) {
    const i = d.indexOf('=');
    values.set(d.slice(0, i), d.slice(i + 1));
  }
  let hasHome = false;
  for (const e of imageEnv) {
    checkExecString(e, 'config.Env');
    const i = e.indexOf('=');
    if (i <= 0 || e.includes('\0')) {
      warn({ code: 'WENV', message: `dropped environment entry ${JSON.stringify(e.slice(0, 80))}: ${i <= 0 ? "no NAME= before a value" : 'it contains a nul byte'}` });
      continue;
    }
    const name = e.slice(0, i);
    if (name === 'HOME') hasHome = true;
    values.set(name, e.slice(i + 1)); // Map keeps the first insertion's position
  }
  const env: string[] = [];
  let bytes = 0;
  for (const [k, v] of values) {
    const s = `${k}=${v}`;
    bytes += Buffer.byteLength(s) + 1;
    env.push(s);
  }
  return { env, hasHome, bytes };
}

/** process.args: Entrypoint then Cmd; ['sh'] with a WNOARGS warning when both are empty. */
export function buildArgs(entrypoint: string[], cmd: string[], warn: Warn): { args: string[]; bytes: number } {
  const args = [...entrypoint, ...cmd];
  if (args.length > SPEC_LIMITS.argEntries) {
    throw new OciBundleError('ELIMIT', `image config Entrypoint and Cmd have ${args.length} entries, more than ${SPEC_LIMITS.argEntries}`);
  }
  if (args.length === 0) {
    warn({ code: 'WNOARGS', message: `the image has neither Entrypoint nor Cmd: process.args set to ${JSON.stringify(DEFAULT_ARGS)}` });
    return { args: [...DEFAULT_ARGS], bytes: 3 };
  }
  let bytes = 0;
  for (const a of args) {
    if (a.includes('\0')) throw new OciBundleError('ECONFIG', `image config argument ${JSON.stringify(a.slice(0, 80))} contains a nul byte`);
    bytes += checkExecString(a, 'Entrypoint/Cmd') + 1;
  }
  return { args, bytes };
}

/** process.cwd from WorkingDir: '/' when empty; cleaned, with a WCWD warning when relative or climbing. */
export function buildCwd(workingDir: string | undefined, warn: Warn): string {
  if (workingDir === undefined || workingDir === '') return '/';
  const c = cleanContainerPath(workingDir, 'image config WorkingDir');
  if (c.relative || c.climbed) {
    warn({ code: 'WCWD', message: `working directory ${JSON.stringify(workingDir)} ${c.relative ? 'is relative' : "climbs above '/'"}: using ${c.path}` });
  }
  return c.path;
}

/**
 * annotations: the generated org.opencontainers.image.* values (omitted when empty), then
 * Config.Labels, which win over them (conversion.md). Labels with an empty key or under an
 * unsafe prefix are dropped with a WLABEL warning. Keys come out sorted.
 */
export function buildAnnotations(
  generated: [key: string, value: string | undefined][],
  labels: unknown,
  warn: Warn,
): Record<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of generated) if (v !== undefined && v !== '') out.set(k, v);
  if (labels !== undefined && labels !== null) {
    if (typeof labels !== 'object' || Array.isArray(labels)) throw bad('config.Labels', 'an object of strings');
    const entries = Object.entries(labels as Record<string, unknown>);
    if (entries.length > SPEC_LIMITS.labelEntries) {
      throw new OciBundleError('ELIMIT', `image config field config.Labels has ${entries.length} entries, more than ${SPEC_LIMITS.labelEntries}`);
    }
    let bytes = 0;
    for (const [k, v] of entries) {
      if (typeof v !== 'string') throw bad(`config.Labels[${JSON.stringify(k.slice(0, 80))}]`, 'a string');
      bytes += Buffer.byteLength(k) + Buffer.byteLength(v);
      if (bytes > SPEC_LIMITS.labelBytes) {
        throw new OciBundleError('ELIMIT', `image config field config.Labels is larger than ${SPEC_LIMITS.labelBytes} bytes`);
      }
      if (k === '') {
        warn({ code: 'WLABEL', message: 'dropped a label with an empty key: runtime-spec annotations need a key' });
        continue;
      }
      if (UNSAFE_LABEL_PREFIXES.some((p) => k.startsWith(p))) {
        warn({ code: 'WLABEL', message: `dropped label ${JSON.stringify(k)}: annotations under ${UNSAFE_LABEL_PREFIXES.join(', ')} configure the runtime itself` });
        continue;
      }
      out.set(k, v);
    }
  }
  // fromEntries defines own properties, so a '__proto__' label stays a label.
  return Object.fromEntries([...out.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)));
}

/**
 * Config.Volumes -> tmpfs mounts (umoci's options), destinations cleaned, deduplicated and
 * sorted so parents come before children. Volumes at '/' or on or under /proc, /dev or /sys
 * are dropped (they would hide the rootfs or the system mounts), with a WVOLUME warning.
 */
export function buildVolumeMounts(volumes: string[], warn: Warn): RuntimeMount[] {
  const dests = new Set<string>();
  for (const v of volumes) {
    const c = cleanContainerPath(v, 'image config volume');
    if (c.path === '/') {
      warn({ code: 'WVOLUME', message: `dropped volume ${JSON.stringify(v)}: it would cover the whole rootfs` });
      continue;
    }
    const sys = SYSTEM_MOUNT_ROOTS.find((r) => c.path === r || c.path.startsWith(`${r}/`));
    if (sys) {
      warn({ code: 'WVOLUME', message: `dropped volume ${JSON.stringify(v)}: it would cover the ${sys} system mount` });
      continue;
    }
    if (c.relative || c.climbed) {
      warn({ code: 'WVOLUME', message: `volume ${JSON.stringify(v)} ${c.relative ? 'is relative' : "climbs above '/'"}: mounted at ${c.path}` });
    }
    dests.add(c.path);
  }
  return [...dests].sort().map((destination) => ({ destination, type: 'tmpfs', source: 'none', options: [...VOLUME_OPTIONS] }));
}
