// Every error path of the CLI that a test can reach, as one table: each must print exactly
// one line on stderr, `ocibundle: CODE: message`, with a code the README's exit table lists
// at the status the process exits with, no second code in the message, no temporary name,
// the user's path where one is involved, and (with --json) one JSON object instead.
// Permission, read-only and disk-full cases run as root (CI) through setpriv and tmpfs mounts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { getSystemErrorMap } from 'node:util';
import { ERROR_CODES, type ErrorCode } from '../../src/errors.js';
import { corruptBlob, writeLayout } from '../../fixtures/layout.js';
import { gzip, makeTar } from '../../fixtures/tar.js';
import { BIN, hasCommand, isRoot, scratchDir } from '../helpers/cli.js';

const README = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');

/** The README's exit table: code -> documented status. */
function documentedCodes(): Map<string, number> {
  const out = new Map<string, number>();
  const section = README.slice(README.indexOf('## Exit status'));
  for (const row of section.split('\n').filter((l) => /^\| \d+ \|/.test(l))) {
    const status = Number(/^\| (\d+) \|/.exec(row)![1]);
    for (const m of row.matchAll(/`(E[A-Z]+)`/g)) out.set(m[1]!, status);
  }
  return out;
}

/** Every word that is an error code of ours or an errno name. */
const CODE_WORDS = new Set([...Object.keys(ERROR_CODES), ...[...getSystemErrorMap().values()].map(([name]) => name)]);

interface Fx {
  dir: string;
  good: string;
  corrupt: string;
  hostile: string;
  ro: string | null;
  full: string | null;
}

interface Case {
  name: string;
  args: (f: Fx) => string[];
  code: ErrorCode;
  /** Paths (as given) the message must name. */
  names?: (f: Fx) => string[];
  match?: RegExp;
  /** Run as an unprivileged user (root only). */
  nobody?: boolean;
  /** Needs the read-only or the full tmpfs (root only). */
  needs?: 'ro' | 'full';
  setup?: (f: Fx) => void;
}

const nonRoot = isRoot() && hasCommand('setpriv') ? false : 'needs root and setpriv to run as an unprivileged user';
const noMount = isRoot() ? false : 'needs root to mount a tmpfs';

let n = 0;
const fresh = (f: Fx) => join(f.dir, `t${++n}`);

