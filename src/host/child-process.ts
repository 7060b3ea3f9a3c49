// node:child_process, loaded at the first spawn rather than at start-up: its module graph costs
// 2-3 ms of CPU on every run that never spawns (an unpack without a zstd child, a warm overlay
// bundle that mounts through the kernel). Nothing else; callers spawn as they did before.
import { createRequire } from 'node:module';

type ChildProcessModule = typeof import('node:child_process');

let loaded: ChildProcessModule | undefined;

/** node:child_process, required on first use. */
export function childProcess(): ChildProcessModule {
  return (loaded ??= createRequire(import.meta.url)('node:child_process') as ChildProcessModule);
}
