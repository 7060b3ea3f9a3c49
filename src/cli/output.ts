// Output helpers shared by the commands: data to stdout, messages and warnings to stderr
// (each distinct warning printed once per run). No command writes to the streams directly,
// and everything printed here is escaped (escape.ts): image-supplied names cannot steer a terminal.
import type { Warning, WarnFn } from '../errors.js';
import { escapeControls, escapeDataLine, escapeJsonText } from './escape.js';

/** Lines of data on stdout; a string is one line (a newline inside it is shown escaped). */
export function printData(lines: string | readonly string[]): void {
  const list = typeof lines === 'string' ? [lines.replace(/\n$/, '')] : lines;
  process.stdout.write(list.map((l) => `${escapeDataLine(l)}\n`).join(''));
}

export function printJson(value: unknown): void {
  process.stdout.write(`${escapeJsonText(JSON.stringify(value, null, 2))}\n`);
}

export function printMessage(text: string): void {
  process.stderr.write(`ocibundle: ${escapeControls(text)}\n`);
}

/** A warning callback that prints each distinct code+message once on stderr. */
export function stderrWarner(): WarnFn {
  const seen = new Set<string>();
  return (w: Warning) => {
    const key = `${w.code}\0${w.message}`;
    if (seen.has(key)) return;
    seen.add(key);
    process.stderr.write(`ocibundle: warning: ${escapeControls(`${w.code}: ${w.message}`)}\n`);
  };
}