const CASES: Case[] = [
  // usage
  { name: 'no command', args: () => [], code: 'EUSAGE', match: /name a command.*commands: unpack/ },
  { name: 'unknown command', args: () => ['lss'], code: 'EUSAGE', match: /unknown command lss; did you mean ls\?/ },
  { name: 'unknown top-level option', args: () => ['--frob'], code: 'EUSAGE', match: /unknown option --frob/ },
  { name: 'unknown option of a command', args: (f) => ['ls', '--layout', f.good, '--frob'], code: 'EUSAGE', match: /unknown option --frob; usage: ocibundle ls/ },
  { name: 'unpack without --image', args: () => ['unpack', 'b'], code: 'EUSAGE', match: /missing --image; usage: ocibundle unpack --image IMAGE/ },
  { name: 'unpack without BUNDLE', args: (f) => ['unpack', '--image', f.good], code: 'EUSAGE', match: /missing BUNDLE; usage: ocibundle unpack/ },
  { name: 'raw alone', args: () => ['raw'], code: 'EUSAGE', match: /name a raw command: unpack, runtime-config or add-layer/ },
  { name: 'raw unpack without ROOTFS', args: (f) => ['raw', 'unpack', '--image', f.good], code: 'EUSAGE', match: /missing ROOTFS/ },
  { name: 'bad --max-size', args: (f) => ['unpack', '--image', f.good, '--max-size', 'lots', fresh(f)], code: 'EUSAGE', match: /invalid size "lots"/ },
  { name: 'bad --uid-map', args: (f) => ['unpack', '--image', f.good, '--uid-map', 'x', fresh(f)], code: 'EUSAGE' },
  { name: 'bad --jobs', args: (f) => ['copy', '--jobs', '0', f.good, fresh(f)], code: 'EUSAGE' },
  { name: 'rm with a digest', args: (f) => ['rm', '--image', `${f.good}@sha256:${'a'.repeat(64)}`], code: 'EUSAGE' },
  { name: 'validate with both --layout and --image', args: (f) => ['validate', '--layout', f.good, '--image', f.good], code: 'EUSAGE' },
  { name: 'bad tag syntax', args: (f) => ['tag', '--image', `${f.good}:latest`, 'not a tag!'], code: 'EBADREF' },
  { name: 'bad platform', args: (f) => ['unpack', '--image', f.good, '--platform', 'linux', fresh(f)], code: 'EUSAGE' },
  { name: 'copy to a skopeo transport we do not write', args: (f) => ['copy', f.good, `ostree:${join(f.dir, 'out')}`], code: 'EUSAGE', match: /destinations are PATH\[:TAG\]/ },
  { name: 'unpack from a skopeo transport we do not read', args: (f) => ['unpack', '--image', 'containers-storage:busybox', fresh(f)], code: 'EUSAGE', match: /sources are PATH\[:TAG\]/ },
  // not found
  { name: 'missing layout', args: (f) => ['ls', '--layout', join(f.dir, 'nowhere')], code: 'ENOLAYOUT', names: (f) => [join(f.dir, 'nowhere')] },
  { name: 'missing tag lists the tags there are', args: (f) => ['unpack', '--image', `${f.good}:nope`, fresh(f)], code: 'ENOTAG', match: /tag nope not found in layout .*; it has latest, v1$/ },
  { name: 'tag of a missing tag', args: (f) => ['tag', '--image', `${f.good}:nope`, 'x'], code: 'ENOTAG', match: /it has latest, v1/ },
  { name: 'missing digest', args: (f) => ['stat', '--image', `${f.good}@sha256:${'b'.repeat(64)}`], code: 'ENOBLOB' },
  { name: 'missing archive', args: (f) => ['stat', '--image', `oci-archive:${join(f.dir, 'none.tar')}`], code: 'ENOLAYOUT', names: (f) => [join(f.dir, 'none.tar')] },
  // invalid or hostile image
  { name: 'corrupt layer (unpack)', args: (f) => ['unpack', '--image', f.corrupt, fresh(f)], code: 'EDIGEST' },
  { name: 'corrupt layer (raw unpack)', args: (f) => ['raw', 'unpack', '--image', f.corrupt, fresh(f)], code: 'EDIGEST' },
  { name: 'corrupt layer (copy)', args: (f) => ['copy', f.corrupt, fresh(f)], code: 'EDIGEST' },
  { name: 'validate of a corrupt layout', args: (f) => ['validate', '--layout', f.corrupt], code: 'EINVALID' },
  { name: 'hostile layer', args: (f) => ['unpack', '--image', f.hostile, fresh(f)], code: 'EPATH' },
  {
    name: 'index.json not json',
    args: (f) => ['ls', '--layout', join(f.dir, 'badjson')],
    code: 'EBADLAYOUT',
    names: (f) => [join(f.dir, 'badjson')],
    setup: (f) => {
      writeLayout(join(f.dir, 'badjson'), {});
      writeFileSync(join(f.dir, 'badjson', 'index.json'), '{');
    },
  },
  // the target exists
  { name: 'init over a layout', args: (f) => ['init', '--layout', f.good], code: 'EEXIST', match: /cannot create layout .*: it exists$/ },
  {
    name: 'unpack over a bundle',
    args: (f) => ['unpack', '--image', f.good, join(f.dir, 'made')],
    code: 'EEXIST',
    names: (f) => [join(f.dir, 'made', 'config.json')],
    setup: (f) => {
      mkdirSync(join(f.dir, 'made', 'rootfs'), { recursive: true });
      writeFileSync(join(f.dir, 'made', 'config.json'), '{}');
    },
  },
  {
    name: 'bundle is a file',
    args: (f) => ['unpack', '--image', f.good, join(f.dir, 'afile')],
    code: 'EEXIST',
    match: /is not a directory/,
    setup: (f) => writeFileSync(join(f.dir, 'afile'), ''),
  },
  {
    name: 'bundle is a dangling symlink',
    args: (f) => ['unpack', '--image', f.good, join(f.dir, 'dangling')],
    code: 'EEXIST',
    match: /symbolic link to missing \/nonexistent\/x/,
    setup: (f) => symlinkSync('/nonexistent/x', join(f.dir, 'dangling')),
  },
  {
    name: 'runtime-config over a file',
    args: (f) => ['raw', 'runtime-config', '--image', f.good, join(f.dir, 'cfg.json')],
    code: 'EEXIST',
    setup: (f) => writeFileSync(join(f.dir, 'cfg.json'), '{}'),
  },
  // permissions (run as nobody)
  {
    name: 'unreadable index.json is not an invalid image',
    args: (f) => ['ls', '--layout', join(f.dir, 'secret')],
    code: 'EACCES',
    nobody: true,
    names: (f) => [join(f.dir, 'secret', 'index.json')],
    setup: (f) => {
      writeLayout(join(f.dir, 'secret'), {});
      chmodSync(join(f.dir, 'secret', 'index.json'), 0o600);
    },
  },
  { name: 'unpack as non-root without --rootless hints at it', args: (f) => ['unpack', '--image', f.good, join(f.dir, 'pub', 'b')], code: 'EACCES', nobody: true, match: /operation not permitted.*use --rootless$/ },
  { name: 'raw unpack as non-root without --rootless', args: (f) => ['raw', 'unpack', '--image', f.good, join(f.dir, 'pub', 'r')], code: 'EACCES', nobody: true, match: /use --rootless$/ },
  { name: 'bundle in a directory nobody may write', args: (f) => ['unpack', '--rootless', '--image', f.good, join(f.dir, 'closed', 'b')], code: 'EACCES', nobody: true, names: (f) => [join(f.dir, 'closed', 'b')] },
  { name: 'tag in a layout nobody may write', args: (f) => ['tag', '--image', `${f.good}:latest`, 'mine'], code: 'EACCES', nobody: true, names: (f) => [f.good] },
  // Node's recursive mkdir never returns here (ENOENT for a directory /proc cannot hold).
  { name: 'bundle under /proc', args: (f) => ['unpack', '--image', f.good, '/proc/ocibundle-test/b'], code: 'EIO', names: () => ['/proc/ocibundle-test/b'] },
  // read-only file system
  { name: 'unpack onto a read-only file system', args: (f) => ['unpack', '--image', f.good, join(f.ro!, 'b')], code: 'EROFS', needs: 'ro', names: (f) => [join(f.ro!, 'b')] },
  { name: 'init on a read-only file system', args: (f) => ['init', '--layout', join(f.ro!, 'l')], code: 'EROFS', needs: 'ro', names: (f) => [join(f.ro!, 'l')] },
  { name: 'runtime-config onto a read-only file system', args: (f) => ['raw', 'runtime-config', '--image', f.good, join(f.ro!, 'c.json')], code: 'EROFS', needs: 'ro', names: (f) => [join(f.ro!, 'c.json')] },
  // disk full
  { name: 'copy onto a full disk', args: (f) => ['copy', f.good, join(f.full!, 'l')], code: 'ENOSPC', needs: 'full', names: (f) => [join(f.full!, 'l')] },
];

