// The performance targets of issue 5 and their verdicts for `--check`: unpack time against
// the tar floor, peak RSS on big, ls/tag/rm latency on the many-tag layout. Pure: reads
// summaries, decides pass/miss/skip; the exit status is run.ts's.
import { findSummary } from './summary.js';
import { fmtRatio, fmtSeconds } from './table.js';
import type { CaseSummary } from './types.js';

export interface Target {
  name: string;
  group: string;
  caseId: string;
  measure: 'ratioFloor' | 'peakRssMb' | 'medianS';
  limit: number;
  /** true: value must be strictly below the limit; false: at most the limit */
  strict: boolean;
}

export type Outcome = 'pass' | 'miss' | 'skip';

export interface Verdict {
  target: string;
  outcome: Outcome;
  detail: string;
  value: number | null;
}

export const LAYOUT_TARGET_TAGS = 10000;

export function layoutGroupName(tags: number): string {
  return `layout-${tags}-tags`;
}

/** Every target of the issue; the layout ones name the group of the layout actually timed. */
export function standardTargets(layoutTags: number): Target[] {
  const lg = layoutGroupName(layoutTags);
  return [
    { name: 'ocibundle unpack of big <= 1.0x tar -xzf floor', group: 'big', caseId: 'ocibundle', measure: 'ratioFloor', limit: 1.0, strict: false },
    { name: 'ocibundle unpack of debian <= 1.0x tar -xzf floor', group: 'debian', caseId: 'ocibundle', measure: 'ratioFloor', limit: 1.0, strict: false },
    { name: 'ocibundle unpack of big-zstd <= 1.0x zstd -dc | tar -x floor', group: 'big-zstd', caseId: 'ocibundle', measure: 'ratioFloor', limit: 1.0, strict: false },
    { name: 'ocibundle unpack of big peak RSS <= 100 MB', group: 'big', caseId: 'ocibundle', measure: 'peakRssMb', limit: 100, strict: false },
    ...['ls', 'tag', 'rm'].map((op) => ({
      name: `ocibundle ${op} on ${layoutTags} tags < 0.5 s`,
      group: lg,
      caseId: `ocibundle-${op}`,
      measure: 'medianS' as const,
      limit: 0.5,
      strict: true,
    })),
  ];
}

function show(measure: Target['measure'], v: number): string {
  if (measure === 'ratioFloor') return fmtRatio(v);
  if (measure === 'peakRssMb') return `${v.toFixed(1)} MB`;
  return `${fmtSeconds(v)} s`;
}

/**
 * A target whose group was not benchmarked is skipped; one whose group ran but whose value is
 * missing (case failed, filtered out, or its floor missing) is a miss.
 */
export function evaluate(targets: readonly Target[], rows: readonly CaseSummary[], groupsRun: ReadonlySet<string>): Verdict[] {
  return targets.map((t) => {
    if (!groupsRun.has(t.group)) return { target: t.name, outcome: 'skip', detail: `${t.group} not benchmarked`, value: null };
    const row = findSummary(rows, t.group, t.caseId);
    const v = row?.[t.measure] ?? null;
    if (row === undefined || v === null) {
      const why = row === undefined ? 'case not run' : row.status !== 'ok' && row.status !== 'partial' ? `case ${row.status}` : 'no value (reference case missing?)';
      return { target: t.name, outcome: 'miss', detail: `no measurement: ${why}`, value: null };
    }
    const ok = t.strict ? v < t.limit : v <= t.limit;
    return { target: t.name, outcome: ok ? 'pass' : 'miss', detail: `${show(t.measure, v)} (limit ${show(t.measure, t.limit)})`, value: v };
  });
}
