// Checks of the options objects the library's entry points take (unpack, writeRuntimeConfig),
// made before anything is read or created: a JavaScript caller's wrong type is an EUSAGE that
// names the option, never a TypeError deep inside or a half-made directory. Shapes only;
// what the values mean (paths, maps covering ids) is checked where they are used.
import { OciBundleError } from './errors.js';

type Check = (v: unknown) => string | null; // null: fine; else what is wrong

const str: Check = (v) => (typeof v === 'string' && v !== '' ? null : 'must be a non-empty string');
const bool: Check = (v) => (typeof v === 'boolean' ? null : 'must be true or false');
const fn: Check = (v) => (typeof v === 'function' ? null : 'must be a function');
const size: Check = (v) => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? null : 'must be a whole number of bytes >= 0');
const signal: Check = (v) => (v instanceof AbortSignal ? null : 'must be an AbortSignal');
const oneOf = (...values: string[]): Check => (v) => (values.includes(v as string) ? null : `must be one of ${values.join(', ')}`);
const plainObject: Check = (v) => (typeof v === 'object' && v !== null && !Array.isArray(v) ? null : 'must be an object');

const isId = (n: unknown) => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 && n <= 0xffffffff;
const idMap: Check = (v) => {
  if (!Array.isArray(v)) return 'must be an array of {containerID, hostID, size}';
  for (const [i, m] of v.entries()) {
    if (typeof m === 'string') return `[${i}] is the string ${JSON.stringify(m.slice(0, 40))}: pass {containerID, hostID, size} (parseIdMap turns CONTAINER:HOST[:SIZE] into one)`;
    const o = m as Record<string, unknown> | null;
    if (typeof o !== 'object' || o === null || !isId(o['containerID']) || !isId(o['hostID']) || !isId(o['size']) || o['size'] === 0) {
      return `[${i}] must be {containerID, hostID, size} with whole numbers (size >= 1)`;
    }
  }
  return null;
};

const COMMON: Record<string, Check> = {
  image: str,
  platform: str,
  source: plainObject,
  force: bool,
  rootless: bool,
  uidMap: idMap,
  gidMap: idMap,
  tty: bool,
  volumes: bool,
  hostname: str,
  onWarning: fn,
};

const UNPACK: Record<string, Check> = {
  ...COMMON,
  bundle: str,
  rootfsOnly: bool,
  keepDirlinks: bool,
  sync: bool,
  maxSize: size,
  signal,
  onProgress: fn,
  resolver: oneOf('openat2', 'walk', 'auto'),
};

const RUNTIME_CONFIG: Record<string, Check> = { ...COMMON, config: str, rootfs: str };

function check(opts: unknown, fn: string, table: Record<string, Check>, required: string[]): void {
  if (typeof opts !== 'object' || opts === null || Array.isArray(opts)) {
    throw new OciBundleError('EUSAGE', `${fn}() takes an options object`);
  }
  const o = opts as Record<string, unknown>;
  for (const k of required) {
    if (o[k] === undefined) throw new OciBundleError('EUSAGE', `${fn}(): option ${k} is required`);
  }
  for (const [k, c] of Object.entries(table)) {
    if (o[k] === undefined) continue;
    const why = c(o[k]);
    if (why) throw new OciBundleError('EUSAGE', `${fn}(): option ${k}${why.startsWith('[') ? '' : ' '}${why}`);
  }
}

/** EUSAGE naming the option when unpack()'s options have the wrong shape. */
export function checkUnpackOptions(opts: unknown): void {
  check(opts, 'unpack', UNPACK, ['image', 'bundle']);
}

/** EUSAGE naming the option when writeRuntimeConfig()'s options have the wrong shape. */
export function checkRuntimeConfigOptions(opts: unknown): void {
  check(opts, 'writeRuntimeConfig', RUNTIME_CONFIG, ['image']);
}