/** The checks every error line passes. */
function checkLine(stderr: string, status: number | null, c: Case, f: Fx, documented: Map<string, number>): void {
  const lines = stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, `one line on stderr:\n${stderr}`);
  const line = lines[0]!;
  const m = /^ocibundle: (E[A-Z]+): (.+)$/.exec(line);
  assert.ok(m, `ocibundle: CODE: message, got ${line}`);
  const [, code, message] = m;
  assert.equal(code, c.code, line);
  assert.equal(documented.get(code!), status, `${code} is in the README's exit table at status ${status}`);
  assert.equal(ERROR_CODES[c.code], status, 'exit status of the code');
  const others = [...message!.matchAll(/\bE[A-Z0-9]{2,}\b/g)].map((w) => w[0]).filter((w) => CODE_WORDS.has(w));
  assert.deepEqual(others, [], `no second code in ${line}`);
  assert.doesNotMatch(line, /\.ocibundle-[^ ]*\.tmp|\.ocibundle-tmp-|\.tmp-[0-9a-f]/, 'no temporary name');
  assert.doesNotMatch(line, /\n\s+at /, 'no stack');
  for (const p of c.names?.(f) ?? []) assert.ok(line.includes(p), `names ${p}: ${line}`);
  if (c.match) assert.match(message!, c.match);
}

