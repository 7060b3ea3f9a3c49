// The CLI entry: builds the yargs parser from the command modules, runs it, and is the one
// place that maps errors to a one-line stderr message (or, with --json, one JSON object) and
// an exit status. Commands only parse arguments, call the library and print; they never call
// process.exit themselves. A closed stdout ends the run quietly, as coreutils do.
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { EXIT, OciBundleError, oneLine, toOciBundleError } from '../errors.js';
import { commands } from './commands.js';
import { escapeControls } from './escape.js';
import { printLine, runWarnings } from './output.js';
import { usageError } from './usage.js';

/** `--json` anywhere on the line asks for machine-readable output, failures included. */
function wantsJson(argv: string[]): boolean {
  return argv.some((a) => a === '--json' || a === '--json=true');
}

/** A failure as the one line (or JSON object) on stderr; returns the exit status. */
function report(e: unknown, json: boolean): number {
  const err = toOciBundleError(e);
  if (json) {
    const message = oneLine(err).slice(err.code.length + 2);
    const obj = { code: err.code, message, exitCode: err.exitCode, ...(runWarnings.length > 0 ? { warnings: runWarnings } : {}) };
    printLine(JSON.stringify(obj));
  } else {
    printLine(`ocibundle: ${oneLine(err)}`);
  }
  if (process.env['OCIBUNDLE_DEBUG'] && e instanceof Error) process.stderr.write(`${escapeControls(String(e.stack))}\n`);
  return err.exitCode;
}

/**
 * stdout errors arrive as 'error' events: EPIPE (the reader went away, `ls | head -1`) ends
 * the run quietly with 141 as SIGPIPE would; anything else (`> /dev/full`) is one line.
 */
function guardStdout(json: boolean): void {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') {
      process.exitCode = EXIT.pipe;
    } else {
      process.exitCode = report(toOciBundleError(e, 'cannot write to standard output'), json);
    }
    process.stdout.destroy();
  });
}

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

export async function main(rawArgv: string[] = hideBin(process.argv)): Promise<number> {
  const json = wantsJson(rawArgv);
  guardStdout(json);
  let status: number = EXIT.ok;
  const argv = helpSynonym(rawArgv);
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
  for (const c of commands) parser.command(c as never);
  try {
    await parser.parseAsync();
  } catch (e) {
    status = report(e instanceof OciBundleError ? e : toOciBundleError(e), json);
  }
  return status;
}
