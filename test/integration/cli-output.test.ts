// What the CLI prints besides its data: every command's --help (usage line with the required
// options, at least two examples, nothing past 80 columns, no literal $0), a closed stdout
// (quiet, status 141) and a full one (one line), --json results carrying the warnings,
// validate's one line per problem with the tags that reach it, skopeo transports refused by
// name, registry failures said in words (plain http, refused connections with retry lines),
// and progress by bytes within a layer with the bar cleared before other lines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { corruptBlob, tagged, writeIndexJson, writeLayout } from '../../fixtures/layout.js';
import { gzip, makeTar } from '../../fixtures/tar.js';
import { SYNOPSIS } from '../../src/cli/usage.js';
import { unpack, type UnpackProgress } from '../../src/index.js';
import { BIN, hasCommand, runCli, scratchDir } from '../helpers/cli.js';

/** Runs the CLI without blocking this process's event loop (a test server must answer). */
function runAsync(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string; ms: number }> {
  const started = performance.now();
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    p.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    p.on('close', (status) => resolve({ status, stdout, stderr, ms: performance.now() - started }));
  });
}

/** Runs the CLI with stderr on a pty; returns the terminal's output. */
function underPty(args: string[]): { status: number | null; out: string } {
  const cmd = [process.execPath, BIN, ...args].map((a) => `'${a}'`).join(' ');
  const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, out: r.stdout };
}

const COMMANDS = Object.keys(SYNOPSIS);

test('help: every command shows its usage line, two examples, 80 columns', async (t) => {
  for (const cmd of ['', ...COMMANDS]) {
    await t.test(cmd === '' ? 'ocibundle --help' : `${cmd} --help`, () => {
      const r = runCli([...cmd.split(' ').filter(Boolean), '--help']);
      assert.equal(r.status, 0, r.stderr);
      const lines = r.stdout.split('\n');
      for (const l of lines) assert.ok(l.length <= 80, `over 80 columns: ${JSON.stringify(l)}`);
      assert.doesNotMatch(r.stdout, /\$0/, 'no literal $0');
      if (cmd === '') {
        assert.match(lines[0]!, /^ocibundle <command> \[options\]$/);
        return;
      }
      assert.equal(lines[0], `ocibundle ${SYNOPSIS[cmd]}`, 'the usage line, with the required options');
      const examples = r.stdout.slice(r.stdout.indexOf('\nExamples:\n'));
      assert.ok((examples.match(/^ {2}\$ ocibundle /gm) ?? []).length >= 2, `at least two examples:\n${r.stdout}`);
    });
  }
  await t.test('raw unpack: the positional is ROOTFS and --force is about it', () => {
    const r = runCli(['raw', 'unpack', '--help']);
    assert.match(r.stdout, /^ {2}rootfs /m);
    assert.match(r.stdout, /--force +replace an existing ROOTFS/);
    assert.doesNotMatch(r.stdout, /config\.json\b.*--force|--force.*config\.json/);
  });
  await t.test('unpack: the image and platform come before the registry and shaping groups', () => {
    const out = runCli(['unpack', '--help']).stdout;
    const at = (s: string) => out.indexOf(s);
    assert.ok(at('--image') < at('--force') && at('--force') < at('Process and config.json options:') && at('Process and config.json options:') < at('Registry options'));
  });
  await t.test('-v prints the version', () => {
    const r = runCli(['-v']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^\d+\.\d+\.\d+\n$/);
  });
});

