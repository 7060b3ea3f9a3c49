// The shaping flags of `unpack` and `raw runtime-config` (--args, --env, --mount,
// --config-patch ...): their yargs declarations and their translation into the library's
// ShapeOptions. Only syntax lives here (one value per flag, key=value lists, JSON, reading
// the patch file); what a value may be is checked by src/spec/overrides.ts.
import { readFileSync } from 'node:fs';
import type { Argv } from 'yargs';
import { OciBundleError } from '../errors.js';
import type { ShapeMount, ShapeOptions } from '../spec/index.js';

export interface ShapeArgs {
  args?: string;
  entrypoint?: string;
  cmd?: string;
  env?: string | string[];
  cwd?: string;
  user?: string;
  hostname?: string;
  mount?: string | string[];
  annotation?: string | string[];
  'readonly-rootfs'?: boolean;
  net?: string;
  'config-patch'?: string;
}

/** Largest --config-patch file read. */
export const PATCH_MAX_BYTES = 1024 * 1024;

function usage(msg: string): OciBundleError {
  return new OciBundleError('EUSAGE', msg);
}

/** A repeatable option: one value per flag (main.ts turns greedy arrays off), so it never swallows the positional. */
function repeatable(describe: string) {
  return { type: 'string', array: true, describe, requiresArg: true } as const;
}

/** The shaping flags' names (a help group of their own). */
export const SHAPE_OPTIONS = ['args', 'entrypoint', 'cmd', 'env', 'cwd', 'user', 'hostname', 'mount', 'annotation', 'readonly-rootfs', 'net', 'config-patch'];

export function shapeOptions<T>(y: Argv<T>) {
  return y
    .option('args', { type: 'string', requiresArg: true, describe: 'process.args as a JSON array, replacing the image\'s Entrypoint and Cmd' })
    .option('entrypoint', { type: 'string', requiresArg: true, describe: "replace the image's Entrypoint (a JSON array, or one word); drops the image's Cmd" })
    .option('cmd', { type: 'string', requiresArg: true, describe: "replace the image's Cmd (a JSON array, or one word)" })
    .option('env', repeatable("NAME=VALUE added to the environment, winning over the image's (repeatable)"))
    .option('cwd', { type: 'string', requiresArg: true, describe: 'absolute working directory of the process' })
    .option('user', { type: 'string', requiresArg: true, describe: 'user, uid, user:group, uid:gid, uid:group or user:gid, resolved in the rootfs' })
    .option('hostname', { type: 'string', requiresArg: true, describe: 'the container hostname (default ocibundle)' })
    .option('mount', repeatable('type=bind,src=HOST,dst=PATH[,ro] or type=tmpfs,dst=PATH[,size=64m][,mode=1777] (repeatable)'))
    .option('annotation', repeatable('K=V annotation, winning over image labels (repeatable)'))
    .option('readonly-rootfs', { type: 'boolean', describe: 'make the root file system read-only (root.readonly)' })
    .option('net', { type: 'string', requiresArg: true, describe: "'host': no network namespace, the host's interfaces" })
    .option('config-patch', { type: 'string', requiresArg: true, describe: 'a JSON merge patch file (RFC 7396) applied to config.json last' });
}

/** Every value of a repeatable flag, in order. */
export function valuesOf(v: string | string[] | undefined): string[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/** A JSON array of strings, or (not starting with '[') a single word. */
export function parseArgList(text: string, flag: string): string[] {
  if (!text.trimStart().startsWith('[')) return [text];
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw usage(`--${flag}: not a JSON array: ${(e as Error).message}`);
  }
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) throw usage(`--${flag} must be a JSON array of strings`);
  return v as string[];
}

/** `K=V` split at the first '='. */
export function parseKeyValue(text: string, flag: string): [string, string] {
  const i = text.indexOf('=');
  if (i <= 0) throw usage(`--${flag} ${JSON.stringify(text)}: expected KEY=VALUE`);
  return [text.slice(0, i), text.slice(i + 1)];
}

const MOUNT_KEYS: Record<string, 'type' | 'source' | 'destination' | 'readonly' | 'size' | 'mode'> = {
  type: 'type',
  src: 'source',
  source: 'source',
  dst: 'destination',
  destination: 'destination',
  target: 'destination',
  ro: 'readonly',
  readonly: 'readonly',
  size: 'size',
  mode: 'mode',
};

