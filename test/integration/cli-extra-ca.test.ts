// NODE_EXTRA_CA_CERTS through bin/ocibundle: run as a program, its sh line keeps the file from
// node's start-up (node would parse it before any code runs), yet an https registry signed by
// that file's CA is trusted, a missing file is a WEXTRACA warning, and child processes (a
// credential helper) still see the variable; `node bin/ocibundle` gets node's own handling.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { writeLayout, makeTar, gzip } from '../../fixtures/layout.js';
import { startFakeRegistry, type FakeRegistry } from '../helpers/registry-fake.js';
import { BIN, scratchDir } from '../helpers/cli.js';
import { OPENSSL_BIN, haveOpenssl } from '../helpers/registry-token.js';

const skip = haveOpenssl ? false : 'openssl not installed (apt-get install openssl)';
const USER = 'ca-user';
const PASS = 'ca-Pa55word';
let dir: string;
let reg: FakeRegistry | undefined;
let caFile: string;
let otherCa: string;

/** A CA certificate (PEM file) and a server key and certificate for 127.0.0.1 signed by it. */
function makeCa(name: string): { caFile: string; key: string; cert: string } {
  const p = (f: string) => join(dir, `${name}-${f}`);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  execFileSync(OPENSSL_BIN, ['req', '-x509', ...ec, '-keyout', p('ca.key'), '-out', p('ca.pem'), '-days', '2', '-subj', `/CN=ocibundle test CA ${name}`], { stdio: 'ignore' });
  execFileSync(OPENSSL_BIN, ['req', ...ec, '-keyout', p('srv.key'), '-out', p('srv.csr'), '-subj', '/CN=127.0.0.1'], { stdio: 'ignore' });
  writeFileSync(p('ext'), 'subjectAltName=IP:127.0.0.1\n');
  execFileSync(OPENSSL_BIN, ['x509', '-req', '-in', p('srv.csr'), '-CA', p('ca.pem'), '-CAkey', p('ca.key'), '-CAcreateserial', '-out', p('srv.pem'), '-days', '2', '-extfile', p('ext')], { stdio: 'ignore' });
  return { caFile: p('ca.pem'), key: readFileSync(p('srv.key'), 'utf8'), cert: readFileSync(p('srv.pem'), 'utf8') };
}

before(async () => {
  if (skip) return;
  dir = scratchDir('extra-ca');
  const ca = makeCa('a');
  caFile = ca.caFile;
  otherCa = makeCa('b').caFile;
  const layer = gzip(await makeTar([{ name: 'etc/', type: 'directory' }, { name: 'etc/hostname', data: 'tls\n' }]));
  writeLayout(join(dir, 'layout'), { images: [{ tag: 'latest', layers: [layer] }] });
  reg = await startFakeRegistry({ layoutDir: join(dir, 'layout'), tls: { key: ca.key, cert: ca.cert }, basic: { user: USER, pass: PASS } });
  // a credential helper that records the NODE_EXTRA_CA_CERTS it was started with
  mkdirSync(join(dir, 'bin'));
  const helper = join(dir, 'bin', 'docker-credential-rec');
  writeFileSync(helper, `#!/bin/sh\ncat >/dev/null\nprintf '%s' "\${NODE_EXTRA_CA_CERTS-unset}" > "$OCIBUNDLE_TEST_SEEN"\necho '{"Username":"${USER}","Secret":"${PASS}"}'\n`);
  chmodSync(helper, 0o755);
  mkdirSync(join(dir, 'home', '.docker'), { recursive: true });
  writeFileSync(join(dir, 'home', '.docker', 'config.json'), JSON.stringify({ credHelpers: { [reg.host]: 'rec' } }));
});

