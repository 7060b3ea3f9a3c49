// `npm run bench`: the entry of the benchmark harness. Wires options, images, the fs under
// test, the alternating timed runs, the table, the JSON file and --check together. Owns the
// order of work and the exit status; measuring, summarizing and formatting live beside it.
import { mkdir, mkdtemp, readFile, rm, writeFile, access } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isOciBundleError } from '../src/errors.js';
import { parseBenchArgs, USAGE, type BenchOptions } from './args.js';
import { changeFilesScript, imageKind, layoutCases, repackCases, shq, startupCases, unpackCases, type LayerFile } from './cases.js';
import { BUSYBOX_TMPFS_GROUP, evaluate, layoutGroupName, MANY_FILES_GROUP, standardTargets, STARTUP_GROUP, type Verdict } from './check.js';
import type { InprocResult } from './inproc.js';
import { manyFilesLayout } from './many-files.js';
import { copyLayoutOnce, prepareFs, type FsTarget } from './fs-target.js';
import { layerFiles, manyTagNames, writeIndex, writeManyTagIndex } from './layout-files.js';
import { machineFacts, type MachineFacts } from './machine.js';
import { run, runVisible } from './proc.js';
import { findGnuTime, resetOutput, timeScript, type Timer } from './runner.js';
import { alternate } from './schedule.js';
import { benchStore, renderStoreRows, type StoreRow } from './store.js';
import { summarize } from './summary.js';
import { fmtSeconds, renderFailures, renderTable, renderVerdicts } from './table.js';
import type { BenchCase, CaseResult, CaseSummary } from './types.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

interface Env {
  images: string;
  sharedBench: string;
  ocibundle: string;
}

function environment(): Env {
  const images = process.env['IMAGES'] ?? join(process.env['TMPDIR'] ?? '/tmp', 'ocibundle-images');
  return {
    images,
    sharedBench: process.env['SHARED_BENCH'] ?? resolve(REPO, '../shared/bench'),
    ocibundle: process.env['OCIBUNDLE'] ?? join(REPO, 'bin/ocibundle'),
  };
}

const log = (s: string): void => void process.stderr.write(`bench: ${s}\n`);

let interrupted = false;

async function exists(p: string): Promise<boolean> {
  return access(p).then(
    () => true,
    () => false,
  );
}

/** Build the images of ../shared/bench when any needed one is missing. */
async function ensureImages(env: Env, names: readonly string[]): Promise<void> {
  const missing: string[] = [];
  for (const n of names) if (!(await exists(join(env.images, n, 'index.json')))) missing.push(n);
  if (missing.length === 0) return;
  const script = join(env.sharedBench, 'build-all.sh');
  if (!(await exists(script))) {
    throw new Error(`images ${missing.join(', ')} are missing from ${env.images} and ${script} is not there to build them`);
  }
  log(`images ${missing.join(', ')} missing from ${env.images}: running ${script} (a few minutes)`);
  const rc = await runVisible('bash', [script]);
  for (const n of missing) {
    if (!(await exists(join(env.images, n, 'index.json')))) throw new Error(`image ${n} still missing after build-all.sh (exit ${rc})`);
  }
}

/** The 1-minute load average now (the machine may be shared: recorded with every figure). */
async function load1(): Promise<number> {
  return Number((await readFile('/proc/loadavg', 'utf8').catch(() => '0')).split(' ')[0]) || 0;
}

/** Load averages seen during each group's runs, for the table's footnote. */
const groupLoads = new Map<string, number[]>();

