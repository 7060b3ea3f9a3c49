// How a failed command ends: the one line (or, with --json, one JSON object) on stderr and the
// exit status of its error code. Shared by the CLI entry (main.ts) and the warm overlay path.
import { oneLine, toOciBundleError } from '../errors.js';
import { escapeControls } from './escape.js';
import { printLine, runWarnings } from './output.js';

/** A failure as the one line (or JSON object) on stderr; returns the exit status. */
export function report(e: unknown, json: boolean): number {
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
