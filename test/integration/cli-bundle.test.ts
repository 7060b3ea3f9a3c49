// The bundled CLI (dist/cli, scripts/bundle.mjs) is the real CLI and current: its files equal a
// fresh bundle of today's dist/src, bin/ocibundle runs it with its code cache, it answers a
// table of command lines exactly as the compiled modules do (OCIBUNDLE_UNBUNDLED=1), and from
// a package holding only the launcher, the bundles (the compiled validators and ajv's runtime
// helpers inlined) and the addon it still finds its worker threads (pipeline and store), the addon
// and the validators. The main bundle's two caches are trained (scripts/train-cache.mjs), with a
// fallback to untrained caches when training fails; `unpack` uses the one trained on unpacks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { makeTar } from '../../fixtures/tar.js';
import { gzip, writeLayout } from '../../fixtures/layout.js';
import { BIN, runCli, scratchDir } from '../helpers/cli.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

interface BundleScript {
  bundles(): Promise<Map<string, string>>;
  CACHED: string[];
  CACHE_SETS: Record<string, (string | null)[]>;
  cacheFile(file: string, name: string, set: string | null): string;
  codeCache(file: string, text: string): Buffer;
  writeCache(name: string, file: string, text: string): void;
}

const bundleScript = async (): Promise<BundleScript> => (await import(pathToFileURL(join(ROOT, 'scripts/bundle.mjs')).href)) as BundleScript;

test('dist/cli is what scripts/bundle.mjs makes of dist/src now, with matching code caches', async (t) => {
  const script = await bundleScript();
  const fresh = await script.bundles();
  assert.deepEqual([...fresh.keys()].sort(), ['dist/cli/layout-main.cjs', 'dist/cli/main.cjs', 'dist/cli/overlay-warm.cjs', 'dist/cli/pipeline-worker.cjs', 'dist/cli/store-worker.cjs']);
  for (const [rel, text] of fresh) {
    await t.test(rel, () => {
      const onDisk = readFileSync(join(ROOT, rel), 'utf8');
      assert.ok(onDisk === text, `${rel} is stale: run npm run build:ts`);
      const id = /^\/\/ ocibundle \S+ build ([0-9a-f]{64}) /.exec(text)?.[1];
      assert.ok(id !== undefined, 'line 1 carries the build id');
      const name = script.CACHED.find((n) => rel === `dist/cli/${n}.cjs`);
      for (const set of name === undefined ? [] : script.CACHE_SETS[name]!) {
        const cache = script.cacheFile(join(ROOT, rel), name!, set);
        assert.equal(readFileSync(cache).toString('latin1', 0, 65), `${id}\n`, `${cache} names the same build`);
      }
    });
  }
});

