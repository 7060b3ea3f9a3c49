// Test helpers around Debian's docker-registry: start it on 127.0.0.1 at a free port with
// storage in a temp dir (optionally behind htpasswd), and push a fixture image to it with
// monolithic uploads (POST + PUT ?digest=) and manifest PUTs, children before parents.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

export const REGISTRY_BIN = '/usr/bin/docker-registry';
export const HTPASSWD_BIN = '/usr/bin/htpasswd';
export const haveRegistry = existsSync(REGISTRY_BIN);
export const haveHtpasswd = existsSync(HTPASSWD_BIN);

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export interface RunningRegistry {
  host: string;
  /** Authorization header for pushes when htpasswd is on. */
  auth?: string;
  stop(): Promise<void>;
}

/** Bearer-token auth for the registry: its `auth: token:` section (realm of a token server). */
export interface TokenAuthConfig {
  realm: string;
  service: string;
  issuer: string;
  /** PEM file with the certificate(s) whose keys may sign tokens. */
  rootcertbundle: string;
}

/**
 * Starts docker-registry under `dir` (config, data, log); waits until /v2/ answers. With
 * `token` (and no htpasswd) the registry wants Bearer tokens from that token server.
 */
export async function startRegistry(dir: string, htpasswd?: { user: string; pass: string }, token?: TokenAuthConfig): Promise<RunningRegistry> {
  mkdirSync(join(dir, 'data'), { recursive: true });
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  let auth = '';
  if (htpasswd) {
    const line = execFileSync(HTPASSWD_BIN, ['-Bbn', htpasswd.user, htpasswd.pass], { encoding: 'utf8' });
    writeFileSync(join(dir, 'htpasswd'), line);
    auth = `auth: {htpasswd: {realm: test-realm, path: ${join(dir, 'htpasswd')}}}\n`;
  } else if (token) {
    const q = (v: string) => JSON.stringify(v);
    auth = `auth:\n  token: {realm: ${q(token.realm)}, service: ${q(token.service)}, issuer: ${q(token.issuer)}, rootcertbundle: ${q(token.rootcertbundle)}}\n`;
  }
  writeFileSync(
    join(dir, 'config.yml'),
    `version: 0.1\nlog: {level: warn}\nstorage:\n  filesystem: {rootdirectory: ${join(dir, 'data')}}\nhttp:\n  addr: ${host}\n${auth}`,
  );
  const child: ChildProcess = spawn(REGISTRY_BIN, ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr?.on('data', (c: Buffer) => (log = (log + c.toString()).slice(-4000)));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const done = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await done;
    }
  };
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) break;
    try {
      const r = await fetch(`http://${host}/v2/`);
      if (r.status === 200 || r.status === 401) {
        const out: RunningRegistry = { host, stop };
        if (htpasswd) out.auth = `Basic ${Buffer.from(`${htpasswd.user}:${htpasswd.pass}`).toString('base64')}`;
        return out;
      }
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error(`docker-registry did not start on ${host}: ${log}`);
}

interface Doc {
  mediaType?: string;
  manifests?: { digest: string; mediaType: string }[];
  config?: { digest: string };
  layers?: { digest: string }[];
}

function blob(layoutDir: string, digest: string): Buffer {
  return readFileSync(join(layoutDir, 'blobs', 'sha256', digest.slice('sha256:'.length)));
}

async function check(r: Response, what: string): Promise<void> {
  if (r.status >= 300) throw new Error(`push ${what}: ${r.status} ${await r.text()}`);
}

/**
 * Pushes what `digest` (an index or manifest in `layoutDir`) reaches to `repo`, then tags it
 * `tag`. Blobs go up with one POST + PUT each; manifests by digest, the root also by tag.
 */
export async function pushImage(host: string, layoutDir: string, repo: string, digest: string, mediaType: string, tag: string, auth?: string): Promise<void> {
  const base = `http://${host}/v2/${repo}`;
  const hdr = (h: Record<string, string> = {}) => (auth ? { ...h, authorization: auth } : h);
  const pushBlob = async (d: string) => {
    const head = await fetch(`${base}/blobs/${d}`, { method: 'HEAD', headers: hdr() });
    if (head.status === 200) return;
    const start = await fetch(`${base}/blobs/uploads/`, { method: 'POST', headers: hdr() });
    await check(start, `upload start ${d}`);
    const loc = new URL(start.headers.get('location') ?? '', `http://${host}`);
    loc.searchParams.set('digest', d);
    const bytes = blob(layoutDir, d);
    const put = await fetch(loc, { method: 'PUT', headers: hdr({ 'content-type': 'application/octet-stream', 'content-length': String(bytes.length) }), body: new Uint8Array(bytes) });
    await check(put, `blob ${d}`);
  };
  const pushManifest = async (d: string, mt: string, ref: string) => {
    const bytes = blob(layoutDir, d);
    const r = await fetch(`${base}/manifests/${ref}`, { method: 'PUT', headers: hdr({ 'content-type': mt }), body: new Uint8Array(bytes) });
    await check(r, `manifest ${ref}`);
  };
  const walk = async (d: string, mt: string) => {
    const doc = JSON.parse(blob(layoutDir, d).toString('utf8')) as Doc;
    if (doc.manifests) for (const c of doc.manifests) await walk(c.digest, c.mediaType);
    if (doc.config) await pushBlob(doc.config.digest);
    for (const l of doc.layers ?? []) await pushBlob(l.digest);
    await pushManifest(d, mt, d);
  };
  await walk(digest, mediaType);
  await pushManifest(digest, mediaType, tag);
}
