// Markdown rendering of the summaries: one table with times, peak RSS, CPU and ratios, plus
// the check verdicts. Pure string building; printing is run.ts's.
import type { CaseSummary } from './types.js';
import type { Verdict } from './check.js';

export function fmtSeconds(s: number | null): string {
  if (s === null) return '-';
  return s < 10 ? s.toFixed(3) : s.toFixed(2);
}

export function fmtRatio(r: number | null): string {
  return r === null ? '-' : `${r.toFixed(2)}x`;
}

function fmtMb(mb: number | null): string {
  return mb === null ? '-' : mb.toFixed(0);
}

/** Escape what would break a markdown table cell. */
export function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

export const TABLE_HEAD = [
  '| image | case | status | median s | min-max s | peak RSS MB | user+sys s | x floor | x umoci | x max(write, dc) |',
  '|---|---|---|---:|---:|---:|---:|---:|---:|---:|',
];

export function tableRow(s: CaseSummary): string {
  const range = s.minS === null || s.maxS === null ? '-' : `${fmtSeconds(s.minS)}-${fmtSeconds(s.maxS)}`;
  const status = s.status === 'ok' ? 'ok' : `${s.status} (${s.okRuns}/${s.runs})`;
  return `| ${cell(s.group)} | ${cell(s.caseId)} | ${status} | ${fmtSeconds(s.medianS)} | ${range} | ${fmtMb(
    s.peakRssMb,
  )} | ${fmtSeconds(s.cpuS)} | ${fmtRatio(s.ratioFloor)} | ${fmtRatio(s.ratioUmoci)} | ${fmtRatio(s.ratioPhys ?? null)} |`;
}

export function renderTable(rows: readonly CaseSummary[]): string {
  return [...TABLE_HEAD, ...rows.map(tableRow)].join('\n');
}

/** One line per failed case with the end of its stderr, so failures are not just a status. */
export function renderFailures(rows: readonly CaseSummary[]): string {
  return rows
    .filter((r) => r.error !== undefined)
    .map((r) => `- ${r.group}/${r.caseId} (${r.status}): ${r.error}`)
    .join('\n');
}

export function renderVerdicts(verdicts: readonly Verdict[]): string {
  return verdicts.map((v) => `${v.outcome.toUpperCase().padEnd(4)} ${v.target}: ${v.detail}`).join('\n');
}
