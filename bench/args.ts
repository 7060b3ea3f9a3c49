// Command-line options of `npm run bench`, parsed with posix-getopt (short and long forms,
// `--runs 3` and `--runs=3`). Pure: turns argv into BenchOptions or throws EUSAGE; it never
// reads the environment, touches the disk or prints.
import { BasicParser } from 'posix-getopt';
import { OciBundleError } from '../src/errors.js';

export type FsChoice = { kind: 'loop' } | { kind: 'tmpfs' } | { kind: 'dir'; dir: string };

export interface BenchOptions {
  images: string[];
  runs: number;
  fs: FsChoice;
  /** filter on case ids; undefined runs every case */
  cases: RegExp | undefined;
  /** results file; undefined means $IMAGES/bench/results.json */
  json: string | undefined;
  layoutTags: number;
  skipLayout: boolean;
  /** no layer-store rows (100 overlay bundles, empty store, warm store) */
  skipStore: boolean;
  check: boolean;
  /** no start-up group (node -e 0, --version, ls of busybox) */
  skipStartup: boolean;
  /** no busybox groups (CLI unpack on the fs under test and tmpfs, the in-process loop) */
  skipBusybox: boolean;
  /** unpack() calls of busybox in one process, per fs (0: none) */
  inproc: number;
  /** no 1M-empty-files layer */
  skipManyFiles: boolean;
  help: boolean;
}

export const DEFAULT_IMAGES = ['debian', 'big', 'big-zstd'];

export const USAGE = `usage: npm run bench -- [options]
  -i, --images LIST      comma-separated images of ../shared/bench, NAME[:TAG] (default
                         ${DEFAULT_IMAGES.join(',')}; tag latest)
  -r, --runs N           timed runs of every case (default 3), alternating between cases
  -f, --fs loop|tmpfs|DIR  file system under test (default loop: benchfs.sh's journaled ext4)
  -c, --cases REGEX      only cases whose id matches (ids: ocibundle, ocibundle-raw, umoci,
                         umoci-raw, tar-xzf, gzip-dc, zstd+tar, zstd-dc, ocibundle-ls, umoci-tag...)
  -j, --json FILE        results file (default $IMAGES/bench/results.json)
  -t, --layout-tags N    tags in the layout for ls/tag/rm (default 10000)
  -S, --skip-layout      do not time ls/tag/rm
  -O, --skip-store       do not time the layer-store rows (overlay bundles, empty/warm store)
  -T, --skip-startup     do not time start-up (node -e 0, --version, ls of busybox)
  -B, --skip-busybox     do not time busybox unpacks (CLI on the fs and tmpfs, in-process loop)
  -n, --inproc N         in-process unpack() calls of busybox per fs (default 1000; 0: none)
  -M, --skip-many-files  do not time the layer of 1,000,000 empty files
  -k, --check            exit 1 when a performance target is missed, printing each verdict
  -h, --help             this text
Environment: IMAGES (default /tmp/ocibundle-images), OCIBUNDLE (default bin/ocibundle).`;

const OPTSTRING = ':i:(images)r:(runs)f:(fs)c:(cases)j:(json)t:(layout-tags)S(skip-layout)O(skip-store)T(skip-startup)B(skip-busybox)n:(inproc)M(skip-many-files)k(check)h(help)';
const IMAGE_NAME = /^[a-z0-9][a-z0-9._-]*(:[A-Za-z0-9_][A-Za-z0-9._-]{0,127})?$/;

function usage(message: string): OciBundleError {
  return new OciBundleError('EUSAGE', message);
}

function positiveInt(name: string, value: string, max: number): number {
  if (!/^[0-9]+$/.test(value)) throw usage(`--${name} wants a positive integer, got '${value}'`);
  const n = Number(value);
  if (n < 1 || n > max) throw usage(`--${name} must be between 1 and ${max}, got ${n}`);
  return n;
}

/** Parse the arguments after `node run.js`. */
export function parseBenchArgs(argv: readonly string[]): BenchOptions {
  const opts: BenchOptions = {
    images: [...DEFAULT_IMAGES],
    runs: 3,
    fs: { kind: 'loop' },
    cases: undefined,
    json: undefined,
    layoutTags: 10000,
    skipLayout: false,
    skipStore: false,
    check: false,
    skipStartup: false,
    skipBusybox: false,
    inproc: 1000,
    skipManyFiles: false,
    help: false,
  };
  // BasicParser skips the first `optind` elements; hand it the array as is, starting at 0.
  const parser = new BasicParser(OPTSTRING, [...argv], 0);
  for (let o = parser.getopt(); o !== undefined; o = parser.getopt()) {
    const arg = o.optarg ?? '';
    switch (o.option) {
      case 'i': {
        const names = arg.split(',').map((s) => s.trim()).filter((s) => s !== '');
        if (names.length === 0) throw usage('--images wants at least one image name');
        for (const n of names) if (!IMAGE_NAME.test(n)) throw usage(`--images: bad image name '${n}'`);
        opts.images = [...new Set(names)];
        break;
      }
      case 'r':
        opts.runs = positiveInt('runs', arg, 1000);
        break;
      case 'f':
        if (arg === 'loop' || arg === 'tmpfs') opts.fs = { kind: arg };
        else if (arg.startsWith('/')) opts.fs = { kind: 'dir', dir: arg };
        else throw usage(`--fs wants loop, tmpfs or an absolute directory, got '${arg}'`);
        break;
      case 'c':
        try {
          opts.cases = new RegExp(arg);
        } catch (e) {
          throw new OciBundleError('EUSAGE', `--cases: bad regular expression '${arg}'`, { cause: e });
        }
        break;
      case 'j':
        if (arg === '') throw usage('--json wants a file name');
        opts.json = arg;
        break;
      case 't':
        opts.layoutTags = positiveInt('layout-tags', arg, 1_000_000);
        break;
      case 'S':
        opts.skipLayout = true;
        break;
      case 'O':
        opts.skipStore = true;
        break;
      case 'k':
        opts.check = true;
        break;
      case 'T':
        opts.skipStartup = true;
        break;
      case 'B':
        opts.skipBusybox = true;
        break;
      case 'n':
        opts.inproc = arg === '0' ? 0 : positiveInt('inproc', arg, 100_000);
        break;
      case 'M':
        opts.skipManyFiles = true;
        break;
      case 'h':
        opts.help = true;
        break;
      case ':':
        throw usage(`option -${o.optopt ?? '?'} needs a value`);
      default:
        throw usage(`unknown or misused option '${o.optopt ?? o.option}'`);
    }
  }
  const rest = argv.slice(parser.optind());
  if (rest.length > 0) throw usage(`unexpected argument '${rest[0]}'`);
  return opts;
}
