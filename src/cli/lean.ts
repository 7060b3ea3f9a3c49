// The lean start-up path of the full CLI: the top-level commands by name, each module loaded
// on demand, and a plain command line parsed for it by lean-parse.ts without loading yargs (its
// load and help layout cost more than the rest of a small command); anything the parser does
// not know for sure is left to yargs, which then parses it or reports the error as before.
// test/unit/cli-lean checks the result equals yargs's for every shape accepted here.
import type { CommandModule } from 'yargs';
import { parseLean, type LeanRun } from './lean-parse.js';

export type { LeanRun } from './lean-parse.js';

/** Top-level commands, loaded on demand; `raw` and `store` name their subcommands in their builders. */
const LOADERS: Record<string, () => Promise<CommandModule<any, any>>> = {
  unpack: async () => (await import('./unpack.js')).unpackCommand,
  repack: async () => (await import('./repack.js')).repackCommand,
  new: async () => (await import('./new.js')).newCommand,
  config: async () => (await import('./config.js')).configCommand,
  insert: async () => (await import('./insert.js')).insertCommand,
  copy: async () => (await import('./copy.js')).copyCommand,
  mount: async () => (await import('./store.js')).mountCommand,
  umount: async () => (await import('./store.js')).umountCommand,
  init: async () => (await import('./layout.js')).initCommand,
  ls: async () => (await import('./layout.js')).lsCommand,
  tag: async () => (await import('./layout.js')).tagCommand,
  rm: async () => (await import('./layout.js')).rmCommand,
  stat: async () => (await import('./layout.js')).statCommand,
  gc: async () => (await import('./layout.js')).gcCommand,
  validate: async () => (await import('./layout.js')).validateCommand,
  raw: async () => (await import('./unpack.js')).rawCommand,
  store: async () => (await import('./store.js')).storeCommand,
};
const ALIASES: Record<string, string> = { list: 'ls', remove: 'rm' };

/** The top-level names the lean path knows, aliases included (kept equal to commands.ts by a test). */
export const LEAN_COMMANDS = [...Object.keys(LOADERS), ...Object.keys(ALIASES)];

/** The command and its parsed arguments when this line needs no yargs; null otherwise. */
export async function leanParse(argv: readonly string[]): Promise<LeanRun | null> {
  const name = argv[0];
  if (name === undefined) return null;
  const load = LOADERS[ALIASES[name] ?? name];
  if (load === undefined) return null;
  return parseLean(name, argv.slice(1), await load());
}
