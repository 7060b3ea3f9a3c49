// From raw runs to summaries (status, median, peak RSS, CPU, ratios within a group) and the
// --check verdicts on them: pass, miss (including missing measurements) and skip.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { evaluate, layoutGroupName, standardTargets, type Target } from '../../bench/check.js';
import { findSummary, summarize } from '../../bench/summary.js';
import type { CaseResult, RunSample } from '../../bench/types.js';

function sample(run: number, wallS: number, rc = 0, maxRssKb: number | null = 10240): RunSample {
  const s: RunSample = { run, wallS, maxRssKb, userS: 1, sysS: 0.5, rc };
  if (rc !== 0) s.errorTail = 'boom';
  return s;
}

function result(group: string, caseId: string, samples: RunSample[], extra: Partial<CaseResult> = {}): CaseResult {
  return { group, caseId, display: caseId, floorId: 'tar-xzf', umociId: 'umoci', samples, ...extra };
}

describe('summarize', () => {
  const results: CaseResult[] = [
    result('debian', 'ocibundle', [sample(1, 2.0, 0, 50 * 1024), sample(2, 2.2, 0, 80 * 1024), sample(3, 1.8, 0, 60 * 1024)]),
    result('debian', 'umoci', [sample(1, 4), sample(2, 4.4), sample(3, 3.6)]),
    result('debian', 'tar-xzf', [sample(1, 1), sample(2, 1), sample(3, 1)]),
    result('debian', 'ocibundle-raw', [sample(1, 9, 1), sample(2, 1.5)]),
    result('debian', 'gzip-dc', [sample(1, 0.1, 2), sample(2, 0.1, 2)]),
    result('big-zstd', 'umoci', [sample(1, 0.2, 1)], { failureMeans: 'unsupported', floorId: 'zstd+tar' }),
    result('big-zstd', 'ocibundle', [sample(1, 3)], { floorId: 'zstd+tar' }),
    result('other', 'ocibundle', [], {}),
  ];
  const rows = summarize(results);
  const row = (g: string, c: string) => {
    const r = findSummary(rows, g, c);
    assert.ok(r, `${g}/${c}`);
    return r;
  };

  test('one row per case, in order', () => {
    assert.deepEqual(rows.map((r) => `${r.group}/${r.caseId}`), results.map((r) => `${r.group}/${r.caseId}`));
  });
  test('median, min-max, peak RSS (largest), CPU', () => {
    const r = row('debian', 'ocibundle');
    assert.equal(r.status, 'ok');
    assert.equal(r.medianS, 2.0);
    assert.equal(r.minS, 1.8);
    assert.equal(r.maxS, 2.2);
    assert.equal(r.peakRssMb, 80);
    assert.equal(r.cpuS, 1.5);
  });
  test('ratios to the floor and to umoci of the same group', () => {
    const r = row('debian', 'ocibundle');
    assert.equal(r.ratioFloor, 2);
    assert.equal(r.ratioUmoci, 0.5);
    assert.equal(row('debian', 'tar-xzf').ratioFloor, 1);
  });
  test('a failed run is left out of the figures: partial', () => {
    const r = row('debian', 'ocibundle-raw');
    assert.equal(r.status, 'partial');
    assert.equal(r.okRuns, 1);
    assert.equal(r.medianS, 1.5);
    assert.match(r.error ?? '', /^rc=1: boom/);
  });
  test('every run failed: failed, no figures, no ratios', () => {
    const r = row('debian', 'gzip-dc');
    assert.equal(r.status, 'failed');
    assert.equal(r.medianS, null);
    assert.equal(r.ratioFloor, null);
    assert.equal(r.peakRssMb, null);
  });
  test('umoci on zstd failing is unsupported, and others get no umoci ratio', () => {
    assert.equal(row('big-zstd', 'umoci').status, 'unsupported');
    assert.equal(row('big-zstd', 'ocibundle').ratioUmoci, null);
  });
  test('the floor of another group is never used', () => {
    assert.equal(row('big-zstd', 'ocibundle').ratioFloor, null);
  });
  test('no samples: not-run', () => assert.equal(row('other', 'ocibundle').status, 'not-run'));
  test('RSS unknown without GNU time', () => {
    const [r] = summarize([result('g', 'c', [sample(1, 1, 0, null)])]);
    assert.equal(r?.peakRssMb, null);
    assert.equal(r?.status, 'ok');
  });
});

describe('evaluate (--check)', () => {
  const lg = layoutGroupName(10000);
  const rows = summarize([
    result('big', 'ocibundle', [sample(1, 3.0, 0, 90 * 1024)]),
    result('big', 'tar-xzf', [sample(1, 5.0)]),
    result('debian', 'ocibundle', [sample(1, 2.5)]),
    result('debian', 'tar-xzf', [sample(1, 2.0)]),
    result(lg, 'ocibundle-ls', [sample(1, 0.2)], { floorId: undefined }),
    result(lg, 'ocibundle-tag', [sample(1, 0.5)], { floorId: undefined }),
    result(lg, 'ocibundle-rm', [sample(1, 0.1, 1)], { floorId: undefined }),
  ]);
  const verdicts = evaluate(standardTargets(10000), rows, new Set(['big', 'debian', lg]));
  const outcome = (re: RegExp) => verdicts.find((v) => re.test(v.target))?.outcome;

  const cases: { name: string; target: RegExp; want: string }[] = [
    { name: 'ratio exactly at the limit (0.6x) passes (<=)', target: /unpack of big <=/, want: 'pass' },
    { name: 'ratio above the limit misses', target: /unpack of debian/, want: 'miss' },
    { name: 'image not benchmarked is skipped', target: /big-zstd/, want: 'skip' },
    { name: 'RSS under 100 MB passes', target: /peak RSS/, want: 'pass' },
    { name: 'ls under 0.5 s passes', target: /ocibundle ls on/, want: 'pass' },
    { name: 'start-up not benchmarked is skipped', target: /ocibundle ls of busybox/, want: 'skip' },
    { name: 'tag at exactly 0.5 s misses (strict <)', target: /ocibundle tag/, want: 'miss' },
    { name: 'failed rm is a miss, not a skip', target: /ocibundle rm/, want: 'miss' },
  ];
  for (const c of cases) test(c.name, () => assert.equal(outcome(c.target), c.want));

  test('one verdict per target, each with a detail', () => {
    assert.equal(verdicts.length, standardTargets(10000).length);
    for (const v of verdicts) assert.ok(v.detail.length > 0, v.target);
  });
  test('a missing floor makes the ratio target a miss', () => {
    const t: Target[] = [{ name: 'x', group: 'g', caseId: 'ocibundle', measure: 'ratioFloor', limit: 1, strict: false }];
    const [v] = evaluate(t, summarize([result('g', 'ocibundle', [sample(1, 1)])]), new Set(['g']));
    assert.equal(v?.outcome, 'miss');
    assert.match(v?.detail ?? '', /no measurement/);
  });
  test('the layout targets follow --layout-tags', () => {
    const ts = standardTargets(500).filter((t) => t.measure === 'medianS');
    assert.deepEqual(ts.map((t) => t.group), ['layout-500-tags', 'layout-500-tags', 'layout-500-tags']);
  });
});
