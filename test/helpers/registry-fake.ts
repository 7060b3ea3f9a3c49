// A tiny fake distribution-spec registry for tests: serves manifests and blobs of an OCI
// layout directory over node:http, and can demand Basic or Bearer auth (with a token server
// on its own port), redirect blobs to a second server, answer 503 or 429 + Retry-After a few
// times, cut bodies short, ignore Range, drip or slow bodies, tamper with bytes or send a wrong
// Docker-Content-Digest. Serves Range requests (206). Records every request it sees.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';

export interface Seen {
  server: 'registry' | 'token' | 'blobs';
  method: string;
  path: string;
  authorization?: string;
  range?: string;
}

export interface FakeOptions {
  layoutDir: string;
  /** Demand HTTP Basic with these credentials. */
  basic?: { user: string; pass: string };
  /** Demand a bearer token, issued by a token server (with these credentials if given). */
  bearer?: { user?: string; pass?: string; token?: string };
  /** The first N GETs of /blobs/ answer 503. */
  fail503?: number;
  /** Blob GETs answer 307 to a second server that serves the bytes. */
  redirectBlobs?: boolean;
  /** Blob GETs answer 307 with exactly this Location (unparseable or odd schemes). */
  blobLocation?: string;
  /** The loopback address the token server listens on and its realm names (default 127.0.0.1; 127.0.0.2 is "another host"). */
  realmHost?: string;
  /** Flip the first byte of these blobs when serving them. */
  tamper?: Set<string>;
  /** Send a Docker-Content-Digest that does not match the manifest. */
  wrongDigestHeader?: boolean;
  /** Omit Content-Length on blobs (chunked transfer). */
  chunked?: boolean;
  /** Send half of each blob body, then nothing (idle timeout tests). */
  stall?: boolean;
  /** Send each blob body in four parts this many ms apart (slow transfers). */
  slowBlobsMs?: number;
  /** The first `times` GETs of blobs longer than `after` bytes send that many, then the connection is reset (RST) or
   * just closed (a body cut short of its Content-Length). */
  cut?: { times: number; after: number; how: 'reset' | 'close' };
  /** Answer Range requests with the whole blob (200), as registries without Range support do. */
  ignoreRange?: boolean;
  /** Send blob bodies one byte every this many ms. */
  dripMs?: number;
  /** The first `times` blob GETs answer `status` with this Retry-After value. */
  retryAfter?: { times: number; value: string; status?: number };
  /** Serve the registry itself over https with this key and certificate (PEM). */
  tls?: { key: string; cert: string };
}

export interface FakeRegistry {
  host: string; // 127.0.0.1:PORT
  seen: Seen[];
  close(): Promise<void>;
}

function listen(handler: (req: IncomingMessage, res: ServerResponse) => void, address = '127.0.0.1', tls?: FakeOptions['tls']): Promise<{ server: Server; port: number }> {
  const server: Server = tls ? createTlsServer(tls, handler) : createServer(handler);
  return new Promise((resolve) => server.listen(0, address, () => resolve({ server, port: (server.address() as AddressInfo).port })));
}

function blobFile(dir: string, digest: string): string | undefined {
  const m = /^sha256:([a-f0-9]{64})$/.exec(digest);
  if (!m) return undefined;
  const p = join(dir, 'blobs', 'sha256', m[1]!);
  return existsSync(p) ? p : undefined;
}

