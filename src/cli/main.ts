// The CLI entry: runs a plain command line through the lean parser (lean.ts: only that
// command's module is loaded) and anything else through the yargs parser built from all
// command modules (parser.ts, loaded only then), and maps errors to a one-line stderr message
// (or, with --json, one JSON object) and an exit status (report.ts, shared with the warm
// overlay path of bin/ocibundle); the --json flag and the stdout guard are stdout-guard.ts's,
// shared with layout-main.ts (the light layout commands' entry, which the launcher tries
// first and which hands back what it does not take). Commands only parse arguments, call the
// library and print; they never call process.exit themselves. A closed stdout ends the run
// quietly, as coreutils do.
import { readFileSync } from 'node:fs';
import { EXIT, OciBundleError, toOciBundleError } from '../errors.js';
import { packageFile } from '../package-files.js';
import { leanParse } from './lean.js';
import { report } from './report.js';
import { guardStdout, wantsJson } from './stdout-guard.js';

/** `--version` alone: the package's version, as yargs prints it, without loading yargs. */
function version(): string {
  const pkg = JSON.parse(readFileSync(packageFile('package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

export async function main(rawArgv: string[] = process.argv.slice(2)): Promise<number> {
  const json = wantsJson(rawArgv);
  guardStdout(json);
  try {
    if (rawArgv.length === 1 && (rawArgv[0] === '--version' || rawArgv[0] === '-v')) {
      process.stdout.write(`${version()}\n`);
      return EXIT.ok;
    }
    const lean = await leanParse(rawArgv);
    if (lean !== null) {
      await lean.command.handler(lean.args as never);
      return EXIT.ok;
    }
    const { parseWithYargs } = await import('./parser.js');
    await parseWithYargs(rawArgv);
    return EXIT.ok;
  } catch (e) {
    return report(e instanceof OciBundleError ? e : toOciBundleError(e), json);
  }
}
