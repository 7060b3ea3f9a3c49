// The build commands (new, config, insert, raw add-layer, repack) under kills and signals: a
// SIGKILL at each named step before the tag moves leaves the old tag and a valid layout, and
// the next run plus gc repair everything; SIGINT while a layer is written ends with one
// EINTERRUPTED line (exit 130), the old tag, and no temp or pin file left behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { gzip, makeTar } from '../../fixtures/tar.js';
import { writeLayout } from '../../fixtures/layout.js';
import { BIN, isRoot, runCli, scratchDir } from '../helpers/cli.js';

const dir = scratchDir('build-interrupt');
test.after(() => rmSync(dir, { recursive: true, force: true }));

const base = join(dir, 'base');
writeLayout(base, { images: [{ tag: 'latest', layers: [gzip(makeTar([{ name: 'etc/hello', content: 'hi\n' }]))] }] });
const rootless = isRoot() ? [] : ['--rootless'];
let n = 0;

/** A fresh copy of the base layout, and a bundle unpacked from it (for repack). */
function world(): { layout: string; bundle: string; scratch: string } {
  const scratch = join(dir, `w${n++}`);
  const layout = join(scratch, 'layout');
  cpSync(base, layout, { recursive: true });
  const bundle = join(scratch, 'bundle');
  const r = runCli(['unpack', ...rootless, '--image', `${layout}:latest`, bundle]);
  assert.equal(r.status, 0, r.stderr);
  return { layout, bundle, scratch };
}

function tagDigest(layout: string, tag: string): string | undefined {
  const idx = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests: { digest: string; annotations?: Record<string, string> }[] };
  return idx.manifests.find((d) => d.annotations?.['org.opencontainers.image.ref.name'] === tag)?.digest;
}

/** Every temp or pin name this project makes, anywhere in the layout. */
function leftovers(layout: string): string[] {
  return (readdirSync(layout, { recursive: true }) as string[]).filter((p) => /(^|\/)\.ocibundle-/.test(p));
}

function valid(layout: string): void {
  const r = runCli(['validate', '--layout', layout]);
  assert.equal(r.status, 0, `validate: ${r.stdout}${r.stderr}`);
}

type Command = (w: { layout: string; bundle: string; scratch: string }) => { args: string[]; tag: string };

const commands: Record<string, Command> = {
  new: (w) => ({ args: ['new', '--image', `${w.layout}:fresh`], tag: 'fresh' }),
  config: (w) => ({ args: ['config', '--image', `${w.layout}:latest`, '--config.env', 'A=1'], tag: 'latest' }),
  insert: (w) => {
    writeFileSync(join(w.scratch, 'file'), 'inserted\n');
    return { args: ['insert', ...rootless, '--image', `${w.layout}:latest`, join(w.scratch, 'file'), '/opt/file'], tag: 'latest' };
  },
  'raw add-layer': (w) => {
    writeFileSync(join(w.scratch, 'layer.tar'), makeTar([{ name: 'opt/added', content: 'added\n' }]));
    return { args: ['raw', 'add-layer', '--image', `${w.layout}:latest`, join(w.scratch, 'layer.tar')], tag: 'latest' };
  },
  repack: (w) => {
    writeFileSync(join(w.bundle, 'rootfs/etc/changed'), 'changed\n');
    return { args: ['repack', '--image', `${w.layout}:latest`, w.bundle], tag: 'latest' };
  },
};

