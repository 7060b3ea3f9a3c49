// The performance targets of issues 5 and 11 and their verdicts for `--check`: unpack time
// against the tar floor and umoci, start-up against `node -e 0`, peak RSS on big and on 1M
// entries, ls/tag/rm latency on the many-tag layout. Pure: reads
// summaries, decides pass/miss/skip; the exit status is run.ts's.
import { findSummary } from './summary.js';
import { fmtRatio, fmtSeconds } from './table.js';
import type { CaseSummary } from './types.js';

export interface Target {
  name: string;
  group: string;
  caseId: string;
  measure: 'ratioFloor' | 'ratioUmoci' | 'peakRssMb' | 'medianS';
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
export const STARTUP_GROUP = 'startup';
export const BUSYBOX_TMPFS_GROUP = 'busybox (tmpfs)';
export const MANY_FILES_GROUP = '1M empty files (tmpfs)';

export function layoutGroupName(tags: number): string {
  return `layout-${tags}-tags`;
}

/** Every target of the issue; the layout ones name the group of the layout actually timed. */
export function standardTargets(layoutTags: number): Target[] {
  const lg = layoutGroupName(layoutTags);
  const atMost = (name: string, group: string, caseId: string, measure: Target['measure'], limit: number): Target => ({ name, group, caseId, measure, limit, strict: false });
  return [
    atMost('ocibundle --version <= 1.3x node -e 0', STARTUP_GROUP, 'ocibundle-version', 'ratioFloor', 1.3),
    atMost('ocibundle ls of busybox <= 1.3x node -e 0', STARTUP_GROUP, 'ocibundle-ls', 'ratioFloor', 1.3),
    atMost('ocibundle unpack of busybox (loop fs) <= 1.0x umoci', 'busybox', 'ocibundle', 'ratioUmoci', 1.0),
    atMost('ocibundle unpack of busybox (tmpfs) <= 1.0x umoci', BUSYBOX_TMPFS_GROUP, 'ocibundle', 'ratioUmoci', 1.0),
    atMost('ocibundle unpack of big <= 0.6x tar -xzf floor', 'big', 'ocibundle', 'ratioFloor', 0.6),
    atMost('ocibundle unpack of debian <= 0.7x tar -xzf floor', 'debian', 'ocibundle', 'ratioFloor', 0.7),
    atMost('ocibundle unpack of big-zstd <= 1.0x zstd -dc | tar -x floor', 'big-zstd', 'ocibundle', 'ratioFloor', 1.0),
    atMost('ocibundle unpack of big peak RSS <= 100 MB', 'big', 'ocibundle', 'peakRssMb', 100),
    atMost('ocibundle unpack of 1M empty files peak RSS <= 100 MB', MANY_FILES_GROUP, 'ocibundle', 'peakRssMb', 100),
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
  if (measure === 'ratioFloor' || measure === 'ratioUmoci') return fmtRatio(v);
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