function basicOk(h: string | undefined, user: string, pass: string): boolean {
  return h === `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
}

function notFound(res: ServerResponse, code: string): void {
  res.writeHead(404, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ errors: [{ code, message: 'not here' }] }));
}

export async function startFakeRegistry(o: FakeOptions): Promise<FakeRegistry> {
  const seen: Seen[] = [];
  const token = o.bearer?.token ?? 'tok-' + createHash('sha256').update(String(Math.random())).digest('hex').slice(0, 16);
  let failures = 0;
  let cuts = 0;
  let waits = 0;
  const servers: Server[] = [];
  const record = (server: Seen['server'], req: IncomingMessage) => {
    const s: Seen = { server, method: req.method ?? '', path: req.url ?? '' };
    if (req.headers.authorization) s.authorization = req.headers.authorization;
    if (req.headers.range) s.range = req.headers.range;
    seen.push(s);
  };

  const serveBlob = (req: IncomingMessage, res: ServerResponse, digest: string) => {
    const file = blobFile(o.layoutDir, digest);
    if (!file) return notFound(res, 'BLOB_UNKNOWN');
    let bytes = readFileSync(file);
    if (o.tamper?.has(digest)) {
      bytes = Buffer.from(bytes);
      bytes[0] = bytes[0]! ^ 0xff;
    }
    const headers: Record<string, string> = { 'content-type': 'application/octet-stream', 'docker-content-digest': digest };
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    let status = 200;
    if (range && !o.ignoreRange && req.method === 'GET') {
      const from = Number(range[1]);
      headers['content-range'] = `bytes ${from}-${bytes.length - 1}/${bytes.length}`;
      bytes = bytes.subarray(from);
      status = 206;
    }
    if (!o.chunked) headers['content-length'] = String(bytes.length);
    res.writeHead(status, headers);
    if (req.method === 'HEAD') return res.end();
    if (o.cut && cuts < o.cut.times && bytes.length > o.cut.after) {
      cuts++;
      const how = o.cut.how;
      res.write(bytes.subarray(0, o.cut.after), () => setTimeout(() => (how === 'reset' ? res.socket?.resetAndDestroy() : res.socket?.destroy()), 5));
      return;
    }
    if (o.dripMs !== undefined) {
      let i = 0;
      const tick = (): void => {
        if (res.destroyed) return;
        if (i >= bytes.length) return void res.end();
        res.write(bytes.subarray(i, ++i));
        setTimeout(tick, o.dripMs);
      };
      return tick();
    }
    if (o.slowBlobsMs !== undefined) {
      const q = Math.ceil(bytes.length / 4);
      const part = (i: number): void => {
        if (res.destroyed) return;
        if (i === 3) return void res.end(bytes.subarray(3 * q));
        res.write(bytes.subarray(i * q, (i + 1) * q));
        setTimeout(() => part(i + 1), o.slowBlobsMs);
      };
      return part(0);
    }
    // two writes, so a body arrives in more than one chunk
    const half = Math.floor(bytes.length / 2);
    res.write(bytes.subarray(0, half));
    if (!o.stall) setTimeout(() => res.end(bytes.subarray(half)), 5);
  };

  const blobs = o.redirectBlobs
    ? await listen((req, res) => {
        record('blobs', req);
        const m = /^\/storage\/(sha256:[a-f0-9]{64})/.exec(req.url ?? '');
        if (!m) return notFound(res, 'NAME_UNKNOWN');
        serveBlob(req, res, m[1]!);
      })
    : undefined;
  if (blobs) servers.push(blobs.server);

  const tokenSrv = o.bearer
    ? await listen((req, res) => {
        record('token', req);
        const b = o.bearer!;
        if (b.user !== undefined && !basicOk(req.headers.authorization, b.user, b.pass ?? '')) {
          res.writeHead(401, { 'content-type': 'application/json' });
          return res.end('{"details":"bad credentials"}');
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ token, expires_in: 300 }));
      }, o.realmHost)
    : undefined;
  if (tokenSrv) servers.push(tokenSrv.server);

  const reg = await listen((req, res) => {
    record('registry', req);
    const url = req.url ?? '';
    const auth = req.headers.authorization;
    if (o.basic && !basicOk(auth, o.basic.user, o.basic.pass)) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="fake"', 'content-type': 'application/json' });
      return res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'auth' }] }));
    }
    if (o.bearer && auth !== `Bearer ${token}`) {
      const m = /^\/v2\/(.+?)\/(?:manifests|blobs)\//.exec(url);
      const scope = m ? `,scope="repository:${m[1]}:pull"` : '';
      res.writeHead(401, {
        'www-authenticate': `Bearer realm="http://${o.realmHost ?? '127.0.0.1'}:${tokenSrv!.port}/token",service="fake-registry"${scope}`,
        'content-type': 'application/json',
      });
      return res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'token' }] }));
    }
    if (url === '/v2/') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end('{}');
    }
    const man = /^\/v2\/(.+?)\/manifests\/([^/]+)$/.exec(url);
    if (man) {
      const ref = decodeURIComponent(man[2]!);
      let desc: { digest: string; mediaType: string } | undefined;
      if (ref.startsWith('sha256:')) {
        const f = blobFile(o.layoutDir, ref);
        if (f) desc = { digest: ref, mediaType: (JSON.parse(readFileSync(f, 'utf8')) as { mediaType: string }).mediaType };
      } else {
        const idx = JSON.parse(readFileSync(join(o.layoutDir, 'index.json'), 'utf8')) as { manifests: { digest: string; mediaType: string; annotations?: Record<string, string> }[] };
        desc = idx.manifests.find((d) => d.annotations?.['org.opencontainers.image.ref.name'] === ref);
      }
      if (!desc) return notFound(res, 'MANIFEST_UNKNOWN');
      const bytes = readFileSync(blobFile(o.layoutDir, desc.digest)!);
      const sent = o.wrongDigestHeader ? 'sha256:' + createHash('sha256').update('other').digest('hex') : desc.digest;
      res.writeHead(200, { 'content-type': desc.mediaType, 'docker-content-digest': sent, 'content-length': String(bytes.length) });
      return res.end(req.method === 'HEAD' ? undefined : bytes);
    }
    const blob = /^\/v2\/(.+?)\/blobs\/([^/]+)$/.exec(url);
    if (blob) {
      const digest = decodeURIComponent(blob[2]!);
      if (req.method === 'GET' && o.retryAfter && waits < o.retryAfter.times) {
        waits++;
        res.writeHead(o.retryAfter.status ?? 429, { 'content-type': 'application/json', 'retry-after': o.retryAfter.value });
        return res.end('{"errors":[{"code":"TOOMANYREQUESTS"}]}');
      }
      if (req.method === 'GET' && o.fail503 !== undefined && failures < o.fail503) {
        failures++;
        res.writeHead(503, { 'content-type': 'application/json' });
        return res.end('{"errors":[{"code":"UNAVAILABLE"}]}');
      }
      if (o.blobLocation !== undefined && req.method === 'GET') {
        res.writeHead(307, { location: o.blobLocation });
        return res.end();
      }
      if (blobs && req.method === 'GET') {
        res.writeHead(307, { location: `http://127.0.0.1:${blobs.port}/storage/${digest}?sig=x` });
        return res.end();
      }
      return serveBlob(req, res, digest);
    }
    notFound(res, 'NAME_UNKNOWN');
  }, '127.0.0.1', o.tls);
  servers.push(reg.server);
  return {
    host: `127.0.0.1:${reg.port}`,
    seen,
    close: async () => {
      await Promise.all(
        servers.map(
          (s) =>
            new Promise<void>((r) => {
              s.closeAllConnections();
              s.close(() => r());
            }),
        ),
      );
    },
  };
}

/** Runs `fn` against a fake registry started with `o`, and closes the registry afterwards. */
export async function withFakeRegistry(o: FakeOptions, fn: (f: FakeRegistry) => Promise<void>): Promise<void> {
  const f = await startFakeRegistry(o);
  try {
    await fn(f);
  } finally {
    await f.close();
  }
}
