// The CLI entry: runs a plain command line through the lean parser (lean.ts: only that
// command's module is loaded) and anything else through the yargs parser built from all
// command modules (parser.ts, loaded only then), and maps errors to a one-line stderr message
// (or, with --json, one JSON object) and an exit status (report.ts, shared with the warm
// overlay path of bin/ocibundle). Commands only
// parse arguments, call the library and print; they never call process.exit themselves. A
// closed stdout ends the run quietly, as coreutils do.
import { readFileSync } from 'node:fs';
import { EXIT, OciBundleError, toOciBundleError } from '../errors.js';
import { packageFile } from '../package-files.js';
import { leanParse } from './lean.js';
import { report } from './report.js';

/** `--json` anywhere on the line asks for machine-readable output, failures included. */
function wantsJson(argv: string[]): boolean {
  return argv.some((a) => a === '--json' || a === '--json=true');
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
