// skopeo 1.9, the differential oracle for copy formats: whether it is installed, and running
// `skopeo --insecure-policy copy ...` (no signature policy: the fixtures are unsigned).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const SKOPEO_BIN = '/usr/bin/skopeo';
export const haveSkopeo = existsSync(SKOPEO_BIN);
export const noSkopeo = haveSkopeo ? false : 'skopeo is not installed (apt-get install skopeo)';

/** Runs skopeo copy with ARGS; throws with its stderr when it fails. */
export function skopeoCopy(args: string[]): void {
  const r = spawnSync(SKOPEO_BIN, ['--insecure-policy', 'copy', '-q', ...args], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`skopeo copy ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
}
