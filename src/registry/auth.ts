// Registry credentials and challenges: USER:PASS from --creds, an --authfile, or the usual
// containers auth.json / ~/.docker/config.json files (base64 `auth` entries keyed by host, or
// the credential helpers they name), and parsing of WWW-Authenticate. Never puts a secret into a message, log or inspect output.
import { closeSync, constants as C, fstatSync, openSync, readSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { OciBundleError } from '../errors.js';
import { JSON_CAP } from '../image/blob.js';
import { parseJsonCapped } from '../image/json.js';
import { helperCredentials } from './cred-helper.js';
import { Credentials, parseCreds } from './credentials.js';
import { DOCKER_HUB } from './ref.js';

export { Credentials, parseCreds };

/** The default auth files, in the order skopeo reads them. */
export function defaultAuthFiles(env: NodeJS.ProcessEnv = process.env): string[] {
  const home = env['HOME'] || homedir();
  const out: string[] = [];
  if (env['XDG_RUNTIME_DIR']) out.push(join(env['XDG_RUNTIME_DIR'], 'containers', 'auth.json'));
  out.push(join(env['XDG_CONFIG_HOME'] || join(home, '.config'), 'containers', 'auth.json'));
  out.push(join(home, '.docker', 'config.json'));
  return out;
}

const HUB_ALIASES = new Set([DOCKER_HUB, 'index.docker.io', 'registry-1.docker.io']);

/** An auths key reduced to `host[/path]`: scheme and Docker's `/v1/` suffix dropped. */
function normalizeKey(key: string): string {
  let k = key.replace(/^[a-z]+:\/\//i, '').replace(/\/+$/, '');
  k = k.replace(/\/v[12]$/, '');
  const slash = k.indexOf('/');
  const host = slash >= 0 ? k.slice(0, slash) : k;
  return HUB_ALIASES.has(host) ? DOCKER_HUB + k.slice(host.length) : k;
}

function entryCredentials(entry: unknown, file: string, key: string): Credentials | undefined {
  if (typeof entry !== 'object' || entry === null) return undefined;
  const e = entry as { auth?: unknown; username?: unknown; password?: unknown };
  if (typeof e.auth === 'string' && e.auth !== '') {
    const text = Buffer.from(e.auth, 'base64').toString('utf8');
    return parseCreds(text, `the auth entry for ${key} in ${file}`);
  }
  if (typeof e.username === 'string' && typeof e.password === 'string' && e.username !== '') {
    return new Credentials(e.username, e.password, file);
  }
  return undefined;
}

/**
 * The bytes of an auth file: a regular file (a fifo or device is refused without blocking)
 * of at most JSON_CAP bytes; undefined when absent and not `mustExist`.
 */
function readAuthFile(file: string, mustExist: boolean): Buffer | undefined {
  let fd: number;
  try {
    fd = openSync(file, C.O_RDONLY | C.O_NONBLOCK | C.O_NOCTTY);
  } catch (e) {
    if (!mustExist && (e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new OciBundleError('EUSAGE', `cannot read auth file ${file}`, { cause: e });
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new OciBundleError('EUSAGE', `auth file ${file} is not a regular file`);
    if (st.size > JSON_CAP) throw new OciBundleError('ELIMIT', `auth file ${file} is ${st.size} bytes, over the ${JSON_CAP}-byte limit`);
    const buf = Buffer.alloc(st.size + 1);
    let n = 0;
    for (let r; n < buf.length && (r = readSync(fd, buf, n, buf.length - n, null)) > 0; ) n += r;
    if (n > st.size) throw new OciBundleError('ELIMIT', `auth file ${file} grew past ${st.size} bytes while read`);
    return buf.subarray(0, n);
  } catch (e) {
    if (e instanceof OciBundleError) throw e;
    throw new OciBundleError('EUSAGE', `cannot read auth file ${file}`, { cause: e });
  } finally {
    closeSync(fd);
  }
}

/** The helper an auth file names for `host` in `credHelpers` (keys normalized as `auths` keys). */
function helperFor(helpers: unknown, host: string): string | undefined {
  if (typeof helpers !== 'object' || helpers === null) return undefined;
  for (const [key, name] of Object.entries(helpers as Record<string, unknown>)) {
    if (normalizeKey(key) === host && typeof name === 'string') return name;
  }
  return undefined;
}

/**
 * Credentials for host/repo from one auth file, in Docker's order: the `credHelpers` helper for
 * the host, else the `credsStore` helper (skipped when not installed), else the `auths` entry
 * (the most specific key wins).
 */
export function credentialsFromFile(file: string, host: string, repo: string, mustExist: boolean, env: NodeJS.ProcessEnv = process.env): Credentials | undefined {
  const bytes = readAuthFile(file, mustExist);
  if (bytes === undefined) return undefined;
  // a parse error names the file only: the text may hold secrets
  const doc = parseJsonCapped(bytes, `auth file ${file}`, { code: 'EUSAGE', maxBytes: JSON_CAP, secret: true }) as { auths?: Record<string, unknown>; credHelpers?: unknown; credsStore?: unknown } | null;
  const h = HUB_ALIASES.has(host) ? DOCKER_HUB : host;
  const helper = helperFor(doc?.credHelpers, h);
  if (helper !== undefined) return helperCredentials(helper, h, file, env, false);
  if (typeof doc?.credsStore === 'string' && doc.credsStore !== '') {
    const c = helperCredentials(doc.credsStore, h, file, env, true);
    if (c) return c;
  }
  const auths = doc?.auths;
  if (typeof auths !== 'object' || auths === null) return undefined;
  const full = `${h}/${repo}`;
  let best: { len: number; key: string } | undefined;
  for (const key of Object.keys(auths)) {
    const n = normalizeKey(key);
    if (n === h || full === n || full.startsWith(`${n}/`)) {
      if (!best || n.length > best.len) best = { len: n.length, key };
    }
  }
  return best ? entryCredentials(auths[best.key], file, best.key) : undefined;
}

export interface CredentialOptions {
  creds?: string;
  authfile?: string;
}

/**
 * Credentials for a registry: --creds, else --authfile (which must exist), else the first
 * default file that has an entry for the host. Undefined: anonymous.
 */
export function findCredentials(host: string, repo: string, opts: CredentialOptions, env: NodeJS.ProcessEnv = process.env): Credentials | undefined {
  if (opts.creds !== undefined) return parseCreds(opts.creds);
  if (opts.authfile !== undefined) return credentialsFromFile(opts.authfile, host, repo, true, env);
  for (const f of defaultAuthFiles(env)) {
    const c = credentialsFromFile(f, host, repo, false, env);
    if (c) return c;
  }
  return undefined;
}

export interface Challenge {
  scheme: string; // lower case: 'bearer' or 'basic'
  params: Record<string, string>;
}

/** Parses a WWW-Authenticate value (first challenge); undefined when absent or unparseable. */
export function parseChallenge(header: string | undefined): Challenge | undefined {
  if (!header) return undefined;
  const m = /^\s*([A-Za-z][A-Za-z0-9_-]*)(?:\s+(.*))?$/s.exec(header);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  const re = /([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g;
  for (const p of (m[2] ?? '').matchAll(re)) {
    const key = p[1]!.toLowerCase();
    if (key in params) continue;
    params[key] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : (p[3] ?? '');
  }
  return { scheme: m[1]!.toLowerCase(), params };
}
