// Named steps of long operations, for tests only. OCIBUNDLE_TEST_CRASH_AT=STEP makes the
// process SIGKILL itself on reaching STEP (to prove what a kill at that point leaves);
// OCIBUNDLE_TEST_TRACE=FILE appends `STEP EPOCH_MS` lines so a test can time the steps.
// Both are read once; with neither set, step() costs one comparison.
import { appendFileSync } from 'node:fs';

const crashAt = process.env['OCIBUNDLE_TEST_CRASH_AT'] ?? '';
const traceFile = process.env['OCIBUNDLE_TEST_TRACE'] ?? '';
const active = crashAt !== '' || traceFile !== '';

/** Marks that the process reached `name`. */
export function step(name: string): void {
  if (!active) return;
  if (traceFile !== '') appendFileSync(traceFile, `${name} ${(performance.timeOrigin + performance.now()).toFixed(1)}\n`);
  if (name === crashAt) process.kill(process.pid, 'SIGKILL');
}
