// Output helpers shared by the commands: data to stdout, messages and warnings to stderr
// (each distinct warning printed once per run), and the one progress bar line, which any
// other stderr line clears first. No command writes to the streams directly, and everything
// printed here is escaped (escape.ts): image-supplied names cannot steer a terminal.
import type { ErrorCode, Warning } from '../errors.js';

/** What stderrWarner takes: a warning, or an error code a command reports without failing (rm's ENOTAG). */
export type Notice = Warning | { code: ErrorCode; message: string };
import { escapeControls, escapeDataLine, escapeJsonText } from './escape.js';

/** Lines of data on stdout; a string is one line (a newline inside it is shown escaped). */
export function printData(lines: string | readonly string[]): void {
  const list = typeof lines === 'string' ? [lines.replace(/\n$/, '')] : lines;
  process.stdout.write(list.map((l) => `${escapeDataLine(l)}\n`).join(''));
}

export function printJson(value: unknown): void {
  process.stdout.write(`${escapeJsonText(JSON.stringify(value, null, 2))}\n`);
}

/** A JSON document already serialised (config.json's own layout), escaped as printJson does. */
export function printJsonText(json: string): void {
  process.stdout.write(escapeJsonText(json));
}

type Write = (s: string) => void;
const toStderr: Write = (s) => process.stderr.write(s);

/**
 * The progress bar: one stderr line redrawn in place. A message printed while it is shown
 * erases it first (the next draw brings it back); `end` leaves the last state on its own line.
 */
export class StatusLine {
  private open = false;
  constructor(private readonly write: Write = toStderr) {}
  /** Redraws the line (texts only grow as progress is made, so nothing of the old one shows). */
  draw(text: string): void {
    this.write(`\r${text}`);
    this.open = true;
  }
  /** Erase the bar so that the next output starts on a clean line. */
  clear(): void {
    if (this.open) this.write('\r\x1b[K');
    this.open = false;
  }
  /** Keep the bar's last state and move to the next line. */
  end(): void {
    if (this.open) this.write('\n');
    this.open = false;
  }
}

/** `[####......]` for a fraction done. */
export function bar(frac: number, width = 30): string {
  return `[${'#'.repeat(Math.round(Math.min(1, Math.max(0, frac)) * width)).padEnd(width, '.')}]`;
}

/** `done/total UNIT`, in MiB, or in KiB when the total is under 1 MiB. */
export function amount(done: number, total: number): string {
  const [div, unit] = total < 1048576 ? [1024, 'KiB'] : [1048576, 'MiB'];
  return `${(done / div).toFixed(1)}/${(total / div).toFixed(1)} ${unit}`;
}

/** The bar of this process, if a command shows one; messages clear it before printing. */
let activeStatus: StatusLine | null = null;

export function statusLine(write?: Write): StatusLine {
  const s = new StatusLine(write);
  activeStatus = s;
  return s;
}

/** One line on stderr (control characters escaped), after erasing a progress bar that is showing. */
export function printLine(text: string): void {
  activeStatus?.clear();
  process.stderr.write(`${escapeControls(text)}\n`);
}

export function printMessage(text: string): void {
  printLine(`ocibundle: ${text}`);
}

/** Every distinct warning of this run, in order (a --json result or failure object carries them). */
export const runWarnings: Notice[] = [];

/**
 * A warning callback that prints each distinct code+message once on stderr; with `json` it only
 * records them in runWarnings, for the JSON object to carry.
 */
export function stderrWarner(opts: { json?: boolean } = {}): (w: Notice) => void {
  const seen = new Set<string>();
  return (w) => {
    const key = `${w.code}\0${w.message}`;
    if (seen.has(key)) return;
    seen.add(key);
    runWarnings.push({ code: w.code, message: w.message } as Notice);
    if (!opts.json) printMessage(`warning: ${w.code}: ${w.message}`);
  };
}