/** Commands that take --json. */
function hasJson(args: string[]): boolean {
  return ['unpack', 'copy', 'ls', 'stat', 'gc', 'validate'].includes(args[0] ?? '') || (args[0] === 'raw' && args[1] === 'unpack');
}

function run(args: string[], nobody: boolean) {
  const argv = nobody ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, BIN, ...args] : [process.execPath, BIN, ...args];
  return spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 60_000 });
}

function mountTmpfs(dir: string, opts: string): string | null {
  mkdirSync(dir);
  return spawnSync('mount', ['-t', 'tmpfs', '-o', opts, 'tmpfs', dir]).status === 0 ? dir : null;
}

test('every CLI error path: one line, one documented code, no temporary name', async (t) => {
  const documented = documentedCodes();
  const dir = scratchDir('cli-errors');
  chmodSync(dir, 0o755); // an unprivileged user reads the fixtures
  const mounts: string[] = [];
  try {
    const layer = gzip(makeTar([{ name: 'etc/', type: 'dir' }, { name: 'etc/hello', content: 'hi\n' }]));
    const good = join(dir, 'good');
    const config = { config: { Cmd: ['/bin/sh'] } };
    writeLayout(good, { images: [{ tag: 'latest', layers: [layer], config }, { tag: 'v1', layers: [layer], config }] });
    const corrupt = join(dir, 'corrupt');
    const built = writeLayout(corrupt, { images: [{ tag: 'latest', layers: [layer] }, { tag: 'v2', layers: [layer] }] });
    corruptBlob(corrupt, built.images[0]!.layers[0]!.digest);
    const hostile = join(dir, 'hostile');
    writeLayout(hostile, { images: [{ tag: 'latest', layers: [gzip(makeTar([{ name: 'l', type: 'hardlink', linkname: 'missing' }]))] }] });
    mkdirSync(join(dir, 'pub'), { mode: 0o777 });
    chmodSync(join(dir, 'pub'), 0o777);
    mkdirSync(join(dir, 'closed'), { mode: 0o755 });
    const ro = isRoot() ? mountTmpfs(join(dir, 'ro'), 'ro,size=1m') : null;
    const full = isRoot() ? mountTmpfs(join(dir, 'full'), 'size=16k') : null;
    for (const m of [ro, full]) if (m) mounts.push(m);
    const f: Fx = { dir, good, corrupt, hostile, ro, full };

    for (const c of CASES) {
      const skip = c.nobody ? nonRoot : c.needs ? noMount || (f[c.needs] === null ? `no ${c.needs} tmpfs` : false) : false;
      await t.test(`${c.name} -> ${c.code}`, { skip }, () => {
        c.setup?.(f);
        const args = c.args(f);
        const r = run(args, c.nobody === true);
        checkLine(r.stderr, r.status, c, f, documented);
        if (!hasJson(args)) return;
        // The same failure with --json: one JSON object on stderr instead of the line.
        const j = run([...args, '--json'], c.nobody === true);
        assert.equal(j.status, r.status);
        const lines = j.stderr.split('\n').filter((l) => l !== '');
        assert.equal(lines.length, 1, j.stderr);
        const obj = JSON.parse(lines[0]!) as Record<string, unknown>;
        assert.deepEqual(Object.keys(obj).sort(), ['code', 'exitCode', 'message']);
        assert.equal(obj['code'], c.code);
        assert.equal(obj['exitCode'], r.status);
        assert.equal(typeof obj['message'], 'string');
      });
    }

    await t.test('every code is in the README table at its exit status', () => {
      for (const [code, status] of Object.entries(ERROR_CODES)) assert.equal(documented.get(code), status, code);
    });
  } finally {
    for (const m of mounts) spawnSync('umount', [m]);
    rmSync(dir, { recursive: true, force: true });
  }
});
