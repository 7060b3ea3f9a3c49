// A caller's shaping of config.json (unpack's --args, --env, --mount, --config-patch ...):
// checked as usage input (EUSAGE), folded into the image config where the image-spec
// conversion already handles the field (Entrypoint, Cmd, Env, WorkingDir, User), applied to
// the generated spec for the rest, and the merge patch last. Pure.
import { OciBundleError } from '../errors.js';
import { bindHostSys, resolvConfMount } from './defaults.js';
import { stringList } from './fields.js';
import { SPEC_LIMITS } from './limits.js';
import { applyMergePatch } from './merge-patch.js';
import { cleanContainerPath } from './paths.js';
import { runtimeRuleViolation } from './rules.js';
import type { ImageConfigConfigInput, RuntimeSpec, ShapeOptions } from './types.js';
import { buildUserMounts } from './user-mounts.js';
import { validateRuntimeConfig } from './validate.js';

function usage(msg: string): OciBundleError {
  return new OciBundleError('EUSAGE', msg);
}

function checkList(v: unknown, what: string, minItems: number): string[] {
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) throw usage(`${what} must be a list of strings`);
  if (v.length < minItems) throw usage(`${what} needs at least ${minItems} argument`);
  const bad = (v as string[]).find((s) => s.includes('\0'));
  if (bad !== undefined) throw usage(`${what} has an argument with a nul byte`);
  return v as string[];
}

/** Throws EUSAGE on the first shaping option that cannot be used as given. */
export function checkShape(o: ShapeOptions): void {
  if (o.args !== undefined) {
    checkList(o.args, 'args', 1);
    if (o.entrypoint !== undefined || o.cmd !== undefined) throw usage('args replaces the whole command: give it without entrypoint or cmd');
  }
  if (o.entrypoint !== undefined) checkList(o.entrypoint, 'entrypoint', 0);
  if (o.cmd !== undefined) checkList(o.cmd, 'cmd', 0);
  for (const e of o.env ?? []) {
    if (typeof e !== 'string' || !/^[^=\0]+=[^\0]*$/.test(e)) throw usage(`environment entry ${JSON.stringify(e)} must be NAME=VALUE (a non-empty name, no nul byte)`);
  }
  if (o.cwd !== undefined && (typeof o.cwd !== 'string' || !o.cwd.startsWith('/') || o.cwd.includes('\0'))) {
    throw usage(`working directory ${JSON.stringify(o.cwd)} must be an absolute path`);
  }
  if (o.user !== undefined && (typeof o.user !== 'string' || !/^[^:\0]+(:[^:\0]+)?$/.test(o.user))) {
    throw usage(`user ${JSON.stringify(o.user)} must be user, uid, user:group, uid:gid, uid:group or user:gid`);
  }
  for (const [k, v] of Object.entries(o.annotations ?? {})) {
    if (k === '' || k.includes('\0') || typeof v !== 'string' || v.includes('\0')) throw usage(`annotation ${JSON.stringify(k)} must be a non-empty key with a string value, no nul byte`);
  }
  if (o.readonlyRootfs !== undefined && typeof o.readonlyRootfs !== 'boolean') throw usage('readonlyRootfs must be a boolean');
  if (o.net !== undefined && o.net !== 'host') throw usage(`network ${JSON.stringify(o.net)} is not supported: the only choice is host (default: a private network namespace)`);
  if (o.mounts !== undefined) buildUserMounts(o.mounts);
  if (o.configPatch !== undefined && (o.configPatch === null || typeof o.configPatch !== 'object' || Array.isArray(o.configPatch))) {
    throw usage('config patch must be a JSON object (RFC 7396 merge patch)');
  }
}

/** The image's `config` object with the fields the caller overrides replaced (a copy). */
export function overrideImageConfig(cfg: ImageConfigConfigInput, o: ShapeOptions): ImageConfigConfigInput {
  const out: ImageConfigConfigInput = { ...cfg };
  if (o.args !== undefined) {
    out.Entrypoint = [...o.args];
    out.Cmd = [];
  }
  if (o.entrypoint !== undefined) {
    // As docker run --entrypoint: a new entrypoint drops the image's Cmd.
    out.Entrypoint = [...o.entrypoint];
    out.Cmd = o.cmd === undefined ? [] : [...o.cmd];
  } else if (o.cmd !== undefined) out.Cmd = [...o.cmd];
  if (o.env !== undefined && o.env.length > 0) out.Env = [...stringList(cfg.Env, 'config.Env', SPEC_LIMITS.envEntries), ...o.env];
  if (o.cwd !== undefined) out.WorkingDir = cleanContainerPath(o.cwd, 'working directory').path;
  if (o.user !== undefined) out.User = o.user;
  return out;
}

/**
 * --net host, in place: no network namespace, the host's resolv.conf bound read-only (when it
 * has one), and with a user namespace /sys as a bind (sysfs needs an owned network namespace).
 * Called before image volumes and caller mounts are added, so those can still cover it.
 */
export function useHostNetwork(spec: RuntimeSpec, hostHasResolvConf: boolean): void {
  spec.linux.namespaces = spec.linux.namespaces.filter((n) => n.type !== 'network');
  if (spec.linux.namespaces.some((n) => n.type === 'user')) bindHostSys(spec);
  if (hostHasResolvConf && !spec.mounts.some((m) => m.destination === '/etc/resolv.conf')) spec.mounts.push(resolvConfMount());
}

/** Caller annotations (they win) and a read-only root on a generated spec, in place. */
export function shapeSpec(spec: RuntimeSpec, o: ShapeOptions): void {
  if (o.annotations !== undefined && Object.keys(o.annotations).length > 0) {
    const merged = new Map(Object.entries(spec.annotations ?? {}));
    for (const [k, v] of Object.entries(o.annotations)) merged.set(k, v);
    spec.annotations = Object.fromEntries([...merged.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)));
  }
  if (o.readonlyRootfs === true) spec.root.readonly = true;
}

/**
 * The caller's merge patch applied to `spec`; the result must validate against our schema and
 * the runtimes' cross-field rules, and may not change process.terminal (only --tty does).
 */
export function patchSpec(spec: RuntimeSpec, patch: unknown): RuntimeSpec {
  const out = applyMergePatch(spec, patch);
  try {
    validateRuntimeConfig(out);
  } catch (e) {
    throw new OciBundleError('EUSAGE', `the config patch makes config.json invalid: ${(e as Error).message}`, { cause: e });
  }
  const broken = runtimeRuleViolation(out);
  if (broken !== null) throw usage(`the config patch makes config.json unusable: ${broken}`);
  const terminal = (out as { process: { terminal?: unknown } }).process.terminal;
  if ((terminal === true) !== spec.process.terminal) throw usage('the config patch may not change process.terminal: use --tty');
  return out as RuntimeSpec;
}
