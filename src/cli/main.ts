// The CLI entry: builds the yargs parser from the command modules, runs it, and is the one
// place that maps errors to a one-line stderr message and an exit status. Commands only
// parse arguments, call the library and print; they never call process.exit themselves.
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { EXIT, OciBundleError, exitCodeOf, oneLine } from '../errors.js';
import { commands } from './commands.js';
import { escapeControls } from './escape.js';

export async function main(argv: string[] = hideBin(process.argv)): Promise<number> {
  let status: number = EXIT.ok;
  const parser: Argv = yargs(argv)
    .scriptName('ocibundle')
    .usage('$0 <command> [options]\n\nTurn OCI images into OCI runtime bundles; manage OCI layout tags.')
    .strict()
    // umoci's order `--uid-map A --gid-map B BUNDLE`: an array option takes one value per flag.
    .parserConfiguration({ 'greedy-arrays': false })
    .demandCommand(1, 'name a command; see ocibundle --help')
    .recommendCommands()
    .help()
    .alias('h', 'help')
    .version()
    .epilogue('Exit status: 0 ok, 1 failure, 2 usage, 3 not found, 4 invalid or hostile image, 5 target exists, 6 limit hit, 130 interrupted.')
    .fail((msg: string | undefined, err: Error | undefined) => {
      throw err ?? new OciBundleError('EUSAGE', msg ?? 'invalid usage');
    });
  // Line wrapping measures every help string (string-width): only worth it when help prints.
  if (argv.length === 0 || argv.some((a) => a === '--help' || a === '-h' || a === 'help')) {
    parser.wrap(Math.min(110, process.stdout.columns || 100));
  } else {
    parser.wrap(null);
  }
  for (const c of commands) parser.command(c as never);
  try {
    await parser.parseAsync();
  } catch (e) {
    process.stderr.write(`ocibundle: ${escapeControls(oneLine(e))}\n`);
    if (process.env['OCIBUNDLE_DEBUG'] && e instanceof Error) process.stderr.write(`${escapeControls(String(e.stack))}\n`);
    status = exitCodeOf(e);
  }
  return status;
}
