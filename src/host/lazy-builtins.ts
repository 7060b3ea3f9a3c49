// Node builtins loaded at first use rather than at start-up: node:child_process (2-3 ms of CPU
// on every run that never spawns: an unpack without a zstd child, a warm overlay bundle),
// node:crypto (1.4 ms on commands that never hash or name a temp file: ls, --version),
// node:zlib (0.6 ms; layers are inflated by the addon when it has ISA-L/libzstd) and
// node:worker_threads (0.5 ms; small images never start the layer worker). Nothing else;
// callers use the modules as they did before.
import { createRequire } from 'node:module';

type ChildProcessModule = typeof import('node:child_process');
type CryptoModule = typeof import('node:crypto');
type ZlibModule = typeof import('node:zlib');
type WorkerThreadsModule = typeof import('node:worker_threads');

const load = createRequire(import.meta.url);

/** A getter that requires builtin `id` on its first call and returns the same module after. */
function lazy<T>(id: string): () => T {
  let mod: T | undefined;
  return () => (mod ??= load(id) as T);
}

/** node:child_process, required on first use. */
export const childProcess = lazy<ChildProcessModule>('node:child_process');
/** node:crypto, required on first use. */
export const nodeCrypto = lazy<CryptoModule>('node:crypto');
/** node:zlib, required on first use. */
export const nodeZlib = lazy<ZlibModule>('node:zlib');
/** node:worker_threads, required on first use. */
export const workerThreads = lazy<WorkerThreadsModule>('node:worker_threads');