/** `type=bind,src=/h,dst=/c,ro` / `type=tmpfs,dst=/t,size=64m,mode=1777` -> a typed mount. */
export function parseMountFlag(text: string): ShapeMount {
  const fields: Record<string, string | boolean> = {};
  for (const part of text.split(',')) {
    const i = part.indexOf('=');
    const rawKey = i < 0 ? part : part.slice(0, i);
    const key = MOUNT_KEYS[rawKey];
    if (key === undefined || !Object.prototype.hasOwnProperty.call(MOUNT_KEYS, rawKey)) {
      throw usage(`--mount ${JSON.stringify(text)}: unknown field ${JSON.stringify(rawKey)} (known: ${Object.keys(MOUNT_KEYS).join(', ')})`);
    }
    if (key in fields) throw usage(`--mount ${JSON.stringify(text)}: ${rawKey} is given twice`);
    if (key === 'readonly') {
      const value = i < 0 ? 'true' : part.slice(i + 1);
      if (value !== 'true' && value !== 'false') throw usage(`--mount ${JSON.stringify(text)}: ${rawKey} takes true or false`);
      fields[key] = value === 'true';
    } else {
      if (i < 0) throw usage(`--mount ${JSON.stringify(text)}: ${rawKey} needs a value (${rawKey}=...)`);
      fields[key] = part.slice(i + 1);
    }
  }
  const { type, source, destination, readonly, size, mode } = fields;
  if (type === 'tmpfs') {
    if (source !== undefined || readonly !== undefined) throw usage(`--mount ${JSON.stringify(text)}: a tmpfs takes no src and no ro`);
    if (mode !== undefined && !/^[0-7]{1,4}$/.test(String(mode))) throw usage(`--mount ${JSON.stringify(text)}: mode must be octal, e.g. 1777`);
    return {
      type: 'tmpfs',
      destination: String(destination ?? ''),
      ...(size === undefined ? {} : { size: String(size) }),
      ...(mode === undefined ? {} : { mode: parseInt(String(mode), 8) }),
    };
  }
  if (type === 'bind') {
    if (size !== undefined || mode !== undefined) throw usage(`--mount ${JSON.stringify(text)}: a bind mount takes no size and no mode`);
    return { type: 'bind', source: String(source ?? ''), destination: String(destination ?? ''), ...(readonly === true ? { readonly: true } : {}) };
  }
  throw usage(`--mount ${JSON.stringify(text)}: unknown mount type ${JSON.stringify(type ?? '')} (expected type=bind or type=tmpfs)`);
}

/** The JSON object in a --config-patch file. */
export function readConfigPatch(path: string): unknown {
  let text: string;
  try {
    const buf = readFileSync(path);
    if (buf.length > PATCH_MAX_BYTES) throw usage(`--config-patch ${path} is larger than ${PATCH_MAX_BYTES} bytes`);
    text = buf.toString('utf8');
  } catch (e) {
    if (e instanceof OciBundleError) throw e;
    throw usage(`--config-patch ${path} cannot be read: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw usage(`--config-patch ${path} is not JSON: ${(e as Error).message}`);
  }
}

/** The library's ShapeOptions (and the hostname) for parsed shaping flags. */
export function shapeOptionsOf(a: ShapeArgs): ShapeOptions & { hostname?: string } {
  const o: ShapeOptions & { hostname?: string } = {};
  if (a.args !== undefined) o.args = parseArgList(a.args, 'args');
  if (a.entrypoint !== undefined) o.entrypoint = parseArgList(a.entrypoint, 'entrypoint');
  if (a.cmd !== undefined) o.cmd = parseArgList(a.cmd, 'cmd');
  const env = valuesOf(a.env);
  if (env.length > 0) o.env = env;
  if (a.cwd !== undefined) o.cwd = a.cwd;
  if (a.user !== undefined) o.user = a.user;
  if (a.hostname !== undefined) o.hostname = a.hostname;
  const mounts = valuesOf(a.mount).map(parseMountFlag);
  if (mounts.length > 0) o.mounts = mounts;
  const annotations = valuesOf(a.annotation);
  if (annotations.length > 0) {
    const out: Record<string, string> = {};
    for (const text of annotations) {
      const [k, v] = parseKeyValue(text, 'annotation');
      Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
    }
    o.annotations = out;
  }
  if (a['readonly-rootfs'] === true) o.readonlyRootfs = true;
  if (a.net !== undefined) {
    if (a.net !== 'host') throw usage(`--net ${JSON.stringify(a.net)}: the only choice is host (default: a private network namespace)`);
    o.net = 'host';
  }
  if (a['config-patch'] !== undefined) o.configPatch = readConfigPatch(a['config-patch']);
  return o;
}
