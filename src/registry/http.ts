// HTTP for one registry over node:http/https: scheme choice (https, or http when TLS checks
// are off), connect and idle timeouts, bounded retries with backoff on 5xx/429/connection
// errors (one budget per transfer; Retry-After honoured up to 60 s with a notice), redirects
// (Authorization kept only on the same origin), and the 401 dance with Basic or Bearer
// (tokens cached per scope). Knows nothing of manifests or blobs.
import http, { type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import https from 'node:https';
import { OciBundleError, type WarnFn } from '../errors.js';
import { extraCaOptions } from './extra-ca.js';
import { parseChallenge, type Challenge, type Credentials } from './auth.js';
import { realmVerdict } from './realm.js';
import type { RegistryRef } from './ref.js';

export interface HttpOptions {
  /** Verify TLS certificates and refuse plain http (default true). */
  tlsVerify?: boolean;
  /** Milliseconds to establish a connection (default 30 000). */
  connectTimeoutMs?: number;
  /** Milliseconds without a byte on an open connection (default 60 000). */
  idleTimeoutMs?: number;
  /** Retries after the first attempt on 5xx/429/connection errors (default 4). */
  retries?: number;
  /** First backoff delay; doubles each retry, capped at 8 s (default 250 ms). */
  backoffMs?: number;
  /** Longest Retry-After honoured; a longer one waits this long (default 60 000 ms). */
  maxRetryAfterMs?: number;
  /** A blob body that delivers fewer than `lowSpeedBytes` in `lowSpeedMs` of waiting fails
   * (and is resumed within the retry budget); defaults 1024 bytes in 30 000 ms. */
  lowSpeedBytes?: number;
  lowSpeedMs?: number;
  /** Notices for the user (a registry asking to wait); the CLI prints them on stderr. */
  onWarning?: WarnFn;
  /** Token realm hosts on other hosts that may receive the credentials (realm.ts has the rule). */
  trustRealms?: string[];
}

/** The attempts one transfer may still make: its requests and its body resumes share them. */
export class RetryBudget {
  /** Attempts made so far, the first one included. */
  attempts = 0;
  constructor(readonly retries: number) {}
  get exhausted(): boolean {
    return this.attempts > this.retries;
  }
}

export const USER_AGENT = 'ocibundle/0.1';
const RETRY_STATUS = new Set([429, 500, 502, 503, 504]);
const RETRY_ERRNO = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'ENETDOWN', 'ECONNABORTED']);
/** A refused connection is retried once (a registry restarting), not with the full backoff: skopeo fails at once. */
const REFUSED_RETRIES = 1;
const MAX_REDIRECTS = 10;
const MAX_BACKOFF = 8000;
export const MAX_RETRY_AFTER_MS = 60_000;
const TOKEN_CAP = 1024 * 1024;

function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | null)?.code;
}

/** A connection failure worth another attempt (reset, timeout, unreachable...). */
export function isRetryableErrno(e: unknown): boolean {
  return RETRY_ERRNO.has(errno(e) ?? '');
}

/** A connection failure in words (`connection refused`), without its errno name. */
function failureOf(e: unknown): string {
  const code = errno(e);
  const words: Record<string, string> = {
    ECONNREFUSED: 'connection refused',
    ECONNRESET: 'connection reset',
    ETIMEDOUT: 'timed out',
    EPIPE: 'connection closed',
    EAI_AGAIN: 'name lookup failed (temporarily)',
    ENOTFOUND: 'no such host',
    ENETUNREACH: 'network unreachable',
    EHOSTUNREACH: 'host unreachable',
    ENETDOWN: 'network down',
    ECONNABORTED: 'connection aborted',
  };
  return (code !== undefined ? words[code] : undefined) ?? (code ?? 'error').toLowerCase();
}

