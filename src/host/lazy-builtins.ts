// Node builtins loaded at first use rather than at start-up: node:child_process (2-3 ms of CPU
// on every run that never spawns: an unpack without a zstd child, a warm overlay bundle) and
// node:crypto (1.4 ms on commands that never hash or name a temp file: ls, --version). Nothing
// else; callers use the modules as they did before.
import { createRequire } from 'node:module';

type ChildProcessModule = typeof import('node:child_process');
type CryptoModule = typeof import('node:crypto');

const load = createRequire(import.meta.url);
let childProcessModule: ChildProcessModule | undefined;
let cryptoModule: CryptoModule | undefined;

/** node:child_process, required on first use. */
export function childProcess(): ChildProcessModule {
  return (childProcessModule ??= load('node:child_process') as ChildProcessModule);
}

/** node:crypto, required on first use. */
export function nodeCrypto(): CryptoModule {
  return (cryptoModule ??= load('node:crypto') as CryptoModule);
}