test('stdout: closed by its reader, full, and --json results', async (t) => {
  const dir = scratchDir('cli-output');
  try {
    const layer = gzip(makeTar([{ name: 'f', content: 'x' }]));
    const many = join(dir, 'many');
    // 10,000 tags of one image: ~300 KB of output, far more than a pipe holds
    const one = writeLayout(many, { images: [{ layers: [layer], config: { Cmd: ['/f'] } }] }).images[0]!;
    writeIndexJson(many, Array.from({ length: 10_000 }, (_, i) => tagged(one.manifest, `a-rather-long-tag-name-${i}`)));

    await t.test('ls | head -1: one tag, no message, status 141 as SIGPIPE would give', () => {
      const r = spawnSync('bash', ['-c', `set -o pipefail; '${process.execPath}' '${BIN}' ls --layout '${many}' | head -1`], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(r.stdout, 'a-rather-long-tag-name-0\n');
      assert.equal(r.stderr, '');
      assert.equal(r.status, 141);
    });
    await t.test('> /dev/full: one ENOSPC line', { skip: existsSync('/dev/full') ? false : 'no /dev/full' }, () => {
      const r = spawnSync('bash', ['-c', `'${process.execPath}' '${BIN}' ls --layout '${many}' > /dev/full`], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(r.status, 6);
      assert.equal(r.stderr, 'ocibundle: ENOSPC: cannot write to standard output: no space left on device (write)\n');
    });

    await t.test('rm without a tag removes latest, as umoci does', () => {
      const l = join(dir, 'rmlatest');
      writeLayout(l, { images: [{ tag: 'latest', layers: [layer] }, { tag: 'keep', layers: [layer] }] });
      const r = runCli(['rm', '--image', l]);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(runCli(['ls', '--layout', l]).stdout, 'keep\n');
      assert.match(runCli(['rm', '--help']).stdout, /Without :TAG it\s+removes latest/);
    });

    const noCmd = join(dir, 'nocmd');
    writeLayout(noCmd, { images: [{ tag: 'latest', layers: [layer] }] });
    await t.test('unpack --json: the warnings are in the result, not on stderr', () => {
      const r = runCli(['unpack', '--json', '--image', noCmd, join(dir, 'b1')]);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stderr, '');
      const out = JSON.parse(r.stdout) as { warnings: { code: string; message: string }[]; layers: unknown[] };
      assert.equal(out.layers.length, 1);
      assert.deepEqual(out.warnings.map((w) => w.code), ['WNOARGS']);
    });
    await t.test('unpack without --json: the warning is a line on stderr', () => {
      const r = runCli(['unpack', '--image', noCmd, join(dir, 'b2')]);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stderr, /^ocibundle: warning: WNOARGS: .*\n$/);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('validate: one line per problem, with the tags that reach it', async () => {
  const dir = scratchDir('cli-validate');
  try {
    const shared = gzip(makeTar([{ name: 'shared', content: 'same in every image' }]));
    const tags = ['a', 'b', 'c', 'd', 'e'];
    const built = writeLayout(dir, { images: tags.map((tag, i) => ({ tag, layers: [shared, gzip(makeTar([{ name: `own${i}`, content: `${i}` }]))] })) });
    const digest = built.images[0]!.layers[0]!.digest;
    corruptBlob(dir, digest);
    const r = runCli(['validate', '--layout', dir]);
    assert.equal(r.status, 4);
    assert.equal(r.stdout, `EDIGEST: blob ${digest} does not match its digest (reached from a, b, c, d, e)\n`);
    const j = runCli(['validate', '--layout', dir, '--json']);
    const out = JSON.parse(j.stdout) as { valid: boolean; problems: Record<string, unknown>[] };
    assert.equal(out.valid, false);
    assert.deepEqual(out.problems, [{ code: 'EDIGEST', message: `blob ${digest} does not match its digest`, digest, path: `blobs/sha256/${digest.slice(7)}`, refs: tags }]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('transports ocibundle does not read are refused by name', async (t) => {
  const dir = scratchDir('cli-transports');
  try {
    const layer = gzip(makeTar([{ name: 'f', content: 'x' }]));
    const src = join(dir, 'src');
    writeLayout(src, { images: [{ tag: 'latest', layers: [layer] }] });
    const cases: [string, string[], RegExp][] = [
      ['copy to containers-storage:', ['copy', src, `containers-storage:${join(dir, 'out')}`], /cannot copy images to containers-storage: names; destinations are PATH\[:TAG\], oci:PATH\[:TAG\], dir:PATH, oci-archive:FILE\[:TAG\], docker-archive:FILE\[:REPO:TAG\] or docker:\/\/HOST\[:PORT\]\/REPO\[:TAG\]$/],
      ['copy to docker-daemon:', ['copy', src, 'docker-daemon:x:latest'], /cannot copy images to docker-daemon: names/],
      ['unpack from containers-storage:', ['unpack', '--image', 'containers-storage:foo', join(dir, 'b')], /cannot read images from containers-storage: names; sources are PATH\[:TAG\], .*docker:\/\//],
      ['stat of docker-daemon:', ['stat', '--image', 'docker-daemon:busybox:latest'], /cannot read images from docker-daemon: names/],
      ['copy from sif:', ['copy', `sif:${src}`, join(dir, 'out2')], /cannot read images from sif: names/],
    ];
    for (const [name, args, re] of cases) {
      await t.test(name, () => {
        const r = runCli(args);
        assert.equal(r.status, 2, r.stderr);
        const m = /^ocibundle: EUSAGE: (.*)\n$/.exec(r.stderr);
        assert.ok(m, r.stderr);
        assert.match(m[1]!, re);
        for (const made of ['dir', 'out', 'out2', 'b', 'containers-storage']) assert.ok(!existsSync(join(dir, made)), `${made} not created`);
        assert.ok(!existsSync('dir'), 'no layout named dir in the working directory');
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('registry failures in words', async (t) => {
  await t.test('https to a plain-http registry names --tls-verify=false', async () => {
    const server: Server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      const r = await runAsync(['stat', '--image', `docker://127.0.0.1:${port}/busybox:latest`]);
      assert.equal(r.status, 1, r.stderr);
      assert.equal(r.stderr, `ocibundle: ENETWORK: 127.0.0.1:${port} speaks plain http; use --tls-verify=false for a local registry\n`);
    } finally {
      server.close();
    }
  });
  await t.test('a refused connection: one line per retry, then one error line, soon', async (tt) => {
    // a port nobody listens on: bind one, note it, close it
    const probe = createNetServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const r = await runAsync(['stat', '--tls-verify=false', '--image', `docker://127.0.0.1:${port}/busybox:latest`]);
    tt.diagnostic(`refused registry failed after ${r.ms.toFixed(0)} ms`);
    assert.equal(r.status, 1, r.stderr);
    const lines = r.stderr.trimEnd().split('\n');
    const retries = lines.filter((l) => l.startsWith('ocibundle: warning: WRETRY: '));
    assert.ok(retries.length >= 1 && retries.length <= 2, r.stderr);
    for (const l of retries) assert.match(l, new RegExp(`^ocibundle: warning: WRETRY: 127\\.0\\.0\\.1:${port}: connection refused; retry 1/1 in [0-9.]+ s$`));
    const errors = lines.filter((l) => !l.startsWith('ocibundle: warning: '));
    assert.equal(errors.length, 1, r.stderr);
    assert.match(errors[0]!, new RegExp(`^ocibundle: ENETWORK: cannot reach 127\\.0\\.0\\.1:${port}: connection refused after 2 attempts`));
    assert.doesNotMatch(r.stderr, /ECONNREFUSED/);
    assert.ok(r.ms < 20_000, `took ${r.ms.toFixed(0)} ms (was 7.7 s of silent retries before)`);
  });
});

test('progress: by bytes within a layer, the bar cleared before other lines', async (t) => {
  const dir = scratchDir('cli-progress-bytes');
  try {
    // One layer of incompressible bytes: big enough for the worker and for several updates.
    const big = gzipSync(makeTar([{ name: 'big', content: randomBytes(48 * 1024 * 1024) }]), { level: 1 });
    const layout = join(dir, 'big');
    writeLayout(layout, { images: [{ tag: 'latest', layers: [big], config: { Cmd: ['/big'] } }] });

    await t.test('the library reports bytes inside the one layer, at most ~10 times a second', async (tt) => {
      const events: (UnpackProgress & { at: number })[] = [];
      await unpack({ image: layout, bundle: join(dir, 'lib'), onProgress: (p) => events.push({ ...p, at: performance.now() }) });
      const inside = events.filter((e) => e.compressedDone > 0 && e.compressedDone < e.compressedTotal);
      tt.diagnostic(`${events.length} progress events, ${inside.length} inside the layer`);
      assert.ok(events.every((e) => e.layer === 0 && e.layers === 1));
      assert.equal(events.at(-1)!.compressedDone, big.length);
      const done = events.map((e) => e.compressedDone);
      assert.deepEqual(done, [...done].sort((a, b) => a - b), 'never goes back');
      for (let i = 1; i < inside.length; i++) assert.ok(inside[i]!.at - inside[i - 1]!.at >= 95, 'at most ~10 a second');
      // A machine fast enough to unpack 48 MiB in under 100 ms has nothing to show in between.
      if (events.at(-1)!.at - events[0]!.at > 400) assert.ok(inside.length >= 1, 'progress inside the layer');
    });

    await t.test('on a terminal, a warning clears the bar first; the bar ends on its own line', { skip: hasCommand('script') ? false : 'needs script(1) for a pty' }, () => {
      const warnLayer = gzip(makeTar([{ name: 'x', content: 'y', xattrs: { 'trusted.overlay.opaque': 'y' } }]));
      const two = join(dir, 'two');
      writeLayout(two, { images: [{ tag: 'latest', layers: [big, warnLayer], config: { Cmd: ['/big'] } }] });
      const r = underPty(['raw', 'unpack', '--image', two, join(dir, 'tty')]);
      assert.equal(r.status, 0, r.out);
      assert.match(r.out, /\r\x1b\[Kocibundle: warning: /, 'the bar line is erased before the warning');
      assert.doesNotMatch(r.out, /iB ?ocibundle:/, 'no message on the bar line');
      assert.match(r.out, /\rlayer 2\/2 \[#{30}\] [0-9.]+\/[0-9.]+ MiB\r?\n$/, 'the last bar state ends with a newline');
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
