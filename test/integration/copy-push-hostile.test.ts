// A hostile or broken registry as a copy destination (a small node:http server in the test):
// an upload Location on another origin, a Docker-Content-Digest other than the digest sent, an
// upload start without Location, a refused blob PUT, a manifest PUT that keeps failing. Each is
// one documented error, and no manifest is PUT under the tag.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { gzip, makeTar, writeLayout } from '../../fixtures/layout.js';
import { copyImage } from '../../src/source/copy.js';
import { OciBundleError } from '../../src/errors.js';
import { scratchDir } from '../helpers/cli.js';

type Fault = 'other-origin' | 'wrong-blob-digest' | 'wrong-manifest-digest' | 'no-location' | 'blob-refused' | 'manifest-500' | 'none';

interface Push {
  host: string;
  seen: string[];
  fault: Fault;
  close(): Promise<void>;
}

/** A registry that accepts pushes (keeping nothing) and misbehaves as `fault` says. */
async function pushServer(): Promise<Push> {
  const state: Push = { host: '', seen: [], fault: 'none', close: async () => undefined };
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', `http://${state.host}`);
      state.seen.push(`${req.method} ${url.pathname}`);
      const digest = url.searchParams.get('digest') ?? '';
      const f = state.fault;
      if (url.pathname === '/v2/') return res.writeHead(200).end('{}');
      if (req.method === 'HEAD') return res.writeHead(404).end();
      if (req.method === 'POST' && url.pathname.endsWith('/blobs/uploads/')) {
        if (f === 'no-location') return res.writeHead(202, { 'content-length': '0' }).end();
        const loc = f === 'other-origin' ? 'http://127.0.0.2:9/v2/x/blobs/uploads/u1' : `/v2/x/blobs/uploads/u1`;
        return res.writeHead(202, { location: loc, 'content-length': '0' }).end();
      }
      if (req.method === 'PUT' && url.pathname.includes('/blobs/uploads/')) {
        if (f === 'blob-refused') return res.writeHead(400, { 'content-type': 'application/json' }).end('{"errors":[{"code":"DIGEST_INVALID"}]}');
        const sent = f === 'wrong-blob-digest' ? `sha256:${'0'.repeat(64)}` : digest;
        return res.writeHead(201, { 'docker-content-digest': sent, 'content-length': '0' }).end();
      }
      if (req.method === 'PUT' && url.pathname.includes('/manifests/')) {
        if (f === 'manifest-500') return res.writeHead(500).end();
        const d = f === 'wrong-manifest-digest' ? `sha256:${'1'.repeat(64)}` : `sha256:${createHash('sha256').update(Buffer.concat(chunks)).digest('hex')}`;
        return res.writeHead(201, { 'docker-content-digest': d, 'content-length': '0' }).end();
      }
      if (req.method === 'DELETE') return res.writeHead(204).end();
      res.writeHead(404).end();
    });
  };
  const server: Server = createServer(handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  state.host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return state;
}

let dir: string;
let srv: Push;

before(async () => {
  dir = scratchDir('copy-push-hostile');
  writeLayout(join(dir, 'src'), { images: [{ tag: 'x', layers: [gzip(await makeTar([{ name: 'f', data: 'push me\n' }]))] }] });
  srv = await pushServer();
});

after(async () => {
  await srv.close();
  rmSync(dir, { recursive: true, force: true });
});

test('a broken registry destination: one documented error, no tag', async (t) => {
  const cases: { fault: Fault; code: string; match: RegExp }[] = [
    { fault: 'none', code: '', match: /./ },
    { fault: 'other-origin', code: 'ENETWORK', match: /another origin; refused/ },
    { fault: 'wrong-blob-digest', code: 'EDIGEST', match: /was stored as/ },
    { fault: 'wrong-manifest-digest', code: 'EDIGEST', match: /manifest .* was stored as/ },
    { fault: 'no-location', code: 'EIO', match: /without a Location/ },
    { fault: 'blob-refused', code: 'EIO', match: /registry answered 400 \(DIGEST_INVALID\)/ },
    { fault: 'manifest-500', code: 'ENETWORK', match: /answered 500 after 5 attempts/ },
  ];
  for (const c of cases) {
    await t.test(c.fault, async () => {
      srv.fault = c.fault;
      srv.seen.length = 0;
      const p = copyImage(`${join(dir, 'src')}:x`, `docker://${srv.host}/x:tagged`, { destRegistry: { tlsVerify: false } });
      if (c.code === '') {
        await p;
        assert.ok(srv.seen.includes('PUT /v2/x/manifests/tagged'), srv.seen.join('\n'));
        return;
      }
      await assert.rejects(p, (e: unknown) => e instanceof OciBundleError && e.code === c.code && c.match.test(e.message) && !e.message.includes('\n'));
      assert.ok(!srv.seen.includes('PUT /v2/x/manifests/tagged'), `no tag: ${srv.seen.join(', ')}`);
    });
  }
});
