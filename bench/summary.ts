// From raw runs to the numbers a reader wants: status, median, min-max, peak RSS, CPU and the
// ratios to the floor and to umoci within the same group. Pure.
import { median, minMax, ratio } from './stats.js';
import type { CaseResult, CaseStatus, CaseSummary } from './types.js';

function statusOf(r: CaseResult, okRuns: number): CaseStatus {
  if (r.samples.length === 0) return 'not-run';
  if (okRuns === r.samples.length) return 'ok';
  if (okRuns > 0) return 'partial';
  return r.failureMeans === 'unsupported' ? 'unsupported' : 'failed';
}

function summarizeOne(r: CaseResult): CaseSummary {
  const ok = r.samples.filter((s) => s.rc === 0);
  const walls = ok.map((s) => s.wallS);
  const mm = minMax(walls);
  const rss = ok.map((s) => s.maxRssKb).filter((v): v is number => v !== null);
  const cpu = ok
    .filter((s) => s.userS !== null && s.sysS !== null)
    .map((s) => (s.userS ?? 0) + (s.sysS ?? 0));
  const failed = r.samples.find((s) => s.rc !== 0);
  const summary: CaseSummary = {
    group: r.group,
    caseId: r.caseId,
    display: r.display,
    status: statusOf(r, ok.length),
    okRuns: ok.length,
    runs: r.samples.length,
    medianS: median(walls),
    minS: mm?.min ?? null,
    maxS: mm?.max ?? null,
    peakRssMb: rss.length > 0 ? Math.max(...rss) / 1024 : null,
    cpuS: median(cpu),
    ratioFloor: null,
    ratioUmoci: null,
  };
  if (failed !== undefined) summary.error = `rc=${failed.rc}${failed.errorTail ? `: ${failed.errorTail}` : ''}`;
  return summary;
}

/** Summaries in the order given, with ratios resolved against cases of the same group. */
export function summarize(results: readonly CaseResult[]): CaseSummary[] {
  const rows = results.map(summarizeOne);
  const byKey = new Map(rows.map((s) => [`${s.group}\0${s.caseId}`, s]));
  results.forEach((r, i) => {
    const row = rows[i];
    if (row === undefined) return;
    if (r.floorId !== undefined) row.ratioFloor = ratio(row.medianS, byKey.get(`${r.group}\0${r.floorId}`)?.medianS);
    if (r.umociId !== undefined) row.ratioUmoci = ratio(row.medianS, byKey.get(`${r.group}\0${r.umociId}`)?.medianS);
    if (r.physIds !== undefined) {
      const w = byKey.get(`${r.group}\0${r.physIds.write}`)?.medianS;
      const d = byKey.get(`${r.group}\0${r.physIds.decompress}`)?.medianS;
      row.ratioPhys = w == null || d == null ? null : ratio(row.medianS, Math.max(w, d));
    }
  });
  return rows;
}

export function findSummary(rows: readonly CaseSummary[], group: string, caseId: string): CaseSummary | undefined {
  return rows.find((r) => r.group === group && r.caseId === caseId);
}
