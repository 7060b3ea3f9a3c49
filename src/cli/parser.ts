// The full yargs parser of the CLI: every command module, strict parsing, help and version,
// parse failures turned into one EUSAGE line (usage.ts). main.ts loads this only for command
// lines the lean parser leaves to yargs (help, errors, nested commands, unusual spellings),
// since loading yargs costs more than most commands' own work. yargs is required (an ES
// module yargs offers to require()), not imported: the bundled CLI (scripts/bundle.mjs) keeps
// it external and has no dynamic import(), so it is loaded from node_modules on this path only.
import { createRequire } from 'node:module';
import type { Argv, CommandModule } from 'yargs';
import { commands } from './commands.js';
import { usageError } from './usage.js';

// yargs reads a lone `-` value as an empty string; it passes through under this stand-in
// (a nul byte cannot occur in a real argument) and is restored before any command runs.
const DASH = '\0-';
function restoreDash(argv: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(argv)) {
    if (v === DASH) argv[k] = '-';
    else if (Array.isArray(v)) argv[k] = v.map((x: unknown) => (x === DASH ? '-' : x));
  }
}

/** `help CMD...` is `CMD... --help` (as umoci and git have it). */
function helpSynonym(argv: string[]): string[] {
  return argv[0] === 'help' ? [...argv.slice(1), '--help'] : argv;
}


/** The parser over `argv` with `cmds` (tests pass commands whose handlers capture the arguments). */
export function buildParser(rawArgv: string[], cmds: readonly CommandModule<any, any>[] = commands): Argv {
  const argv = helpSynonym(rawArgv);
  const yargs = createRequire(import.meta.url)('yargs') as typeof import('yargs').default;
  const parser: Argv = yargs(argv.map((a) => (a === '-' ? DASH : a)))
    .middleware(restoreDash, true)
    .scriptName('ocibundle')
    .usage('$0 <command> [options]\n\nTurn OCI images into OCI runtime bundles; manage OCI layout tags.')
    .strict()
    // umoci's order `--uid-map A --gid-map B BUNDLE`: an array option takes one value per flag.
    .parserConfiguration({ 'greedy-arrays': false })
    .demandCommand(1, '')
    .recommendCommands()
    .help()
    .alias('h', 'help')
    .version()
    .alias('v', 'version')
    .epilogue(
      'Exit status: 0 ok, 1 failure, 2 usage, 3 not found, 4 invalid or hostile image,\n5 target exists, 6 limit hit or disk full, 7 permission denied or read-only,\n130 interrupted. Run `ocibundle COMMAND --help` for examples.',
    )
    .fail((msg: string | undefined, err: Error | undefined) => {
      throw err ?? usageError(msg ?? '', argv);
    });
  // Line wrapping measures every help string (string-width): only worth it when help prints.
  if (argv.length === 0 || argv.some((a) => a === '--help' || a === '-h' || a === 'help')) {
    parser.wrap(Math.min(100, process.stdout.columns || 80));
  } else {
    parser.wrap(null);
  }
  for (const c of cmds) parser.command(c as never);
  return parser;
}

/** Parse `argv` and run the command it names; a parse failure or the command's error is thrown. */
export async function parseWithYargs(argv: string[]): Promise<void> {
  await buildParser(argv).parseAsync();
}
