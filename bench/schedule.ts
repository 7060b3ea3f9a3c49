// The order of timed runs: run 1 of every case, then run 2 of every case, and so on, so that
// slow drift of the machine (other load, page cache, fs state) spreads over all cases alike.
// Pure.

export interface Slot {
  caseIndex: number;
  run: number;
}

export function alternate(caseCount: number, runs: number): Slot[] {
  const slots: Slot[] = [];
  for (let run = 1; run <= runs; run++) {
    for (let caseIndex = 0; caseIndex < caseCount; caseIndex++) slots.push({ caseIndex, run });
  }
  return slots;
}
