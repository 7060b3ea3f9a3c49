// `npm run bench`: the entry of the benchmark harness. Wires options, images, the fs under
// test, the alternating timed runs, the table, the JSON file and --check together. Owns the
// order of work and the exit status; measuring, summarizing and formatting live beside it.
import { mkdir, mkdtemp, rm, writeFile, access } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isOciBundleError } from '../src/errors.js';
import { parseBenchArgs, USAGE, type BenchOptions } from './args.js';
import { changeFilesScript, imageKind, layoutCases, repackCases, unpackCases, type LayerFile } from './cases.js';
import { evaluate, layoutGroupName, standardTargets, type Verdict } from './check.js';
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
    if (c.failureMeans !== undefined) r.failureMeans = c.failureMeans;
    return r;
  });
  for (const slot of alternate(cases.length, runs)) {
    if (interrupted) break;
    const c = cases[slot.caseIndex];
    const r = results[slot.caseIndex];
    if (c === undefined || r === undefined) continue;
    await before();
    const s = await timeScript(c.script, slot.run, timer);
    r.samples.push(s);
    const rss = s.maxRssKb === null ? '' : ` rss ${(s.maxRssKb / 1024).toFixed(0)}MB`;
    log(`${group} run ${slot.run}/${runs} ${c.id}: ${fmtSeconds(s.wallS)}s${rss}${s.rc === 0 ? '' : ` FAILED rc=${s.rc} ${s.errorTail ?? ''}`}`);
  }
  await before();
  return results;
}

function filterCases(cases: BenchCase[], opts: BenchOptions): BenchCase[] {
  return opts.cases === undefined ? cases : cases.filter((c) => opts.cases!.test(c.id));
}

async function warmCache(files: readonly string[]): Promise<void> {
  if (files.length > 0) await run('cat', [...files]).catch(() => undefined);
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

async function benchImage(image: string, env: Env, fs: FsTarget, opts: BenchOptions, timer: Timer, groups: GroupInfo[]): Promise<CaseResult[]> {
  const { name, tag } = splitImage(image);
  const layout = join(fs.root, 'layouts', name);
  log(`${image}: ${await copyLayoutOnce(join(env.images, name), layout)} layout to ${layout}`);
  const layers: LayerFile[] = await layerFiles(layout, tag);
  const out = join(fs.root, 'out');
  const cases = filterCases(unpackCases({ layout, tag, out, ocibundle: env.ocibundle, layers }), opts);
  groups.push({ group: image, kind: imageKind(layers), layout, layers: layers.length });
  await warmCache(layers.map((l) => l.path));
  return timeGroup(image, cases, opts.runs, timer, () => resetOutput(out));
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
    `(no whiteouts, no verification); x umoci: median / umoci's (unpack, or the same ls/tag/rm).`,
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
    await ensureImages(env, [...opts.images.map((i) => splitImage(i).name), ...(opts.skipLayout ? [] : ['busybox'])]);
    fs = await prepareFs(opts.fs, env.images, env.sharedBench);
    for (const n of fs.notes) log(n);
    const facts = await machineFacts(REPO);
    const groups: GroupInfo[] = [];
    const results: CaseResult[] = [];
    for (const image of opts.images) {
      if (interrupted) break;
      results.push(...(await benchImage(image, env, fs, opts, timer, groups)));
      if (REPACK_IMAGES.has(splitImage(image).name) && !interrupted) results.push(...(await benchRepack(image, env, fs, opts, timer, groups)));
    }
    if (!opts.skipLayout && !interrupted) results.push(...(await benchLayout(env, fs, opts, timer, groups)));
    let storeRows: StoreRow[] = [];
    if (!opts.skipStore && !interrupted) storeRows = await storeGroup(env, fs, opts, timer);

    const rows: CaseSummary[] = summarize(results);
    const groupsRun = new Set(groups.map((g) => g.group));
    const verdicts: Verdict[] = evaluate(standardTargets(opts.layoutTags), rows, groupsRun);
    const failures = renderFailures(rows);
    const text = [header(facts, fs, opts, timer), '', renderTable(rows), ...(failures ? ['', 'Failures:', failures] : [])];
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
