// The bench CLI's option parsing (posix-getopt): defaults, every option in its short, long
// and `--opt=value` forms, and the usage errors (EUSAGE) for bad values and stray arguments.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_IMAGES, parseBenchArgs, type BenchOptions } from '../../bench/args.js';

type Picked = Partial<Omit<BenchOptions, 'cases'>> & { cases?: string };

function pick(o: BenchOptions, keys: readonly string[]): Picked {
  const all: Record<string, unknown> = { ...o, cases: o.cases?.source };
  return Object.fromEntries(keys.map((k) => [k, all[k]])) as Picked;
}

describe('parseBenchArgs accepts', () => {
  const cases: { name: string; argv: string[]; want: Picked }[] = [
    {
      name: 'no arguments: the defaults',
      argv: [],
      want: { images: DEFAULT_IMAGES, runs: 3, fs: { kind: 'loop' }, cases: undefined, json: undefined, layoutTags: 10000, skipLayout: false, skipStore: false, check: false, skipStartup: false, skipBusybox: false, inproc: 1000, skipManyFiles: false, help: false },
    },
    { name: 'long options with separate values', argv: ['--images', 'debian', '--runs', '1'], want: { images: ['debian'], runs: 1 } },
    { name: 'long options with =', argv: ['--images=debian,big', '--runs=5'], want: { images: ['debian', 'big'], runs: 5 } },
    { name: 'short options, glued value', argv: ['-r2', '-i', 'big-zstd'], want: { runs: 2, images: ['big-zstd'] } },
    { name: 'image list: blanks and duplicates dropped', argv: ['--images', 'debian, ,debian,big'], want: { images: ['debian', 'big'] } },
    { name: 'image with a tag', argv: ['--images', 'debian-zstd:mixed,big'], want: { images: ['debian-zstd:mixed', 'big'] } },
    { name: '--fs tmpfs', argv: ['--fs', 'tmpfs'], want: { fs: { kind: 'tmpfs' } } },
    { name: '--fs loop', argv: ['--fs=loop'], want: { fs: { kind: 'loop' } } },
    { name: '--fs with an absolute directory', argv: ['--fs', '/dev/shm/x'], want: { fs: { kind: 'dir', dir: '/dev/shm/x' } } },
    { name: '--cases keeps the regex source', argv: ['--cases', '^(umoci|tar-xzf)$'], want: { cases: '^(umoci|tar-xzf)$' } },
    { name: '--json and --layout-tags', argv: ['--json', '/tmp/r.json', '--layout-tags', '200'], want: { json: '/tmp/r.json', layoutTags: 200 } },
    { name: 'flags', argv: ['--skip-layout', '--check'], want: { skipLayout: true, check: true } },
    { name: 'bundled short flags', argv: ['-Sk'], want: { skipLayout: true, check: true } },
    { name: 'skip the store rows', argv: ['--skip-store', '-O'], want: { skipStore: true } },
    { name: 'skip the issue-11 groups', argv: ['-T', '--skip-busybox', '-M'], want: { skipStartup: true, skipBusybox: true, skipManyFiles: true } },
    { name: '--inproc N, and 0 for none', argv: ['--inproc', '50'], want: { inproc: 50 } },
    { name: '--inproc 0', argv: ['-n0'], want: { inproc: 0 } },
    { name: '--help', argv: ['--help'], want: { help: true } },
    { name: 'the last of a repeated option wins', argv: ['--runs', '2', '--runs', '7'], want: { runs: 7 } },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const got = parseBenchArgs(c.argv);
      assert.deepEqual(pick(got, Object.keys(c.want)), c.want);
    });
  }
});

describe('parseBenchArgs rejects', () => {
  const cases: { name: string; argv: string[]; message: RegExp }[] = [
    { name: 'runs not a number', argv: ['--runs', 'x'], message: /--runs wants a positive integer, got 'x'/ },
    { name: 'runs zero', argv: ['--runs', '0'], message: /--runs must be between 1/ },
    { name: 'runs negative', argv: ['--runs=-1'], message: /--runs wants a positive integer/ },
    { name: 'layout-tags fractional', argv: ['--layout-tags', '1.5'], message: /--layout-tags wants a positive integer/ },
    { name: 'missing value at the end', argv: ['--runs'], message: /needs a value/ },
    { name: 'unknown long option', argv: ['--fast'], message: /unknown or misused option 'fast'/ },
    { name: 'unknown short option', argv: ['-x'], message: /unknown or misused option 'x'/ },
    { name: 'value given to a flag', argv: ['--check=yes'], message: /misused option 'check'/ },
    { name: 'relative fs directory', argv: ['--fs', 'scratch'], message: /--fs wants loop, tmpfs or an absolute directory/ },
    { name: 'image name with a slash', argv: ['--images', '../etc'], message: /bad image name '..\/etc'/ },
    { name: 'image with an empty tag', argv: ['--images', 'debian:'], message: /bad image name 'debian:'/ },
    { name: 'image tag with a slash', argv: ['--images', 'debian:../x'], message: /bad image name/ },
    { name: 'empty image list', argv: ['--images', ','], message: /at least one image/ },
    { name: 'bad regex', argv: ['--cases', '('], message: /bad regular expression/ },
    { name: 'empty json path', argv: ['--json='], message: /--json wants a file name/ },
    { name: 'stray positional argument', argv: ['debian'], message: /unexpected argument 'debian'/ },
    { name: 'argument after --', argv: ['--', '--runs'], message: /unexpected argument '--runs'/ },
  ];
  for (const c of cases) {
    test(c.name, () => {
      assert.throws(() => parseBenchArgs(c.argv), (e: unknown) => {
        assert.equal((e as { code?: unknown }).code, 'EUSAGE');
        assert.match((e as Error).message, c.message);
        return true;
      });
    });
  }
});
