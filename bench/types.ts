// Shared record types of the benchmark harness: one timed run, one case's results, the
// summary row derived from them. Types only; no behaviour, no I/O.

/** What one case is compared with, and how its command line is built. */
export interface BenchCase {
  /** stable id, matched by --cases: 'ocibundle', 'umoci-raw', 'tar-xzf', 'ocibundle-ls', ... */
  id: string;
  /** the command as a reader would type it, for the table and the JSON */
  display: string;
  /** bash script that runs the case; paths are already shell-quoted inside */
  script: string;
  /** id of the floor case of the same group (tar-xzf, zstd+tar), if there is one */
  floorId?: string;
  /** id of the umoci case this one is compared with */
  umociId?: string;
  /** the physical limit: ids of the write-only and decompress-only floors of the same group */
  physIds?: { write: string; decompress: string };
  /** a failure means "this tool cannot do it" rather than "broken" (umoci on zstd) */
  failureMeans?: 'unsupported';
}

/** One timed execution of a case. */
export interface RunSample {
  run: number;
  /** wall seconds measured by the harness around the whole command (start-up included) */
  wallS: number;
  /** peak resident set size in KiB of the largest process, from GNU time; null without it */
  maxRssKb: number | null;
  userS: number | null;
  sysS: number | null;
  /** exit status of the command (bash's) */
  rc: number;
  /** the line of stderr that says what failed, when rc != 0 */
  errorTail?: string;
}

export type CaseStatus = 'ok' | 'partial' | 'failed' | 'unsupported' | 'not-run';

/** All runs of one case of one group (an image, or the tag layout). */
export interface CaseResult {
  group: string;
  caseId: string;
  display: string;
  floorId?: string;
  umociId?: string;
  physIds?: { write: string; decompress: string };
  failureMeans?: 'unsupported';
  samples: RunSample[];
}

/** The derived numbers of one case: what the table and --check read. */
export interface CaseSummary {
  group: string;
  caseId: string;
  display: string;
  status: CaseStatus;
  okRuns: number;
  runs: number;
  medianS: number | null;
  minS: number | null;
  maxS: number | null;
  /** largest peak RSS over the successful runs, MiB */
  peakRssMb: number | null;
  /** median of user+sys CPU seconds over the successful runs */
  cpuS: number | null;
  /** median / median of the floor case of the same group */
  ratioFloor: number | null;
  /** median / median of the umoci case it is compared with */
  ratioUmoci: number | null;
  /** median / max(median of the write-only floor, median of the decompress-only floor) */
  ratioPhys?: number | null;
  error?: string;
}
