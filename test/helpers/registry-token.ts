// Test helpers for the bearer-token flow against docker-registry: an openssl-made key and
// self-signed cert, a token server (node:http, 127.0.0.1) that checks Basic credentials and
// issues RS256 JWTs with the cert in `x5c`, a push that first gets a pull+push token, and an
// async CLI runner (the token server lives in the test process, so no spawnSync).
import { spawn, execFileSync } from 'node:child_process';
import { createPrivateKey, randomUUID, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { BIN } from './cli.js';
import { pushImage } from './registry-server.js';

export const OPENSSL_BIN = '/usr/bin/openssl';
export const haveOpenssl = existsSync(OPENSSL_BIN);

export interface SigningCert {
  /** PEM file of the self-signed certificate: the registry's rootcertbundle. */
  certFile: string;
  /** The certificate as base64 DER, for the JWT header's x5c. */
  x5c: string;
  key: KeyObject;
}

/** An RSA key and a self-signed certificate for it, written under `dir` by openssl. */
export function makeSigningCert(dir: string): SigningCert {
  const keyFile = join(dir, 'token-key.pem');
  const certFile = join(dir, 'token-cert.pem');
  execFileSync(OPENSSL_BIN, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', '/CN=ocibundle test token issuer'], { stdio: 'ignore' });
  const cert = new X509Certificate(readFileSync(certFile));
  return { certFile, x5c: cert.raw.toString('base64'), key: createPrivateKey(readFileSync(keyFile)) };
}

export interface Access {
  type: string;
  name: string;
  actions: string[];
}

/** One request the token server answered. */
export interface TokenRequest {
  service: string | null;
  scope: string | null;
  user: string | undefined;
  status: number;
  /** The token it issued was already expired. */
  expired: boolean;
}

export interface TokenServer {
  realm: string;
  service: string;
  issuer: string;
  certFile: string;
  signer: SigningCert;
  requests: TokenRequest[];
  /** The next `n` tokens are issued with exp two minutes in the past (beyond the 60 s leeway). */
  expireNext(n: number): void;
  /** A token for `scope` straight from the signer (for pushes and checks). */
  issue(user: string, scope: string, expired?: boolean): string;
  stop(): Promise<void>;
}

const b64url = (b: Buffer | string): string => Buffer.from(b).toString('base64url');

/** `repository:NAME:a,b` scopes (space-separated) as access claims; unknown types are dropped. */
export function parseScopes(scope: string): Access[] {
  const out: Access[] = [];
  for (const s of scope.split(' ').filter(Boolean)) {
    const first = s.indexOf(':');
    const last = s.lastIndexOf(':');
    if (first <= 0 || last <= first) continue;
    const type = s.slice(0, first);
    if (type !== 'repository') continue;
    out.push({ type, name: s.slice(first + 1, last), actions: s.slice(last + 1).split(',').filter((a) => a === 'pull' || a === 'push') });
  }
  return out;
}

function basicUser(req: IncomingMessage): { user: string; pass: string } | undefined {
  const h = req.headers.authorization;
  if (!h || !/^basic /i.test(h)) return undefined;
  const text = Buffer.from(h.slice(6).trim(), 'base64').toString('utf8');
  const i = text.indexOf(':');
  return i > 0 ? { user: text.slice(0, i), pass: text.slice(i + 1) } : undefined;
}

/**
 * Starts the token server on 127.0.0.1 at a free port. It answers `GET /token?service=S&scope=…`
 * only for `user`/`pass` (401 otherwise) and only for service `service`.
 */
export async function startTokenServer(cert: SigningCert, user: string, pass: string, service = 'ocibundle-test-registry', issuer = 'ocibundle-test-issuer'): Promise<TokenServer> {
  const requests: TokenRequest[] = [];
  let expireBudget = 0;
  const issue = (sub: string, scope: string, expired = false): string => {
    const now = Math.floor(Date.now() / 1000);
    const exp = expired ? now - 120 : now + 300;
    const header = { typ: 'JWT', alg: 'RS256', x5c: [cert.x5c] };
    const claims = { iss: issuer, sub, aud: service, exp, nbf: (expired ? exp - 300 : now) - 1, iat: expired ? exp - 300 : now, jti: randomUUID(), access: parseScopes(scope) };
    const signed = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    return `${signed}.${b64url(sign('sha256', Buffer.from(signed), cert.key))}`;
  };
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://token');
    const svc = url.searchParams.get('service');
    const scope = url.searchParams.get('scope');
    const who = basicUser(req);
    const reply = (status: number, body: unknown, expired = false) => {
      requests.push({ service: svc, scope, user: who?.user, status, expired });
      const text = JSON.stringify(body);
      const h: Record<string, string> = { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) };
      if (status === 401) h['www-authenticate'] = 'Basic realm="token"';
      res.writeHead(status, h).end(text);
    };
    if (req.method !== 'GET' || url.pathname !== '/token') return reply(404, { errors: [{ code: 'NOT_FOUND' }] });
    if (!who || who.user !== user || who.pass !== pass) return reply(401, { errors: [{ code: 'UNAUTHORIZED' }] });
    if (svc !== service) return reply(400, { errors: [{ code: 'UNSUPPORTED_SERVICE' }] });
    const expired = expireBudget > 0;
    if (expired) expireBudget--;
    const token = issue(who.user, scope ?? '', expired);
    // expires_in claims a long life even for an expired token: the client must learn from the 401
    reply(200, { token, access_token: token, expires_in: 300, issued_at: new Date().toISOString() }, expired);
  };
  const server: Server = createServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const a = server.address();
  const port = typeof a === 'object' && a ? a.port : 0;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    certFile: cert.certFile,
    signer: cert,
    requests,
    expireNext: (n) => (expireBudget = n),
    issue,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The parameters of a Bearer challenge (realm, service, scope), or undefined. */
export function bearerParams(header: string | null): Record<string, string> | undefined {
  if (!header || !/^bearer\s/i.test(header)) return undefined;
  const out: Record<string, string> = {};
  for (const m of header.slice(7).matchAll(/([a-z_]+)="([^"]*)"/gi)) out[m[1]!.toLowerCase()] = m[2]!;
  return out;
}

/**
 * Pushes an image from `layoutDir` to `repo` the way a client does under token auth: an
 * unauthenticated upload start draws the registry's Bearer challenge, the token server is
 * asked (with Basic credentials) for that scope, and the token then carries the push.
 */
export async function pushWithToken(host: string, creds: { user: string; pass: string }, layoutDir: string, repo: string, digest: string, mediaType: string, tag: string): Promise<void> {
  const probe = await fetch(`http://${host}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  await probe.arrayBuffer();
  const ch = bearerParams(probe.headers.get('www-authenticate'));
  if (probe.status !== 401 || !ch?.['realm']) throw new Error(`push probe: expected a bearer challenge, got ${probe.status}`);
  const url = new URL(ch['realm']);
  if (ch['service']) url.searchParams.set('service', ch['service']);
  url.searchParams.set('scope', ch['scope'] ?? `repository:${repo}:pull,push`);
  const r = await fetch(url, { headers: { authorization: `Basic ${Buffer.from(`${creds.user}:${creds.pass}`).toString('base64')}` } });
  if (r.status !== 200) throw new Error(`push token: ${r.status}`);
  const { token } = (await r.json()) as { token: string };
  await pushImage(host, layoutDir, repo, digest, mediaType, tag, `Bearer ${token}`);
}

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs bin/ocibundle without blocking the event loop (the token server must keep answering). */
export function runCliAsync(args: string[], env?: NodeJS.ProcessEnv, timeoutMs = 30_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...(env ? { env } : {}) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}