test('SIGKILL at each step before the tag moves: old tag, valid layout; a rerun and gc repair it', async (t) => {
  const cases: [string, string][] = [
    ['new', 'blobs-written'],
    ['config', 'blobs-written'],
    ['insert', 'layer-started'],
    ['insert', 'layer-written'],
    ['insert', 'blobs-written'],
    ['raw add-layer', 'layer-written'],
    ['raw add-layer', 'blobs-written'],
    ['repack', 'layer-started'],
    ['repack', 'layer-written'],
    ['repack', 'blobs-written'],
  ];
  for (const [cmd, step] of cases) {
    await t.test(`${cmd}, killed at ${step}`, () => {
      const w = world();
      const { args, tag } = commands[cmd]!(w);
      const before = tagDigest(w.layout, tag);
      const killed = runCli(args, { env: { ...process.env, OCIBUNDLE_TEST_CRASH_AT: step } });
      assert.equal(killed.signal, 'SIGKILL', `the kill point ${step} was reached: ${killed.stderr}`);
      assert.equal(tagDigest(w.layout, tag), before, 'the tag did not move');
      valid(w.layout);
      const again = runCli(args);
      assert.equal(again.status, 0, again.stderr);
      assert.notEqual(tagDigest(w.layout, tag), before, 'the rerun moved the tag');
      const gc = runCli(['gc', '--layout', w.layout]);
      assert.equal(gc.status, 0, gc.stderr);
      assert.deepEqual(leftovers(w.layout), [], 'gc cleared the killed run');
      valid(w.layout);
    });
  }
});

/** Runs the CLI, sends `sig` once the trace shows `step`, and resolves with how it ended. */
function interruptAt(args: string[], step: string, sig: NodeJS.Signals, trace: string): Promise<{ code: number | null; stderr: string; sent: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, OCIBUNDLE_TEST_TRACE: trace }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let sent = false;
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const poll = setInterval(() => {
      if (!sent && existsSync(trace) && readFileSync(trace, 'utf8').includes(`${step} `)) {
        sent = true;
        child.kill(sig);
      }
    }, 5);
    child.on('error', reject);
    child.on('close', (code) => {
      clearInterval(poll);
      resolve({ code, stderr, sent });
    });
  });
}

test('SIGINT/SIGTERM while the layer is written: EINTERRUPTED (130), old tag, nothing left behind', async (t) => {
  const big = randomBytes(64 << 20); // incompressible: gzip takes long enough to be interrupted
  const cases: [string, NodeJS.Signals, Command][] = [
    ['insert, SIGINT', 'SIGINT', (w) => {
      writeFileSync(join(w.scratch, 'big'), big);
      return { args: ['insert', ...rootless, '--image', `${w.layout}:latest`, join(w.scratch, 'big'), '/opt/big'], tag: 'latest' };
    }],
    ['raw add-layer, SIGTERM', 'SIGTERM', (w) => {
      writeFileSync(join(w.scratch, 'layer.tar'), makeTar([{ name: 'opt/big', content: big }]));
      return { args: ['raw', 'add-layer', '--image', `${w.layout}:latest`, join(w.scratch, 'layer.tar')], tag: 'latest' };
    }],
    ['repack, SIGINT', 'SIGINT', (w) => {
      writeFileSync(join(w.bundle, 'rootfs/opt-big'), big);
      return { args: ['repack', '--image', `${w.layout}:latest`, w.bundle], tag: 'latest' };
    }],
  ];
  for (const [name, sig, make] of cases) {
    await t.test(name, async () => {
      const w = world();
      const { args, tag } = make(w);
      const before = tagDigest(w.layout, tag);
      const blobsBefore = readdirSync(join(w.layout, 'blobs/sha256')).sort();
      const r = await interruptAt(args, 'layer-started', sig, join(w.scratch, 'trace'));
      assert.ok(r.sent, 'the signal was sent while the layer was written');
      assert.equal(r.code, 130, r.stderr);
      assert.match(r.stderr, /^ocibundle: EINTERRUPTED: interrupted; the tag was not moved/);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.equal(tagDigest(w.layout, tag), before);
      assert.deepEqual(leftovers(w.layout), [], 'no temp or pin file left');
      assert.deepEqual(readdirSync(join(w.layout, 'blobs/sha256')).sort(), blobsBefore, 'no new blob');
      valid(w.layout);
    });
  }
});
