// Build step (after tsc and gen-validators): bundles the compiled CLI into single files under
// dist/cli/ with esbuild, so a CLI run loads one module instead of dozens (Node 20 reads each
// ES module through the thread pool). bin/ocibundle runs dist/cli/main.cjs; the layout commands
// (layout-main, 7% of main's size), the warm overlay path and the two worker threads get
// bundles of their own. yargs (help and errors only) and
// ajv (the fallback when the compiled validators are missing) stay external, required from
// node_modules when used; the compiled validators and ajv's runtime helpers they use are
// inlined. The code caches of the CLI's bundle are trained (scripts/train-cache.mjs). The
// library entry dist/src/index.js is not touched.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import vm from 'node:vm';
import { wrap } from './train-cache.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));

/** The compiled module of each bundle (dist/cli/NAME.js). */
export const ENTRIES = {
  main: 'dist/src/cli/main.js',
  'layout-main': 'dist/src/cli/layout-main.js',
  'overlay-warm': 'dist/src/cli/overlay-warm.js',
  'pipeline-worker': 'dist/src/pipeline/worker.js',
  'store-worker': 'dist/src/store/worker.js',
};

/** The bundles bin/ocibundle runs (the workers are started by file name, without a cache). */
export const CACHED = ['main', 'layout-main', 'overlay-warm'];

/**
 * The caches of each cached bundle: NAME.cjs.cache, and NAME.cjs.SET.cache for a further set;
 * trained by the set of scripts/train-cache.mjs of that name, or (null) the top level only.
 * bin/ocibundle picks main's `unpack` cache for `unpack` and `raw unpack`, the other for the rest.
 */
export const CACHE_SETS = { main: ['main', 'unpack'], 'layout-main': ['layout-main'], 'overlay-warm': [null] };

/** The file of one cache of a bundle (`dist/cli/main.cjs` + `unpack` -> `dist/cli/main.cjs.unpack.cache`). */
export function cacheFile(file, name, set) {
  return set === null || set === name ? `${file}.cache` : `${file}.${set}.cache`;
}

/**
 * The compiled validators (scripts/gen-validators.mjs) inside the bundle: dist/src/compiled-validators.js,
 * which requires them from disk by path, is replaced by a module with its two getters that
 * requires both files by name, so esbuild inlines them (evaluated at first use) and the code
 * cache covers them. Its other exports are for tests of the unbundled module.
 */
const inlineValidators = {
  name: 'inline-validators',
  setup(build) {
    // their runtime helpers (ajv/dist/runtime/*, a few lines each) too: no node_modules lookup at run time
    build.onResolve({ filter: /^ajv\/dist\/runtime\/[a-z0-9]+$/ }, (args) => ({ path: createRequire(join(root, 'package.json')).resolve(args.path) }));
    build.onLoad({ filter: /[\\/]dist[\\/]src[\\/]compiled-validators\.js$/ }, async (args) => {
      // the files where the module itself says they are (its COMPILED_VALIDATORS)
      const { COMPILED_VALIDATORS: at } = await import(pathToFileURL(args.path).href);
      return {
        contents: [
          // one function per set: a bundle that uses one set only (layout-main) leaves the other out
          `export function imageValidators() { return require(${JSON.stringify(`./${at.image}`)}); }`,
          `export function specValidators() { return require(${JSON.stringify(`./${at.spec}`)}); }`,
        ].join('\n'),
        resolveDir: join(root, 'dist/src'),
        loader: 'js',
      };
    });
  },
};

/** esbuild's options (the files are written by `bundles`, not by esbuild). */
export function bundleOptions() {
  return {
    absWorkingDir: root,
    entryPoints: ENTRIES,
    outdir: 'dist/cli',
    bundle: true,
    platform: 'node',
    format: 'cjs',
    outExtension: { '.js': '.cjs' },
    target: 'node20.19',
    external: ['yargs', 'ajv'],
    plugins: [inlineValidators],
    define: { OCIBUNDLE_BUNDLED: 'true', 'import.meta.url': 'import_meta_url' },
    // error and class names stay what the compiled modules say
    keepNames: true,
    // half the bytes to read and hold as a string at each start (the generated validators are dense)
    minifyWhitespace: true,
    legalComments: 'none',
    logLevel: 'warning',
    banner: { js: `var import_meta_url = require('node:url').pathToFileURL(__filename).href;` },
    write: false,
  };
}

/**
 * The bundles as bin/ocibundle reads them: path (from the root) -> text. Line 1 names the
 * version and a build id, the sha256 of the rest, which the code cache must repeat.
 * test/integration/cli-bundle rebuilds them in memory to prove dist/cli is current.
 */
export async function bundles() {
  const esbuild = await import('esbuild');
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const result = await esbuild.build(bundleOptions());
  const out = new Map();
  for (const f of result.outputFiles) {
    // bin/ocibundle runs a bundle as a vm.Script, where import() needs an experimental flag
    if (/\bimport\(/.test(f.text)) throw new Error(`${f.path}: dynamic import() of an external module (require it instead)`);
    // bin/ocibundle reads a bundle as latin1 (esbuild's default charset escapes all else)
    if (/[^\x00-\x7f]/.test(f.text)) throw new Error(`${f.path}: a non-ASCII character in the bundle`);
    const id = createHash('sha256').update(f.text).digest('hex');
    out.set(f.path.slice(root.length).replace(/^\//, ''), `// ocibundle ${version} build ${id} (scripts/bundle.mjs from dist/src; do not edit)\n${f.text}`);
  }
  return out;
}

/** The V8 code cache of a bundle as bin/ocibundle compiles it (same wrapper, same file name), before it runs. */
export function codeCache(file, text) {
  return new vm.Script(wrap(text), { filename: file }).createCachedData();
}

/**
 * Writes each cache of bundle `name` (the build id, a newline, V8's data): trained sets in a
 * child process; when training fails (no dist/fixtures, a refusing file system) the untrained
 * cache is written with a note on stderr, which bin/ocibundle accepts the same way.
 */
export function writeCache(name, file, text) {
  const id = text.slice(0, text.indexOf('\n')).split(' ')[4];
  for (const set of CACHE_SETS[name] ?? [null]) {
    const out = cacheFile(file, name, set);
    const tmp = `${out}.tmp`;
    if (set !== null) {
      const r = spawnSync(process.execPath, [join(root, 'scripts/train-cache.mjs'), file, set, tmp], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
      if (r.status === 0) {
        renameSync(tmp, out);
        continue;
      }
      process.stderr.write(`bundle: ${name}: training the ${set} code cache failed, writing the untrained one: ${(r.stderr || r.error?.message || `exit ${r.status}`).trim()}\n`);
    }
    writeFileSync(tmp, Buffer.concat([Buffer.from(`${id}\n`), codeCache(file, text)]));
    renameSync(tmp, out);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const [rel, text] of await bundles()) {
    const file = join(root, rel);
    mkdirSync(join(file, '..'), { recursive: true });
    // by rename, so a CLI starting meanwhile reads a whole old or new file
    writeFileSync(`${file}.tmp`, text);
    renameSync(`${file}.tmp`, file);
    const name = CACHED.find((n) => rel === `dist/cli/${n}.cjs`);
    if (name !== undefined) writeCache(name, file, text);
  }
}
