// The V8 code cache of a CLI bundle after a training run (called by scripts/bundle.mjs in a
// child process, so the CLI's process state stays there): the bundle is compiled as
// bin/ocibundle compiles it, its main() runs one set of typical command lines on a small image
// built by fixtures/ in a temp dir, and the cache then holds the functions those runs compiled,
// not only the top level. One cache per set (V8 deserializes a whole cache at every start, so
// each command family reads only its own): main's `main` (--version, ls, stat) and `unpack`,
// and the layout commands' bundle (`layout-main`: ls).
// Usage: train-cache.mjs BUNDLE SET OUT.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import vm from 'node:vm';

const root = fileURLToPath(new URL('..', import.meta.url));

/** The source bin/ocibundle hands vm.Script (the cache is only valid for this exact text). */
export function wrap(text) {
  return `(function (exports, require, module, __filename, __dirname) {${text}\n})`;
}

/** The command lines of each training set, over layout L (tag latest), unpacking into B. */
export const TRAINING_SETS = {
  main: (layout) => [['--version'], ['ls', '--layout', layout], ['stat', '--image', `${layout}:latest`]],
  unpack: (layout, bundleDir) => [['unpack', '--image', `${layout}:latest`, bundleDir]],
  'layout-main': (layout) => [['ls', '--layout', layout]],
};

/** A one-layer image like the small ones users unpack: dirs, files, a symlink, a hardlink, passwd/group. */
async function writeTrainingImage(layout) {
  const { writeLayout, makeTar, gzip } = await import(pathToFileURL(join(root, 'dist/fixtures/layout.js')).href);
  const layer = gzip(
    await makeTar([
      { name: 'bin/', type: 'directory' },
      { name: 'bin/tool', data: 'tool\n', mode: 0o755 },
      { name: 'bin/sh', type: 'symlink', linkname: 'tool' },
      { name: 'bin/ls', type: 'link', linkname: 'bin/tool' },
      { name: 'etc/', type: 'directory' },
      { name: 'etc/passwd', data: 'root:x:0:0:root:/root:/bin/sh\n' },
      { name: 'etc/group', data: 'root:x:0:\n' },
      { name: 'tmp/', type: 'directory', mode: 0o1777 },
    ]),
  );
  writeLayout(layout, { images: [{ tag: 'latest', layers: [layer], config: { config: { Env: ['PATH=/bin'], Cmd: ['sh'] } } }] });
}

/** Compiles and runs the bundle at `file`, runs the lines of training set `set`, and writes the cache to `out`. */
async function train(file, set, out) {
  const lines = TRAINING_SETS[set];
  if (lines === undefined) throw new Error(`no training set ${set}`);
  const text = readFileSync(file, 'utf8');
  const id = text.slice(0, text.indexOf('\n')).split(' ')[4];
  const script = new vm.Script(wrap(text), { filename: file });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(file), module, file, dirname(file));
  const dir = mkdtempSync(join(tmpdir(), 'ocibundle-train-'));
  try {
    await writeTrainingImage(join(dir, 'layout'));
    for (const line of lines(join(dir, 'layout'), join(dir, 'bundle'))) {
      const status = await module.exports.main(line);
      if (status !== 0) throw new Error(`training run \`${line.join(' ')}\` exited ${status}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  writeFileSync(out, Buffer.concat([Buffer.from(`${id}\n`), script.createCachedData()]));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [bundle, set, output] = process.argv.slice(2);
  try {
    await train(resolve(bundle), set, resolve(output));
  } catch (e) {
    // one line for scripts/bundle.mjs's note
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  }
}