/** True for a TLS failure: a handshake that is not TLS, or a certificate that does not verify. */
function tlsFailure(code: string): boolean {
  return code === 'EPROTO' || code.startsWith('ERR_SSL') || code.includes('CERT') || code === 'DEPTH_ZERO_SELF_SIGNED_CERT';
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Reads a whole response body, refusing more than `cap` bytes (ELIMIT naming `what`). */
export async function readBody(res: IncomingMessage, cap: number, what: string): Promise<Buffer> {
  const declared = Number(res.headers['content-length']);
  if (Number.isFinite(declared) && declared > cap) {
    res.destroy();
    throw new OciBundleError('ELIMIT', `${what} is ${declared} bytes, over the ${cap}-byte limit`);
  }
  const parts: Buffer[] = [];
  let n = 0;
  try {
    for await (const c of res) {
      n += (c as Buffer).length;
      if (n > cap) {
        res.destroy();
        throw new OciBundleError('ELIMIT', `${what} is over the ${cap}-byte limit`);
      }
      parts.push(c as Buffer);
    }
  } catch (e) {
    if (e instanceof OciBundleError) throw e;
    throw new OciBundleError('ENETWORK', `connection lost while reading ${what}`, { cause: e });
  }
  return Buffer.concat(parts);
}

/** The first error code of a distribution-spec error body, if any (never the whole body). */
async function errorCodeOf(res: IncomingMessage): Promise<string> {
  try {
    const body = await readBody(res, 64 * 1024, 'error body');
    const code = (JSON.parse(body.toString('utf8')) as { errors?: { code?: unknown }[] })?.errors?.[0]?.code;
    return typeof code === 'string' && /^[A-Z_]{1,64}$/.test(code) ? ` (${code})` : '';
  } catch {
    return '';
  }
}

export class RegistryHttp {
  readonly tlsVerify: boolean;
  private base: URL | undefined;
  private challenge: Challenge | undefined;
  private readonly tokens = new Map<string, { header: string; expires: number }>();
  private readonly httpAgent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  private httpsAgentMade: https.Agent | undefined;
  private readonly connectMs: number;
  private readonly idleMs: number;
  private readonly retries: number;
  private readonly backoffMs: number;
  private readonly maxRetryAfterMs: number;
  private readonly onWarning: WarnFn | undefined;
  readonly lowSpeed: { bytes: number; ms: number };
  private readonly trustRealms: string[];
  /** Why the credentials were kept from a token realm (named when access is then refused). */
  private withheld: string | undefined;
  /** Requests sent, by kind (tests and progress). */
  readonly counts = { requests: 0, retries: 0, tokens: 0 };

  constructor(readonly ref: RegistryRef, private readonly creds: Credentials | undefined, opts: HttpOptions = {}) {
    this.tlsVerify = opts.tlsVerify ?? true;
    this.onWarning = opts.onWarning;
    this.connectMs = opts.connectTimeoutMs ?? 30_000;
    this.idleMs = opts.idleTimeoutMs ?? 60_000;
    this.retries = opts.retries ?? 4;
    this.backoffMs = opts.backoffMs ?? 250;
    this.maxRetryAfterMs = opts.maxRetryAfterMs ?? MAX_RETRY_AFTER_MS;
    this.lowSpeed = { bytes: opts.lowSpeedBytes ?? 1024, ms: opts.lowSpeedMs ?? 30_000 };
    this.trustRealms = opts.trustRealms ?? [];
  }

  /** Made at the first https request (a deferred NODE_EXTRA_CA_CERTS is parsed only then). */
  private get httpsAgent(): https.Agent {
    return (this.httpsAgentMade ??= new https.Agent({ keepAlive: true, maxSockets: 8, rejectUnauthorized: this.tlsVerify, ...(this.tlsVerify ? extraCaOptions(this.onWarning) : {}) }));
  }

  newBudget(): RetryBudget {
    return new RetryBudget(this.retries);
  }

  /** The backoff before attempt number `attempt` + 1. */
  backoff(attempt: number): number {
    return Math.min(MAX_BACKOFF, this.backoffMs * 2 ** attempt);
  }

  /**
   * How long a 429/503 asked to wait: Retry-After in seconds or as an HTTP date, at most
   * maxRetryAfterMs, with one notice; `fallback` (the backoff) when there is none.
   */
  private retryAfter(res: IncomingMessage, url: URL, fallback: number): number {
    const v = header(res, 'retry-after')?.trim();
    if (!v) return fallback;
    const ms = /^\d{1,9}$/.test(v) ? Number(v) * 1000 : Date.parse(v) - Date.now();
    if (!Number.isFinite(ms)) return fallback;
    const wait = Math.max(0, Math.min(ms, this.maxRetryAfterMs));
    if (ms >= 1000) {
      const secs = (n: number) => `${Math.round(n / 1000)} s`;
      const capped = ms > this.maxRetryAfterMs ? `; waiting ${secs(wait)}, the longest ocibundle waits` : '';
      this.onWarning?.({ code: 'WRETRYAFTER', message: `registry ${url.host} answered ${res.statusCode} and asked to wait ${secs(ms)} (Retry-After)${capped}` });
    }
    return wait;
  }

  /** Who asked, for messages: the user, or anonymous access (and why credentials were withheld). */
  private who(): string {
    if (this.withheld) return `anonymous access (credentials withheld: ${this.withheld}; allow it with --trust-realm)`;
    return this.creds ? `user ${JSON.stringify(this.creds.username)}` : 'anonymous access';
  }

  get where(): string {
    return `${this.ref.host}/${this.ref.repo}`;
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgentMade?.destroy();
  }

  /** One request, no retry: resolves with the response head; timeouts reject with ETIMEDOUT. */
  private once(url: URL, method: string, headers: OutgoingHttpHeaders, body?: Body): Promise<IncomingMessage> {
    const secure = url.protocol === 'https:';
    const mod = secure ? https : http;
    return new Promise((resolve, reject) => {
      this.counts.requests++;
      const req = mod.request(url, { method, headers, agent: secure ? this.httpsAgent : this.httpAgent });
      const timeout = (what: string) => {
        const e = Object.assign(new Error(`${what} to ${url.host} timed out`), { code: 'ETIMEDOUT' });
        // once the head has arrived, the body stream is what the reader sees fail
        const res = (req as { res?: IncomingMessage | null }).res;
        if (res && !res.destroyed) res.destroy(e);
        else req.destroy(e);
      };
      const connectTimer = setTimeout(() => timeout('connect'), this.connectMs);
      req.on('socket', (sock) => {
        if (!sock.connecting) clearTimeout(connectTimer);
        else sock.once(secure ? 'secureConnect' : 'connect', () => clearTimeout(connectTimer));
      });
      req.setTimeout(this.idleMs, () => timeout('idle connection'));
      req.on('error', (e) => {
        clearTimeout(connectTimer);
        reject(e);
      });
      req.on('response', (res) => {
        clearTimeout(connectTimer);
        resolve(res);
      });
      if (body === undefined || Buffer.isBuffer(body)) req.end(body);
      else sendBody(req, body).catch((e: unknown) => req.destroy(e as Error));
    });
  }

  /** A request retried with exponential backoff on connection errors and 5xx/429, within `budget`. */
  private async retrying(url: URL, method: string, headers: OutgoingHttpHeaders, budget: RetryBudget, body?: Body): Promise<IncomingMessage> {
    // a streamed body cannot be sent twice: one attempt
    const retries = body === undefined || Buffer.isBuffer(body) ? budget.retries : 0;
    for (;;) {
      const attempt = budget.attempts++;
      const delay = this.backoff(attempt);
      let res: IncomingMessage;
      try {
        res = await this.once(url, method, headers, body);
      } catch (e) {
        if (e instanceof OciBundleError) throw e;
        const max = errno(e) === 'ECONNREFUSED' ? Math.min(REFUSED_RETRIES, retries) : retries;
        if (!RETRY_ERRNO.has(errno(e) ?? '') || attempt >= max) {
          // The words say it; the system error (`connect ECONNREFUSED 127.0.0.1:1`) adds nothing.
          const words = `cannot reach ${url.host}: ${failureOf(e)}${attempt ? ` after ${attempt + 1} attempts` : ''}`;
          throw new OciBundleError('ENETWORK', words, RETRY_ERRNO.has(errno(e) ?? '') ? {} : { cause: e });
        }
        this.retryNote(url, failureOf(e), attempt, max, delay);
        await sleep(delay);
        continue;
      }
      if (!RETRY_STATUS.has(res.statusCode ?? 0) || attempt >= retries) return res;
      res.resume();
      const wait = this.retryAfter(res, url, delay);
      // a Retry-After of a second or more already got its notice from retryAfter
      if (wait === delay || wait < 1000) this.retryNote(url, `${method} ${url.pathname} answered ${res.statusCode}`, attempt, budget.retries, wait);
      else this.counts.retries++;
      await sleep(wait);
    }
  }

  /** WRETRY: one line per retry, so a user waiting on a failing registry sees why. */
  private retryNote(url: URL, why: string, attempt: number, max: number, waitMs: number): void {
    this.counts.retries++;
    this.onWarning?.({ code: 'WRETRY', message: `${url.host}: ${why}; retry ${attempt + 1}/${max} in ${(waitMs / 1000).toFixed(2)} s` });
  }

  /** Follows redirects; Authorization is dropped when a redirect leaves the first origin. */
  private async following(url: URL, method: string, headers: OutgoingHttpHeaders, budget = this.newBudget(), body?: Body): Promise<IncomingMessage> {
    const origin = url.origin;
    let cur = url;
    for (let hop = 0; ; hop++) {
      const h = cur.origin === origin ? headers : Object.fromEntries(Object.entries(headers).filter(([k]) => k.toLowerCase() !== 'authorization'));
      const res = await this.retrying(cur, method, h, budget, body);
      const status = res.statusCode ?? 0;
      const loc = res.headers.location;
      // an upload's 201/202 carries a Location that is not a redirect
      if (![301, 302, 303, 307, 308].includes(status) || !loc || (body !== undefined && !Buffer.isBuffer(body))) return res;
      res.resume();
      if (hop >= MAX_REDIRECTS) throw new OciBundleError('ENETWORK', `too many redirects from ${url.host}${url.pathname}`);
      const next = redirectTarget(loc, cur);
      if (this.tlsVerify && cur.protocol === 'https:' && next.protocol === 'http:') {
        throw new OciBundleError('ENETWORK', `refusing redirect from https to plain http ${next.host} (tls verification is on)`);
      }
      cur = next;
    }
  }

  /**
   * Chooses the scheme with a GET /v2/: https; when TLS checks are off and https cannot be
   * spoken at all, plain http (as skopeo does with --tls-verify=false). Learns the challenge.
   */
  async ping(): Promise<void> {
    const schemes = this.tlsVerify ? ['https:'] : ['https:', 'http:'];
    let last: unknown;
    for (const scheme of schemes) {
      const url = new URL(`${scheme}//${this.ref.apiHost}/v2/`);
      let res: IncomingMessage;
      try {
        res = await this.following(url, 'GET', { 'user-agent': USER_AGENT });
      } catch (e) {
        last = e;
        continue;
      }
      res.resume();
      this.base = new URL(`${scheme}//${this.ref.apiHost}`);
      if (res.statusCode === 401) this.challenge = parseChallenge(header(res, 'www-authenticate'));
      else if (res.statusCode !== 200) {
        throw new OciBundleError('ENETWORK', `${this.ref.host} does not serve the registry api: GET /v2/ answered ${res.statusCode}`);
      }
      return;
    }
    const code = errno((last as { cause?: unknown } | undefined)?.cause) ?? '';
    if (this.tlsVerify && tlsFailure(code)) {
      // OpenSSL's own text is 300 characters of internals: say what is wrong and which flag helps.
      if (await this.speaksPlainHttp()) throw new OciBundleError('ENETWORK', `${this.ref.host} speaks plain http; use --tls-verify=false for a local registry`);
      const why = code.includes('CERT') ? code.toLowerCase().replace(/_/g, ' ') : 'tls handshake failed';
      throw new OciBundleError('ENETWORK', `cannot verify https to ${this.ref.host} (${why}); use --tls-verify=false for a local registry with a self-signed certificate`);
    }
    if (last instanceof OciBundleError) throw last;
    throw new OciBundleError('ENETWORK', `cannot reach registry ${this.ref.host}`, { cause: last });
  }

  /** Whether the host answers a plain-http GET /v2/ (one attempt, no retry). */
  private async speaksPlainHttp(): Promise<boolean> {
    try {
      const res = await this.once(new URL(`http://${this.ref.apiHost}/v2/`), 'GET', { 'user-agent': USER_AGENT });
      res.resume();
      return true;
    } catch {
      return false;
    }
  }

  private async token(ch: Challenge, fresh: boolean): Promise<string> {
    const scope = ch.params['scope'] ?? `repository:${this.ref.repo}:pull`;
    const key = `${ch.params['realm']} ${ch.params['service'] ?? ''} ${scope}`;
    const hit = this.tokens.get(key);
    if (hit && !fresh && hit.expires > Date.now()) return hit.header;
    const realm = ch.params['realm'];
    let url: URL;
    try {
      url = new URL(realm ?? '');
    } catch {
      throw new OciBundleError('EAUTH', `${this.where}: bearer challenge without a usable realm`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new OciBundleError('EAUTH', `${this.where}: token realm has unsupported scheme ${url.protocol}`);
    // credentials go to the registry's own host, or another one only by realm.ts's rule
    let creds = this.creds;
    if (creds) {
      const v = realmVerdict(this.ref.apiHost, url, this.trustRealms);
      if (!v.send) {
        this.withheld = v.why;
        creds = undefined;
      }
    }
    if (creds && this.tlsVerify && url.protocol === 'http:') {
      throw new OciBundleError('EAUTH', `${this.where}: refusing to send credentials to plain-http token realm ${url.host} (tls verification is on)`);
    }
    if (ch.params['service'] !== undefined) url.searchParams.set('service', ch.params['service']);
    url.searchParams.set('scope', scope);
    const headers: OutgoingHttpHeaders = { 'user-agent': USER_AGENT, accept: 'application/json' };
    if (creds) headers['authorization'] = creds.basic();
    this.counts.tokens++;
    const res = await this.following(url, 'GET', headers);
    const status = res.statusCode ?? 0;
    if (status === 401 || status === 403) {
      res.resume();
      throw new OciBundleError('EAUTH', `${this.where}: token server ${url.host} refused ${creds ? `the credentials of user ${JSON.stringify(creds.username)}` : this.who()} (${status})`);
    }
    if (status !== 200) {
      res.resume();
      throw new OciBundleError(status >= 500 ? 'ENETWORK' : 'EAUTH', `${this.where}: token server ${url.host} answered ${status}`);
    }
    let doc: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      doc = JSON.parse((await readBody(res, TOKEN_CAP, 'token response')).toString('utf8')) as typeof doc;
    } catch (e) {
      if (e instanceof OciBundleError) throw e;
      throw new OciBundleError('EAUTH', `${this.where}: token server ${url.host} sent invalid json`);
    }
    const tok = typeof doc?.token === 'string' && doc.token ? doc.token : typeof doc?.access_token === 'string' ? doc.access_token : '';
    if (!tok || /[\r\n]/.test(tok)) throw new OciBundleError('EAUTH', `${this.where}: token server ${url.host} sent no token`);
    const life = typeof doc.expires_in === 'number' && doc.expires_in > 0 ? doc.expires_in : 60;
    const h = `Bearer ${tok}`;
    // renew a little before expiry
    this.tokens.set(key, { header: h, expires: Date.now() + Math.max(1, life - 10) * 1000 });
    return h;
  }

  private async authorization(fresh: boolean): Promise<string | undefined> {
    const ch = this.challenge;
    if (!ch) return undefined;
    if (ch.scheme === 'bearer') return this.token(ch, fresh);
    if (ch.scheme === 'basic') return this.creds?.basic();
    return undefined;
  }

  /**
   * GET or HEAD `/v2/<repo>/<path>` with authentication, retries and redirects. Returns the
   * final response, whatever its status, except 401/403, which become EAUTH. `more` adds
   * headers (Range) and a retry budget shared with earlier requests of the same transfer.
   */
  async request(method: string, path: string | URL, accept?: string, more: { headers?: OutgoingHttpHeaders; budget?: RetryBudget; body?: Body } = {}): Promise<IncomingMessage> {
    if (!this.base) await this.ping();
    const url = typeof path === 'string' ? new URL(`/v2/${this.ref.repo}/${path}`, this.base) : path;
    const headers: OutgoingHttpHeaders = { 'user-agent': USER_AGENT, ...more.headers };
    if (accept) headers['accept'] = accept;
    const budget = more.budget ?? this.newBudget();
    for (let round = 0; ; round++) {
      const auth = await this.authorization(round > 0);
      const res = await this.following(url, method, auth ? { ...headers, authorization: auth } : headers, budget, more.body);
      const status = res.statusCode ?? 0;
      const replayable = more.body === undefined || Buffer.isBuffer(more.body);
      if (status === 401 && round === 0 && replayable) {
        const ch = parseChallenge(header(res, 'www-authenticate'));
        res.resume();
        if (ch && (ch.scheme === 'bearer' || (ch.scheme === 'basic' && this.creds))) {
          this.challenge = ch;
          continue;
        }
        throw new OciBundleError('EAUTH', `${this.where}: authentication required${this.creds ? '' : ' and no credentials found'} (401)`);
      }
      if (status === 401 || status === 403) {
        const code = method === 'GET' ? await errorCodeOf(res) : (res.resume(), '');
        throw new OciBundleError('EAUTH', `${this.where}: access denied to ${this.who()} (${status})${code}`);
      }
      return res;
    }
  }

  /** The URL an upload's Location header names (relative to the registry), on the registry's origin only. */
  uploadUrl(res: IncomingMessage, what: string): URL {
    const loc = header(res, 'location');
    if (!loc || !this.base) throw new OciBundleError('EIO', `${this.where}: ${what}: the registry answered ${res.statusCode} without a Location`);
    const url = redirectTarget(loc, this.base);
    if (url.origin !== this.base.origin) throw new OciBundleError('ENETWORK', `${this.where}: ${what}: upload location ${JSON.stringify(loc.slice(0, 200))} is on another origin; refused`);
    return url;
  }

  /** An error for an unexpected status (404 handled by callers). */
  async statusError(res: IncomingMessage, what: string): Promise<OciBundleError> {
    const status = res.statusCode ?? 0;
    const code = await errorCodeOf(res);
    const kind = status >= 500 || status === 429 ? 'ENETWORK' : 'EIO';
    const tries = RETRY_STATUS.has(status) ? ` after ${this.retries + 1} attempts` : '';
    return new OciBundleError(kind, `${this.where}: ${what}: registry answered ${status}${code}${tries}`);
  }
}

/** A redirect's Location resolved against the request URL; ENETWORK naming it if unparseable or not http(s). */
export function redirectTarget(location: string, from: URL): URL {
  const shown = JSON.stringify(location.slice(0, 200));
  let next: URL;
  try {
    next = new URL(location, from);
  } catch (e) {
    throw new OciBundleError('ENETWORK', `${from.host} redirected to an unparseable location ${shown}`, { cause: e });
  }
  if (next.protocol !== 'https:' && next.protocol !== 'http:') {
    throw new OciBundleError('ENETWORK', `${from.host} redirected to ${shown}, which is neither http nor https; refused`);
  }
  return next;
}

/** A request body: bytes (may be sent again on a retry) or a stream of them (sent once). */
export type Body = Buffer | AsyncIterable<Buffer>;

/** Resolves on 'drain' (or 'close'/'error', which end the wait too), leaving no listener behind. */
function drained(w: NodeJS.EventEmitter): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      w.off('drain', done);
      w.off('close', done);
      w.off('error', done);
      resolve();
    };
    w.on('drain', done);
    w.on('close', done);
    w.on('error', done);
  });
}

/** Writes a streamed body with backpressure, then ends the request. */
async function sendBody(req: http.ClientRequest, body: AsyncIterable<Buffer>): Promise<void> {
  for await (const c of body) {
    if (req.destroyed) return;
    if (!req.write(c)) await drained(req);
  }
  req.end();
}

export function header(res: IncomingMessage, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}
