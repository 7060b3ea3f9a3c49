// Parsing untrusted JSON (image documents, archive members, registry answers, credential
// files) with one set of caps: a byte limit and a nesting-depth limit checked by a linear
// scan before JSON.parse, so no consumer (schema validation, walkers) recurses without bound.
// Knows nothing of what the documents mean; callers choose the error code and the name.
import { OciBundleError, type ErrorCode } from '../errors.js';

/** Deepest nesting of arrays/objects accepted; real image documents stay under 10. */
export const JSON_MAX_DEPTH = 100;

/** The deepest [ / { nesting in JSON text (strings skipped); stops counting past `limit`. */
export function jsonDepth(text: string, limit = Infinity): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) {
        max = depth;
        if (max > limit) return max;
      }
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return max;
}

export interface JsonCaps {
  /** The error code for bytes that are not JSON or nest too deep (ELIMIT is used for the size cap). */
  code: ErrorCode;
  /** Bytes allowed; undefined: the caller already capped them. */
  maxBytes?: number;
  maxDepth?: number;
  /** The text may hold secrets: the parser's message (which quotes the text) is not kept as the cause. */
  secret?: boolean;
}

/** Parses JSON bytes or text named `what` (e.g. "auth file /x"), within the caps. */
export function parseJsonCapped(input: Buffer | string, what: string, caps: JsonCaps): unknown {
  const size = typeof input === 'string' ? Buffer.byteLength(input) : input.length;
  if (caps.maxBytes !== undefined && size > caps.maxBytes) {
    throw new OciBundleError('ELIMIT', `${what} is ${size} bytes, over the ${caps.maxBytes}-byte limit`);
  }
  const text = typeof input === 'string' ? input : input.toString('utf8');
  const maxDepth = caps.maxDepth ?? JSON_MAX_DEPTH;
  if (jsonDepth(text, maxDepth) > maxDepth) throw new OciBundleError(caps.code, `${what} nests deeper than ${maxDepth} levels`);
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new OciBundleError(caps.code, `${what} is not valid json`, caps.secret ? {} : { cause: e });
  }
}