/** Run every case `runs` times, alternating, with `before` (untimed) ahead of each run. */
async function timeGroup(
  group: string,
  cases: readonly BenchCase[],
  runs: number,
  timer: Timer,
  before: () => Promise<void>,
): Promise<CaseResult[]> {
  const results: CaseResult[] = cases.map((c) => {
    const r: CaseResult = { group, caseId: c.id, display: c.display, samples: [] };
    if (c.floorId !== undefined) r.floorId = c.floorId;
    if (c.umociId !== undefined) r.umociId = c.umociId;
    if (c.physIds !== undefined) r.physIds = c.physIds;
    if (c.failureMeans !== undefined) r.failureMeans = c.failureMeans;
    return r;
  });
  for (const slot of alternate(cases.length, runs)) {
    if (interrupted) break;
    const c = cases[slot.caseIndex];
    const r = results[slot.caseIndex];
    if (c === undefined || r === undefined) continue;
    await before();
    const load = await load1();
    (groupLoads.get(group) ?? groupLoads.set(group, []).get(group)!).push(load);
    const s = await timeScript(c.script, slot.run, timer);
    r.samples.push(s);
    const rss = s.maxRssKb === null ? '' : ` rss ${(s.maxRssKb / 1024).toFixed(0)}MB`;
    log(`${group} run ${slot.run}/${runs} ${c.id}: ${fmtSeconds(s.wallS)}s${rss} load ${load.toFixed(1)}${s.rc === 0 ? '' : ` FAILED rc=${s.rc} ${s.errorTail ?? ''}`}`);
  }
  await before();
  return results;
}

function filterCases(cases: BenchCase[], opts: BenchOptions): BenchCase[] {
  return opts.cases === undefined ? cases : cases.filter((c) => opts.cases!.test(c.id));
}

/** Reads the files once so they sit in the page cache (their bytes go to /dev/null, not into a string). */
async function warmCache(files: readonly string[]): Promise<void> {
  if (files.length > 0) await run('bash', ['-c', `cat ${files.map(shq).join(' ')} > /dev/null`]).catch(() => undefined);
}

interface GroupInfo {
  group: string;
  kind: string;
  layout: string;
  layers?: number;
  tags?: number;
}

/** `NAME[:TAG]` of --images: the layout directory's name and the tag to unpack. */
function splitImage(image: string): { name: string; tag: string } {
  const i = image.indexOf(':');
  return i < 0 ? { name: image, tag: 'latest' } : { name: image.slice(0, i), tag: image.slice(i + 1) };
}

/** Each layer decompressed into `dir` (tmpfs) for the write-only floor; not timed. */
async function stageLayers(layers: readonly LayerFile[], dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const out: string[] = [];
  for (const [i, l] of layers.entries()) {
    const tar = join(dir, `${i}.tar`);
    const dc = l.compression === 'gzip' ? 'gzip -dc' : l.compression === 'zstd' ? 'zstd -dcq' : 'cat';
    const r = await run('bash', ['-c', `set -o pipefail; ${dc} ${shq(l.path)} > ${shq(tar)}`]);
    if (r.code !== 0) throw new Error(`staging ${l.path} failed: ${r.stderr.trim()}`);
    out.push(tar);
  }
  return out;
}

interface ImagePlace {
  group: string;
  /** the layout's source in $IMAGES and where its copy lives */
  source: string;
  layout: string;
  out: string;
  /** only these case ids (all when undefined) */
  only?: ReadonlySet<string>;
  /** stage the layers on tmpfs for the write-only and sha256 floors */
  floors: boolean;
  runs: number;
}

