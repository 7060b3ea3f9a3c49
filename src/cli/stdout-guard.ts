// What every CLI entry (main.ts, layout-main.ts) does with the line before a command runs:
// whether `--json` asks for machine-readable output (failures included), and the guard that
// turns stdout errors into an exit status. Nothing else.
import { EXIT, toOciBundleError } from '../errors.js';
import { report } from './report.js';

/** `--json` anywhere on the line asks for machine-readable output, failures included. */
export function wantsJson(argv: readonly string[]): boolean {
  return argv.some((a) => a === '--json' || a === '--json=true');
}

/**
 * stdout errors arrive as 'error' events: EPIPE (the reader went away, `ls | head -1`) ends
 * the run quietly with 141 as SIGPIPE would; anything else (`> /dev/full`) is one line.
 */
export function guardStdout(json: boolean): void {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') {
      process.exitCode = EXIT.pipe;
    } else {
      process.exitCode = report(toOciBundleError(e, 'cannot write to standard output'), json);
    }
    process.stdout.destroy();
  });
}
