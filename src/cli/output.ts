// Output helpers shared by the commands: data to stdout, messages and warnings to stderr
// (each distinct warning printed once per run). No command writes to the streams directly.
import type { Warning, WarnFn } from '../errors.js';

export function printData(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function printMessage(text: string): void {
  process.stderr.write(`ocibundle: ${text}\n`);
}

/** A warning callback that prints each distinct code+message once on stderr. */
export function stderrWarner(): WarnFn {
  const seen = new Set<string>();
  return (w: Warning) => {
    const key = `${w.code}\0${w.message}`;
    if (seen.has(key)) return;
    seen.add(key);
    process.stderr.write(`ocibundle: warning: ${w.code}: ${w.message}\n`);
  };
}