after(async () => {
  await reg?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** bin/ocibundle as a program (through its sh line) or as `node bin/ocibundle`; async: the registry lives in this process. */
function run(how: 'program' | 'node', args: string[], extra: NodeJS.ProcessEnv): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: join(dir, 'home'), PATH: `${join(dir, 'bin')}:${process.env['PATH'] ?? '/usr/bin:/bin'}` };
  delete env['NODE_OPTIONS'];
  Object.assign(env, extra);
  for (const [k, v] of Object.entries(extra)) if (v === undefined) delete env[k];
  const [cmd, argv] = how === 'program' ? [BIN, args] : [process.execPath, [BIN, ...args]];
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('error', reject);
    p.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

const NODE_WARNING = /Warning: Ignoring extra certs from/;

test('NODE_EXTRA_CA_CERTS is deferred by the launcher and honoured at the first TLS connection', { skip }, async (t) => {
  const cases: { name: string; how: 'program' | 'node'; ca: () => string | undefined; ok: boolean; stderr: RegExp[]; notStderr: RegExp[] }[] = [
    { name: 'program, the CA file: pulled over verified https', how: 'program', ca: () => caFile, ok: true, stderr: [], notStderr: [NODE_WARNING] },
    { name: 'node bin/ocibundle, the CA file: node loaded it itself', how: 'node', ca: () => caFile, ok: true, stderr: [], notStderr: [/WEXTRACA/] },
    { name: 'program, no NODE_EXTRA_CA_CERTS: the certificate does not verify', how: 'program', ca: () => undefined, ok: false, stderr: [/^ocibundle: ENETWORK: cannot reach 127\.0\.0\.1:\d+: unable_to_verify_leaf_signature/m], notStderr: [] },
    { name: "program, another CA's file: the certificate does not verify", how: 'program', ca: () => otherCa, ok: false, stderr: [/ENETWORK: .*unable_to_verify_leaf_signature/], notStderr: [] },
    { name: 'program, a missing file: one WEXTRACA warning, then the certificate does not verify', how: 'program', ca: () => join(dir, 'missing.pem'), ok: false, stderr: [/^ocibundle: warning: WEXTRACA: ignoring extra certs from ".*missing\.pem" \(NODE_EXTRA_CA_CERTS\): /m, /ENETWORK: .*unable_to_verify_leaf_signature/], notStderr: [NODE_WARNING] },
    { name: 'program, a file with no certificate in it: WEXTRACA, then the certificate does not verify', how: 'program', ca: () => join(dir, 'home', '.docker', 'config.json'), ok: false, stderr: [/warning: WEXTRACA: .*config\.json" \(NODE_EXTRA_CA_CERTS\): no PEM certificate in it/, /unable_to_verify_leaf_signature/], notStderr: [] },
  ];
  for (const [i, c] of cases.entries()) {
    await t.test(c.name, async () => {
      const seen = join(dir, `seen-${i}`);
      const out = join(dir, `copy-${i}`);
      const ca = c.ca();
      const r = await run(c.how, ['copy', `docker://${reg!.host}/demo/app:latest`, `oci:${out}:latest`], { NODE_EXTRA_CA_CERTS: ca, OCIBUNDLE_TEST_SEEN: seen });
      assert.equal(r.status === 0, c.ok, r.stderr);
      for (const re of c.stderr) assert.match(r.stderr, re);
      for (const re of c.notStderr) assert.doesNotMatch(r.stderr, re);
      if (c.ok) {
        assert.ok(existsSync(join(out, 'index.json')), 'the copy has an index');
        // the credential helper, a child process, saw the variable as the user set it
        assert.equal(readFileSync(seen, 'utf8'), ca);
      }
    });
  }
});

test('start-up does not read NODE_EXTRA_CA_CERTS when run as a program', { skip }, async (t) => {
  const cases: { name: string; how: 'program' | 'node'; env: NodeJS.ProcessEnv; nodeWarns: boolean }[] = [
    { name: 'program: node never sees the (missing) file', how: 'program', env: {}, nodeWarns: false },
    { name: 'node bin/ocibundle: node reads it and warns (the check above means something)', how: 'node', env: {}, nodeWarns: true },
    { name: 'program with NODE_OPTIONS set: left to node, which reads it', how: 'program', env: { NODE_OPTIONS: '--no-warnings=ExperimentalWarning' }, nodeWarns: true },
  ];
  for (const c of cases) {
    await t.test(c.name, async () => {
      const r = await run(c.how, ['--version'], { NODE_EXTRA_CA_CERTS: join(dir, 'missing.pem'), ...c.env });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /^\d+\.\d+\.\d+\n$/);
      assert.equal(NODE_WARNING.test(r.stderr), c.nodeWarns, r.stderr);
    });
  }
});
