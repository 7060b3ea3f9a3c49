// The bundled CLI's entry for the light layout commands (init, ls, tag, rm, and the aliases
// list and remove; stat, gc and validate stay in main: they need the validators and more):
// bin/ocibundle runs it for those words from a bundle of its own (dist/cli/layout-main.cjs,
// with its own code cache, about a tenth of main), so they do not read and deserialize the
// whole CLI. A line the lean parser does not take returns null before any output, and the
// launcher hands it to the full CLI (main.ts), which parses it with yargs as before.
import { EXIT, OciBundleError, toOciBundleError } from '../errors.js';
import { initCommand, lsCommand, rmCommand, tagCommand } from './layout.js';
import { parseLean } from './lean-parse.js';
import { report } from './report.js';
import { guardStdout, wantsJson } from './stdout-guard.js';

const COMMANDS = { init: initCommand, ls: lsCommand, list: lsCommand, tag: tagCommand, rm: rmCommand, remove: rmCommand } as const;

/** The first words this entry serves (bin/ocibundle's list; test/unit/cli-layout-main keeps them equal). */
export const LAYOUT_WORDS: readonly string[] = Object.keys(COMMANDS);

/** Runs a layout command line as main.ts would: its exit status, or null when the full CLI must take the line. */
export async function main(rawArgv: string[] = process.argv.slice(2)): Promise<number | null> {
  const name = rawArgv[0];
  const command = name !== undefined && Object.hasOwn(COMMANDS, name) ? COMMANDS[name as keyof typeof COMMANDS] : undefined;
  if (command === undefined) return null;
  const lean = parseLean(name!, rawArgv.slice(1), command);
  if (lean === null) return null;
  const json = wantsJson(rawArgv);
  guardStdout(json);
  try {
    await lean.command.handler(lean.args as never);
    return EXIT.ok;
  } catch (e) {
    return report(e instanceof OciBundleError ? e : toOciBundleError(e), json);
  }
}