async function benchImageAt(image: string, p: ImagePlace, env: Env, opts: BenchOptions, timer: Timer, groups: GroupInfo[]): Promise<CaseResult[]> {
  const { tag } = splitImage(image);
  log(`${p.group}: ${await copyLayoutOnce(p.source, p.layout)} layout to ${p.layout}`);
  const layers: LayerFile[] = await layerFiles(p.layout, tag);
  const stage = join(timer.scratch, 'stage');
  try {
    const staged = p.floors ? await stageLayers(layers, stage) : undefined;
    const all = unpackCases({ layout: p.layout, tag, out: p.out, ocibundle: env.ocibundle, layers, ...(staged ? { staged } : {}) });
    const cases = filterCases(all.filter((c) => p.only === undefined || p.only.has(c.id)), opts);
    groups.push({ group: p.group, kind: imageKind(layers), layout: p.layout, layers: layers.length });
    await warmCache([...layers.map((l) => l.path), ...(staged ?? [])]);
    return await timeGroup(p.group, cases, p.runs, timer, () => resetOutput(p.out));
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
}

async function benchImage(image: string, env: Env, fs: FsTarget, opts: BenchOptions, timer: Timer, groups: GroupInfo[]): Promise<CaseResult[]> {
  const { name } = splitImage(image);
  const place = { group: image, source: join(env.images, name), layout: join(fs.root, 'layouts', name), out: join(fs.root, 'out'), floors: true, runs: opts.runs };
  return benchImageAt(image, place, env, opts, timer, groups);
}

/** Start-up: node itself, --version, ls of busybox's small layout, umoci's ls; many cheap runs. */
async function benchStartup(env: Env, fs: FsTarget, opts: BenchOptions, timer: Timer, groups: GroupInfo[]): Promise<CaseResult[]> {
  const layout = join(fs.root, 'layouts', 'busybox');
  await copyLayoutOnce(join(env.images, 'busybox'), layout);
  groups.push({ group: STARTUP_GROUP, kind: 'startup', layout });
  const cases = filterCases(startupCases({ ocibundle: env.ocibundle, layout, extraCaCerts: process.env.NODE_EXTRA_CA_CERTS }), opts);
  return timeGroup(STARTUP_GROUP, cases, Math.max(opts.runs, 21), timer, async () => {});
}

const BUSYBOX_CASES = new Set(['ocibundle', 'ocibundle-no-mtree', 'ocibundle-raw', 'umoci', 'umoci-raw', 'tar-xzf']);

/** busybox by the CLI on the fs under test and on tmpfs, then the in-process loop on both. */
async function benchBusybox(env: Env, fs: FsTarget, opts: BenchOptions, timer: Timer, groups: GroupInfo[], inproc: InprocRow[]): Promise<CaseResult[]> {
  const runs = Math.max(opts.runs, 11);
  const source = join(env.images, 'busybox');
  const places: ImagePlace[] = [
    { group: 'busybox', source, layout: join(fs.root, 'layouts', 'busybox'), out: join(fs.root, 'out'), only: BUSYBOX_CASES, floors: false, runs },
    { group: BUSYBOX_TMPFS_GROUP, source, layout: join(timer.scratch, 'layouts', 'busybox'), out: join(timer.scratch, 'out'), only: BUSYBOX_CASES, floors: false, runs },
  ];
  const results: CaseResult[] = [];
  for (const p of places) if (!interrupted) results.push(...(await benchImageAt('busybox', p, env, opts, timer, groups)));
  if (opts.inproc > 0) {
    for (const [where, p] of [[fs.label, places[0]!], ['tmpfs', places[1]!]] as const) {
      if (interrupted) break;
      const row = await inprocRun(`${p.layout}:latest`, p.out, opts.inproc);
      if (row !== null) inproc.push({ where, ...row });
    }
  }
  return results;
}

export interface InprocRow extends InprocResult {
  where: string;
  load: number;
}

/** One child process of inproc.js; null (logged) when it fails. */
async function inprocRun(image: string, out: string, n: number): Promise<(InprocResult & { load: number }) | null> {
  await resetOutput(out);
  await mkdir(out, { recursive: true });
  const load = await load1();
  log(`in-process: ${n} unpack() calls of ${image} into ${out} (load ${load.toFixed(1)})`);
  const r = await run(process.execPath, ['--expose-gc', join(dirname(fileURLToPath(import.meta.url)), 'inproc.js'), image, out, String(n)]);
  await resetOutput(out);
  if (r.code !== 0) {
    log(`in-process run failed (exit ${r.code}): ${r.stderr.trim().split('\n').slice(-2).join(' | ')}`);
    return null;
  }
  return { ...(JSON.parse(r.stdout.trim().split('\n').pop()!) as InprocResult), load };
}

function renderInproc(rows: readonly InprocRow[]): string {
  const mb = (v: readonly number[]): string => v.map((x) => x.toFixed(1)).join(' / ');
  const at = rows[0]?.marks.join(' / ') ?? '10 / 100 / N/2 / N';
  return [
    `| fs | unpack() calls | median ms per bundle | p10-p90 ms | heap MB after ${at} bundles (after GC) | RSS MB after ${at} | load |`,
    '|---|---:|---:|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.where} | ${r.n} | ${r.medianMs.toFixed(1)} | ${r.p10Ms.toFixed(1)}-${r.p90Ms.toFixed(1)} | ${mb(r.heapMb)} | ${mb(r.rssMb)} | ${r.load.toFixed(1)} |`),
  ].join('\n');
}

/** 1,000,000 empty files in one layer, unpacked on tmpfs (the loop fs has too few inodes). */
const MANY_DIRS = 1000;
const MANY_FILES_PER_DIR = 1000;

async function benchManyFiles(env: Env, opts: BenchOptions, timer: Timer, groups: GroupInfo[]): Promise<CaseResult[]> {
  const source = join(SHM_CACHE, 'many-files-1m');
  log(`${MANY_FILES_GROUP}: ${await manyFilesLayout(source, MANY_DIRS, MANY_FILES_PER_DIR)} layout ${source}`);
  const place: ImagePlace = { group: MANY_FILES_GROUP, source, layout: source, out: join(timer.scratch, 'out'), only: new Set(['ocibundle', 'ocibundle-no-mtree', 'tar-xzf', 'gzip-dc']), floors: false, runs: opts.runs };
  return benchImageAt('many-files-1m', place, env, opts, timer, groups);
}

/** Kept on tmpfs between runs: the generated 1M-entry layout (about 20 MB). */
const SHM_CACHE = '/dev/shm/ocibundle-bench-cache';

function renderLoads(): string {
  return [...groupLoads]
    .map(([g, l]) => `${g} ${Math.min(...l).toFixed(1)}-${Math.max(...l).toFixed(1)}`)
    .join('; ');
}

/** Images whose repack is timed (after changing 10 files), as issue 13 asks for big. */
const REPACK_IMAGES = new Set(['big']);

async function benchRepack(image: string, env: Env, fs: FsTarget, opts: BenchOptions, timer: Timer, groups: GroupInfo[]): Promise<CaseResult[]> {
  const { name, tag } = splitImage(image);
  const group = `${image} repack`;
  const layout = join(fs.root, 'layouts', name);
  const ours = join(fs.root, 'repack-ocibundle');
  const theirs = join(fs.root, 'repack-umoci');
  const cases = filterCases(repackCases({ layout, ocibundle: env.ocibundle, oursBundle: ours, umociBundle: theirs }), opts);
  if (cases.length === 0) return [];
  log(`${group}: unpacking both bundles and changing 10 files in each (not timed)`);
  await rm(ours, { recursive: true, force: true });
  await rm(theirs, { recursive: true, force: true });
  await run(env.ocibundle, ['unpack', '--image', `${layout}:${tag}`, ours]);
  await run('umoci', ['unpack', '--image', `${layout}:${tag}`, theirs]);
  for (const b of [ours, theirs]) await run('bash', ['-c', changeFilesScript(join(b, 'rootfs'), 10)]);
  await run('sync', []);
  groups.push({ group, kind: 'repack', layout });
  try {
    return await timeGroup(group, cases, opts.runs, timer, async () => void (await run('sync', [])));
  } finally {
    await rm(ours, { recursive: true, force: true });
    await rm(theirs, { recursive: true, force: true });
  }
}

async function benchLayout(env: Env, fs: FsTarget, opts: BenchOptions, timer: Timer, groups: GroupInfo[]): Promise<CaseResult[]> {
  const group = layoutGroupName(opts.layoutTags);
  const layout = join(fs.root, 'layouts', 'busybox-many-tags');
  await copyLayoutOnce(join(env.images, 'busybox'), layout);
  const pristine = await writeManyTagIndex(layout, opts.layoutTags);
  const names = manyTagNames(opts.layoutTags);
  const rmTag = names[Math.floor(names.length / 2)] ?? 'latest';
  log(`${group}: index.json with ${opts.layoutTags} tags in ${layout}`);
  const cases = filterCases(layoutCases({ layout, ocibundle: env.ocibundle, rmTag, newTag: 'bench-new-tag' }), opts);
  groups.push({ group, kind: 'layout', layout, tags: opts.layoutTags });
  const reset = async (): Promise<void> => {
    await writeIndex(layout, pristine);
    await run('sync', []);
  };
  try {
    return await timeGroup(group, cases, opts.runs, timer, reset);
  } finally {
    // the layout is a copy of busybox with a rewritten index; it is never reused as is
    await rm(layout, { recursive: true, force: true });
  }
}

/** The layer-store rows on debian (and big when present); a failure is logged, not fatal. */
async function storeGroup(env: Env, fs: FsTarget, opts: BenchOptions, timer: Timer): Promise<StoreRow[]> {
  try {
    await ensureImages(env, ['debian']);
    const debian = join(fs.root, 'layouts', 'debian');
    await copyLayoutOnce(join(env.images, 'debian'), debian);
    let big: string | null = null;
    if (await exists(join(env.images, 'big', 'index.json'))) {
      big = join(fs.root, 'layouts', 'big');
      await copyLayoutOnce(join(env.images, 'big'), big);
    }
    return await benchStore(fs.root, { debian, big }, env.ocibundle, opts.runs, timer);
  } catch (e) {
    log(`layer-store rows failed: ${e instanceof Error ? e.message : String(e)}`);
    return [];
  }
}

function header(facts: MachineFacts, fs: FsTarget, opts: BenchOptions, timer: Timer): string {
  return [
    `# ocibundle bench, ${facts.date}`,
    '',
    `Results are ratios from ONE run of this harness on one machine: compare rows of this table`,
    `with each other, not with another run or machine. Wall time of the whole command (start-up`,
    `included), median and min-max of ${opts.runs} run(s), cases alternating; the output is removed`,
    `and synced before each run (not timed); layer blobs are in the page cache. Peak RSS is the`,
    `largest process (GNU time). x floor: median / the per-layer tar floor of the same image`,
    `(no whiteouts, no verification; for start-up: node -e 0); x umoci: median / umoci's (unpack,`,
    `or the same ls/tag/rm); x max(write, dc): median / the larger of the write-only floor (tar -xf`,
    `of the layers decompressed onto tmpfs beforehand) and the decompress-only floor: the physical limit.`,
    '',
    `Machine: ${facts.cpuModel}, ${facts.cores} cores, kernel ${facts.kernel}, node ${facts.node},`,
    `load ${facts.loadAverage}; fs: ${fs.label} [${fs.mount}]; ocibundle ${facts.ocibundleCommit};`,
    `${facts.tools['umoci']}; ${facts.tools['tar']}; ${facts.tools['zstd']}` +
      (timer.timeBin === null ? '; GNU time MISSING: no RSS/CPU figures (apt-get install time)' : ''),
  ].join('\n');
}

export async function main(argv: readonly string[]): Promise<number> {
  let opts: BenchOptions;
  try {
    opts = parseBenchArgs(argv);
  } catch (e) {
    process.stderr.write(`bench: ${e instanceof Error ? e.message : String(e)}\n${USAGE}\n`);
    return isOciBundleError(e) ? e.exitCode : 2;
  }
  if (opts.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (process.getuid?.() !== 0) {
    log('needs root (umoci unpack and ocibundle unpack keep owners; the loop fs and tmpfs are mounted)');
    return 1;
  }
  const env = environment();
  process.env['IMAGES'] = env.images; // for the ../shared/bench scripts
  const timer: Timer = { timeBin: await findGnuTime(), scratch: '' };
  if (timer.timeBin === null) {
    log('GNU time (/usr/bin/time) is MISSING: peak RSS and CPU will not be measured; install it with `apt-get install time`');
  }
  if (!(await exists(env.ocibundle))) log(`warning: ${env.ocibundle} not found; the ocibundle rows will fail`);

  const onSignal = (sig: string): void => {
    if (!interrupted) log(`${sig}: stopping after the current run`);
    interrupted = true;
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let fs: FsTarget | undefined;
  const scratchBase = (await exists('/dev/shm')) ? '/dev/shm' : (process.env['TMPDIR'] ?? '/tmp');
  timer.scratch = await mkdtemp(join(scratchBase, 'ocibundle-bench-'));
  try {
    await ensureImages(env, [...opts.images.map((i) => splitImage(i).name), ...(opts.skipLayout && opts.skipStartup && opts.skipBusybox ? [] : ['busybox'])]);
    fs = await prepareFs(opts.fs, env.images, env.sharedBench);
    for (const n of fs.notes) log(n);
    const facts = await machineFacts(REPO);
    const groups: GroupInfo[] = [];
    const results: CaseResult[] = [];
    const inproc: InprocRow[] = [];
    if (!opts.skipStartup && !interrupted) results.push(...(await benchStartup(env, fs, opts, timer, groups)));
    if (!opts.skipBusybox && !interrupted) results.push(...(await benchBusybox(env, fs, opts, timer, groups, inproc)));
    for (const image of opts.images) {
      if (interrupted) break;
      results.push(...(await benchImage(image, env, fs, opts, timer, groups)));
      if (REPACK_IMAGES.has(splitImage(image).name) && !interrupted) results.push(...(await benchRepack(image, env, fs, opts, timer, groups)));
    }
    if (!opts.skipManyFiles && !interrupted) results.push(...(await benchManyFiles(env, opts, timer, groups)));
    if (!opts.skipLayout && !interrupted) results.push(...(await benchLayout(env, fs, opts, timer, groups)));
    let storeRows: StoreRow[] = [];
    if (!opts.skipStore && !interrupted) storeRows = await storeGroup(env, fs, opts, timer);

    const rows: CaseSummary[] = summarize(results);
    const groupsRun = new Set(groups.map((g) => g.group));
    const verdicts: Verdict[] = evaluate(standardTargets(opts.layoutTags), rows, groupsRun);
    const failures = renderFailures(rows);
    const text = [header(facts, fs, opts, timer), '', renderTable(rows), '', `Load average (1 min) during each group's runs: ${renderLoads()}.`, ...(failures ? ['', 'Failures:', failures] : [])];
    if (inproc.length > 0) text.push('', `In-process: unpack() of busybox, each into a new bundle, in one process:`, renderInproc(inproc));
    if (storeRows.length > 0) text.push('', 'Layer store (ratios within this run; the machine may be shared):', renderStoreRows(storeRows));
    if (opts.check) text.push('', 'Targets (--check):', renderVerdicts(verdicts));
    if (interrupted) text.push('', 'INTERRUPTED: the results are incomplete.');
    process.stdout.write(`${text.join('\n')}\n`);

    const jsonPath = resolve(opts.json ?? join(env.images, 'bench', 'results.json'));
    await mkdir(dirname(jsonPath), { recursive: true });
    const doc = {
      format: 'ocibundle-bench/1',
      note: 'ratios from one run on one machine; compare rows within this file only',
      machine: facts,
      fs: { label: fs.label, mount: fs.mount, root: fs.root },
      options: {
        images: opts.images,
        runs: opts.runs,
        fs: opts.fs,
        cases: opts.cases?.source ?? null,
        layoutTags: opts.layoutTags,
        skipLayout: opts.skipLayout,
        check: opts.check,
        gnuTime: timer.timeBin !== null,
      },
      interrupted,
      groups,
      summary: rows,
      verdicts,
      store: storeRows,
      inproc,
      loads: Object.fromEntries(groupLoads),
      runs: results,
    };
    await writeFile(jsonPath, `${JSON.stringify(doc, null, 2)}\n`);
    log(`results written to ${jsonPath}`);
    if (interrupted) return 130;
    return opts.check && verdicts.some((v) => v.outcome === 'miss') ? 1 : 0;
  } catch (e) {
    log(e instanceof Error ? e.message : String(e));
    return 1;
  } finally {
    if (fs !== undefined) await fs.cleanup().catch((e: unknown) => log(`cleanup: ${String(e)}`));
    await rm(timer.scratch, { recursive: true, force: true });
  }
}

process.exitCode = await main(process.argv.slice(2));
