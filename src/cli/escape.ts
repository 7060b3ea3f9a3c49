// The one escaping rule for text ocibundle prints: every string that reaches the terminal
// (errors, warnings, messages, ls/stat/validate lines, JSON) passes through here at the
// print boundary, so names taken from an image, an archive or a registry cannot carry
// terminal control sequences. Pure functions; output.ts and main.ts apply them.

// C0 controls, DEL, C1 controls, line/paragraph separators, bidirectional overrides and isolates
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const UNSAFE_KEEP_TAB = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

function code(c: string): string {
  const n = c.charCodeAt(0);
  return n < 0x100 ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`;
}

/** One line of text with every control character shown as `\xHH` (`\uHHHH` above 0xff). */
export function escapeControls(s: string): string {
  return s.replace(UNSAFE, code);
}

/** The same for one line of tabular data (ls, stat): tabs stay, they lay out the columns. */
export function escapeDataLine(s: string): string {
  return s.replace(UNSAFE_KEEP_TAB, code);
}

/**
 * JSON text with the characters JSON.stringify leaves raw (DEL, C1, separators, bidi) written
 * as \uHHHH escapes: the same JSON value, but nothing a terminal acts on.
 */
export function escapeJsonText(json: string): string {
  return json.replace(/[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
