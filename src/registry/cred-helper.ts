// Docker credential helpers: `credHelpers` (per registry) and `credsStore` (every registry) in
// an auth file name a program `docker-credential-NAME`; `get` with the server on stdin prints
// {"Username", "Secret"}. The program's output is bounded and parsed as untrusted JSON, and no
// secret from it ever reaches a message.
import { spawnSync } from 'node:child_process';
import { OciBundleError } from '../errors.js';
import { parseJsonCapped } from '../image/json.js';
import { Credentials } from './credentials.js';
import { DOCKER_HUB } from './ref.js';

const OUTPUT_CAP = 1 << 20;
const TIMEOUT_MS = 60_000;

/** What a helper is asked for: Docker logs in to the Hub under its v1 URL, elsewhere the host. */
export function helperServer(host: string): string {
  return host === DOCKER_HUB ? 'https://index.docker.io/v1/' : host;
}

/** The first line of a helper's stderr, short and printable, for an error message. */
function firstLine(text: string): string {
  const line = text.split('\n').find((l) => l.trim() !== '') ?? '';
  return line.replace(/[^\x20-\x7e]/g, '?').trim().slice(0, 200);
}

/**
 * Runs `docker-credential-NAME get` for `host`. Undefined when the helper has no credentials for
 * it (its "credentials not found" answer), or when `optional` and the program is not installed
 * (a `credsStore` left behind by a Docker install must not break anonymous pulls).
 */
export function helperCredentials(name: string, host: string, file: string, env: NodeJS.ProcessEnv, optional: boolean): Credentials | undefined {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) {
    throw new OciBundleError('EUSAGE', `credential helper name ${JSON.stringify(name.slice(0, 64))} in ${file} is not a plain program name`);
  }
  const program = `docker-credential-${name}`;
  const r = spawnSync(program, ['get'], { input: helperServer(host), env, encoding: 'utf8', timeout: TIMEOUT_MS, maxBuffer: OUTPUT_CAP, stdio: ['pipe', 'pipe', 'pipe'] });
  const where = `${program} (named in ${file}) for ${host}`;
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      if (optional) return undefined;
      throw new OciBundleError('EAUTH', `credential helper ${where} is not installed`, { hint: `install ${program} or remove the entry` });
    }
    if (code === 'ETIMEDOUT') throw new OciBundleError('EAUTH', `credential helper ${where} did not answer in ${TIMEOUT_MS / 1000} s`);
    throw new OciBundleError('EAUTH', `credential helper ${where} failed to run (${code ?? 'error'})`);
  }
  if (r.status !== 0) {
    if (/credentials not found/i.test(`${r.stdout}\n${r.stderr}`)) return undefined;
    const why = firstLine(r.stderr) || `exit status ${r.status ?? r.signal}`;
    throw new OciBundleError('EAUTH', `credential helper ${where} failed: ${why}`);
  }
  // its output holds the secret: a parse error names the helper only
  const doc = parseJsonCapped(Buffer.from(r.stdout), `the answer of credential helper ${where}`, { code: 'EAUTH', maxBytes: OUTPUT_CAP, secret: true }) as { Username?: unknown; Secret?: unknown } | null;
  if (typeof doc !== 'object' || doc === null || typeof doc.Username !== 'string' || typeof doc.Secret !== 'string') {
    throw new OciBundleError('EAUTH', `credential helper ${where} answered without a Username and Secret`);
  }
  if (doc.Username === '<token>') {
    throw new OciBundleError('EAUTH', `credential helper ${where} holds an identity token, which ocibundle does not use`, { hint: 'log in with a password or give --creds' });
  }
  if (doc.Username === '' && doc.Secret === '') return undefined;
  return new Credentials(doc.Username, doc.Secret, program);
}