test('the main code caches are trained, one per command family, and fall back when training fails', async (t) => {
  const script = await bundleScript();
  assert.deepEqual(script.CACHE_SETS['main'], ['main', 'unpack']);
  const file = join(ROOT, 'dist/cli/main.cjs');
  const text = readFileSync(file, 'utf8');
  const untrained = script.codeCache(file, text).length;
  for (const set of ['main', 'unpack']) {
    const size = readFileSync(script.cacheFile(file, 'main', set)).length - 65;
    // printed for the record: a trained cache holds the functions its commands compiled besides the top level
    t.diagnostic(`main.cjs ${set} cache: ${size} bytes trained, ${untrained} bytes of top level only`);
    assert.ok(size > 1.5 * untrained, `${set}: trained cache ${size} bytes vs ${untrained} untrained`);
  }
  const dir = scratchDir('cli-bundle-train');
  try {
    // V8's verdict on a cache for a file, compiled the way bin/ocibundle compiles it
    const checker = join(dir, 'check.cjs');
    writeFileSync(checker, `const vm = require('node:vm'); const fs = require('node:fs'); const [f, c] = process.argv.slice(2);
const s = new vm.Script('(function (exports, require, module, __filename, __dirname) {' + fs.readFileSync(f, 'utf8') + '\\n})', { filename: f, cachedData: fs.readFileSync(c).subarray(65) });
process.stdout.write(s.cachedDataRejected ? 'rejected' : 'accepted');\n`);
    const cases: { name: string; body: string; notes: RegExp[] }[] = [
      { name: 'a bundle whose main() succeeds: both caches trained, no note', body: 'exports.main = async () => 0;', notes: [] },
      {
        name: 'a bundle whose main() fails: untrained caches, a note for each',
        body: 'exports.main = async () => 3;',
        notes: [/^bundle: main: training the main code cache failed, writing the untrained one: training run `--version` exited 3$/m, /^bundle: main: training the unpack code cache failed, writing the untrained one: training run `unpack .*` exited 3$/m],
      },
    ];
    for (const [i, c] of cases.entries()) {
      await t.test(c.name, () => {
        const f = join(dir, `b${i}.cjs`);
        const id = String(i).repeat(64);
        const body = `// ocibundle 0.0.0 build ${id} (test)\n${c.body}\n`;
        writeFileSync(f, body);
        // in a child: writeCache reports on this process's stderr
        const r = spawnSync(process.execPath, ['--input-type=module', '-e', `const s = await import(${JSON.stringify(pathToFileURL(join(ROOT, 'scripts/bundle.mjs')).href)}); s.writeCache('main', ${JSON.stringify(f)}, ${JSON.stringify(body)});`], { encoding: 'utf8' });
        assert.equal(r.status, 0, r.stderr);
        assert.equal(r.stderr.split('\n').filter(Boolean).length, c.notes.length, r.stderr);
        for (const n of c.notes) assert.match(r.stderr, n);
        for (const set of ['main', 'unpack']) {
          const cache = script.cacheFile(f, 'main', set);
          assert.equal(readFileSync(cache).toString('latin1', 0, 65), `${id}\n`);
          // either cache is one V8 accepts for this source
          const v = spawnSync(process.execPath, [checker, f, cache], { encoding: 'utf8' });
          assert.equal(v.stdout, 'accepted', v.stderr);
        }
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bin/ocibundle runs the bundle with the code cache of the command family', async (t) => {
  const dir = scratchDir('cli-bundle-cache');
  try {
    const layout = join(dir, 'layout');
    writeLayout(layout, { images: [{ tag: 'latest', layers: [gzip(makeTar([{ name: 'etc/', type: 'dir' }, { name: 'etc/passwd', content: 'root:x:0:0::/root:/bin/sh\n' }]))], config: { config: { Cmd: ['/bin/sh'] } } }] });
    const version = `${(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version}\n`;
    const rootless = process.getuid?.() === 0 ? [] : ['--rootless'];
    const cases: [string, string[], string | null, string | null][] = [
      ['--version: answered by the launcher, no bundle loaded', ['--version'], null, version],
      ['-v: the same', ['-v'], null, version],
      ['ls: the layout commands\' bundle', ['ls', '--layout', layout], 'layout-main', 'latest\n'],
      ['list (alias)', ['list', '--layout', layout], 'layout-main', 'latest\n'],
      ['stat: the full CLI (validators)', ['stat', '--json', '--image', layout], 'main', null],
      ['unpack', ['unpack', ...rootless, '--image', layout, join(dir, 'b1')], 'main.unpack', ''],
      ['raw unpack', ['raw', 'unpack', ...rootless, '--image', layout, join(dir, 'b2')], 'main.unpack', ''],
      ['ls --help: the layout bundle hands the line to the full CLI (yargs)', ['ls', '--help'], 'layout-main: used\ncode cache main', null],
    ];
    for (const [name, args, cache, stdout] of cases) {
      await t.test(name, () => {
        const r = runCli(args, { env: { ...process.env, OCIBUNDLE_TEST_CODE_CACHE: '1' } });
        assert.equal(r.status, 0, r.stderr);
        assert.equal(r.stderr, cache === null ? '' : `code cache ${cache}: used\n`);
        if (stdout !== null) assert.equal(r.stdout, stdout);
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--version from the launcher: the version, and the CLI\'s own report when stdout fails', async (t) => {
  const version = `${(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version}\n`;
  const sh = (line: string) => spawnSync('bash', ['-c', line], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, OCIBUNDLE_TEST_CODE_CACHE: '1' } });
  const node = `'${process.execPath}' '${BIN}'`;
  const cases: { name: string; line: string; status: number; stdout: string; stderr: string; skip?: string | false }[] = [
    { name: '--version to a pipe', line: `${node} --version | cat`, status: 0, stdout: version, stderr: '' },
    { name: '-v run as a program', line: `'${BIN}' -v`, status: 0, stdout: version, stderr: '' },
    { name: '--version --json: not alone, the CLI answers', line: `${node} --version --json`, status: 0, stdout: version, stderr: 'code cache main: used\n' },
    // reading end gone before node writes: EPIPE, then the CLI's quiet 141
    { name: 'a closed pipe: 141 from the CLI, no message', line: `set -o pipefail; ${node} --version | (exec 0<&-; exit 0)`, status: 141, stdout: '', stderr: 'code cache main: used\n' },
    { name: '> /dev/full: the CLI\'s one ENOSPC line', line: `${node} --version > /dev/full`, status: 6, stdout: '', stderr: 'code cache main: used\nocibundle: ENOSPC: cannot write to standard output: no space left on device (write)\n', skip: existsSync('/dev/full') ? false : 'no /dev/full' },
  ];
  for (const c of cases) {
    await t.test(c.name, { skip: c.skip ?? false }, () => {
      const r = sh(c.line);
      assert.equal(r.status, c.status, r.stderr);
      assert.equal(r.stdout, c.stdout);
      assert.equal(r.stderr, c.stderr);
    });
  }
});

/** This process's environment without OCIBUNDLE_UNBUNDLED: the launcher picks the bundle. */
const BUNDLED_ENV: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'OCIBUNDLE_UNBUNDLED'));
const UNBUNDLED_ENV: NodeJS.ProcessEnv = { ...BUNDLED_ENV, OCIBUNDLE_UNBUNDLED: '1' };

function both(args: string[], cwd: string): [ReturnType<typeof spawnSync>, ReturnType<typeof spawnSync>] {
  const run = (env: NodeJS.ProcessEnv) => spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', timeout: 60_000, env });
  return [run(BUNDLED_ENV), run(UNBUNDLED_ENV)];
}

/** Metadata text without the clock: when umoci.json's mtree was written, the mtree's date and its root's time (made now). */
function unclocked(text: string): string {
  return text
    .replace(/"ocibundle_mtree_ctime_ns":"\d+"/, '"ocibundle_mtree_ctime_ns":"N"')
    .replace(/^(#\s+date:).*$/m, '$1 D')
    .replace(/^(\. .*tar_time=)\S+/m, '$1T');
}

/** A bundle's tree: path, type, mode and size of every entry, and the text of its metadata files. */
function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const n of readdirSync(join(dir, rel)).sort()) {
      const p = rel === '' ? n : `${rel}/${n}`;
      const st = statSync(join(dir, p), { throwIfNoEntry: false }) ?? null;
      const lst = st === null ? 'dangling' : `${st.mode.toString(8)} ${st.isDirectory() ? '-' : st.size}`;
      out.push(`${p} ${lst}`);
      if (st?.isDirectory()) walk(p);
      else if (rel === '' && st?.isFile()) out.push(unclocked(readFileSync(join(dir, p), 'utf8')));
    }
  };
  walk('');
  return out;
}

test('the bundled and the compiled CLI give the same output', async (t) => {
  const dir = scratchDir('cli-bundle');
  try {
    const layout = join(dir, 'layout');
    writeLayout(layout, {
      images: [
        { tag: 'latest', layers: [gzip(makeTar([{ name: 'etc/', type: 'dir' }, { name: 'etc/passwd', content: 'root:x:0:0::/root:/bin/sh\n' }, { name: 'hello', content: 'hi\n' }]))], config: { config: { Cmd: ['/hello'], Env: ['A=1'] } } },
        { tag: 'v2', layers: [], config: { author: 'me' } },
      ],
    });
    const cases: [string, string[]][] = [
      ['--version', ['--version']],
      ['-v', ['-v']],
      ['no command', []],
      ['--help', ['--help']],
      ['help unpack', ['help', 'unpack']],
      ['ls --help', ['ls', '--help']],
      ['raw --help', ['raw', '--help']],
      ['store --help', ['store', '--help']],
      ['unknown command', ['nope']],
      ['missing option', ['ls']],
      ['unknown option', ['ls', '--layout', layout, '--bogus']],
      ['ls', ['ls', '--layout', layout]],
      ['ls --json', ['ls', '--layout', layout, '--json']],
      ['ls of no layout', ['ls', '--layout', join(dir, 'none')]],
      ['stat', ['stat', '--image', `${layout}:latest`]],
      ['stat --json', ['stat', '--image', `${layout}:v2`, '--json']],
      ['validate', ['validate', '--layout', layout]],
      ['raw runtime-config to stdout', ['raw', 'runtime-config', '--image', layout, '-']],
      ['unpack of a missing tag', ['unpack', '--image', `${layout}:gone`, join(dir, 'b')]],
      ['copy to a bad transport', ['copy', layout, 'ostree:x']],
    ];
    for (const [name, args] of cases) {
      await t.test(name, () => {
        const [b, u] = both(args, dir);
        assert.deepEqual({ status: b.status, stdout: b.stdout, stderr: b.stderr }, { status: u.status, stdout: u.stdout, stderr: u.stderr });
      });
    }
    await t.test('unpack: same exit, messages and bundle', () => {
      const bundle = join(dir, 'bundle');
      const [b, u] = [false, true].map((unbundled) => {
        rmSync(bundle, { recursive: true, force: true });
        const r = spawnSync(process.execPath, [BIN, 'unpack', '--rootless', '--image', layout, bundle], { encoding: 'utf8', timeout: 60_000, env: unbundled ? UNBUNDLED_ENV : BUNDLED_ENV });
        return { status: r.status, stdout: r.stdout, stderr: r.stderr, tree: r.status === 0 ? tree(bundle) : [] };
      });
      assert.equal(b!.status, 0, b!.stderr);
      assert.deepEqual(b, u);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('from a package of only the launcher, the bundles, the validators and the addon, workers and all', async (t) => {
  const dir = scratchDir('cli-bundle-pkg');
  try {
    const pkg = join(dir, 'pkg');
    // the compiled validators and the ajv runtime helpers they use are inside the bundle: nothing of node_modules
    const files = ['package.json', 'bin', 'dist/cli', 'native/build/Release/ocibundle_native.node'];
    for (const f of files) {
      mkdirSync(join(pkg, f, '..'), { recursive: true });
      cpSync(join(ROOT, f), join(pkg, f), { recursive: true });
    }
    // over the worker threshold (4 MiB of random data does not compress): the layer worker and the store's extraction worker run
    const big = randomBytes(5 * 1024 * 1024);
    const layout = join(dir, 'layout');
    writeLayout(layout, { images: [{ tag: 'latest', layers: [gzip(makeTar([{ name: 'big', content: big }, { name: 'etc/', type: 'dir' }, { name: 'etc/passwd', content: 'root:x:0:0::/root:/bin/sh\n' }]))], config: { config: { Cmd: ['/big'] } } }] });
    const cli = (args: string[], env: NodeJS.ProcessEnv = {}) => spawnSync(process.execPath, [join(pkg, 'bin/ocibundle'), ...args], { encoding: 'utf8', timeout: 120_000, env: { ...BUNDLED_ENV, ...env } });
    await t.test('unpack (layer worker, addon, image and runtime-config validators)', () => {
      const r = cli(['unpack', '--rootless', '--image', layout, join(dir, 'b1')], { OCIBUNDLE_TEST_CODE_CACHE: '1' });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stderr, 'code cache main.unpack: used\n');
      assert.ok(readFileSync(join(dir, 'b1/rootfs/big')).equals(big));
      assert.equal((JSON.parse(readFileSync(join(dir, 'b1/config.json'), 'utf8')) as { root: { path: string } }).root.path, 'rootfs');
    });
    await t.test('unpack --store (the store worker; a plain command line: no yargs)', () => {
      const r = cli(['unpack', '--rootless', `--store=${join(dir, 'store')}`, '--image', layout, join(dir, 'r1')]);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stderr, '');
      assert.ok(readFileSync(join(dir, 'r1/rootfs/big')).equals(big));
    });
    await t.test('a stale code cache is refused and the bundle compiled from source', () => {
      const cache = join(pkg, 'dist/cli/main.cjs.cache');
      const bytes = readFileSync(cache);
      writeFileSync(cache, Buffer.concat([Buffer.from(`${'0'.repeat(64)}\n`), bytes.subarray(65)]));
      const r = cli(['stat', '--image', layout], { OCIBUNDLE_TEST_CODE_CACHE: '1' });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stderr, 'code cache main: none\n');
      writeFileSync(cache, Buffer.concat([bytes.subarray(0, 65), Buffer.from('not a v8 code cache')]));
      const r2 = cli(['stat', '--image', layout], { OCIBUNDLE_TEST_CODE_CACHE: '1' });
      assert.equal(r2.status, 0, r2.stderr);
      assert.equal(r2.stderr, 'code cache main: rejected\n');
    });
    await t.test('without the layer worker bundle, a big layer fails (it is the file the worker runs)', () => {
      rmSync(join(pkg, 'dist/cli/pipeline-worker.cjs'));
      const r = cli(['unpack', '--rootless', '--image', layout, join(dir, 'b2')]);
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /pipeline-worker\.cjs/);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
