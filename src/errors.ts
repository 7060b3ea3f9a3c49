// The one error type of ocibundle: a stable string `code`, a lowercase message that names
// the digest or entry path at fault, and an optional `cause`. Also the code -> exit-status
// table used by the CLI. Knows nothing of the CLI or of any subsystem.

/** Exit statuses, documented in the README. */
export const EXIT = {
  ok: 0,
  failure: 1, // an I/O or system failure, or anything unexpected
  usage: 2, // bad arguments or flags
  notFound: 3, // layout, tag, platform or blob not found
  invalid: 4, // the image is malformed or hostile: digest, size, schema, tar, path
  conflict: 5, // the target exists (init on an existing path, bundle without --force)
  limit: 6, // a size or resource limit was hit (--max-size, JSON cap, disk full)
  interrupted: 130, // SIGINT/SIGTERM; cleanup ran
} as const;

/** Every error code, with the exit status it maps to. Codes are stable API. */
export const ERROR_CODES = {
  EUSAGE: EXIT.usage,
  ENOLAYOUT: EXIT.notFound,
  ENOTAG: EXIT.notFound,
  ENOPLATFORM: EXIT.notFound,
  ENOBLOB: EXIT.notFound,
  EAMBIGUOUS: EXIT.notFound,
  EBADLAYOUT: EXIT.invalid,
  EBADDIGEST: EXIT.invalid,
  EDIGEST: EXIT.invalid, // content does not match its digest
  ESIZE: EXIT.invalid, // content does not match its declared size
  EDIFFID: EXIT.invalid,
  ESCHEMA: EXIT.invalid,
  EMEDIATYPE: EXIT.invalid,
  EBADREF: EXIT.usage,
  EBLOBTYPE: EXIT.invalid, // a blob that is not a regular file, or escapes the layout
  ETOODEEP: EXIT.invalid,
  ETAR: EXIT.invalid, // malformed or unsupported tar
  ECOMPRESS: EXIT.invalid, // a corrupt gzip/zstd stream, or no usable decompressor
  EPATH: EXIT.invalid, // an entry name or link target that is not allowed
  EWHITEOUT: EXIT.invalid,
  ECONFIG: EXIT.invalid, // image config value that cannot be converted
  ENOUSER: EXIT.invalid,
  EEXIST: EXIT.conflict,
  ELIMIT: EXIT.limit,
  EINTERRUPTED: EXIT.interrupted,
  EIO: EXIT.failure,
  ENATIVE: EXIT.failure,
  ELOCK: EXIT.failure, // the layout's index lock could not be taken in time
  EINVALID: EXIT.invalid, // validate found one or more problems (each printed on stdout)
  EAUTH: EXIT.notFound, // a registry refused access (401/403); registries also answer so for a repository that does not exist
  ENETWORK: EXIT.failure, // a registry could not be reached or kept failing (5xx/429) after bounded retries
  EBUNDLE: EXIT.invalid, // a bundle's metadata (umoci.json, the mtree) is missing, malformed or inconsistent
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class OciBundleError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'OciBundleError';
    this.code = code;
  }
  get exitCode(): number {
    return ERROR_CODES[this.code];
  }
}

export function isOciBundleError(e: unknown): e is OciBundleError {
  return e instanceof OciBundleError;
}

/** Exit status for any thrown value. */
export function exitCodeOf(e: unknown): number {
  if (isOciBundleError(e)) return e.exitCode;
  const code = (e as { code?: unknown } | null)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return EXIT.limit;
  return EXIT.failure;
}

/** A one-line message for stderr: `ocibundle: CODE: message`, causes folded in. */
export function oneLine(e: unknown): string {
  const parts: string[] = [];
  let cur: unknown = e;
  for (let depth = 0; cur !== undefined && cur !== null && depth < 4; depth++) {
    const msg = cur instanceof Error ? cur.message : String(cur);
    if (msg && !parts.some((p) => p.includes(msg))) parts.push(msg);
    cur = cur instanceof Error ? cur.cause : undefined;
  }
  // a raw system error is printed under the documented code its exit status stands for
  const code = isOciBundleError(e) ? e.code : exitCodeOf(e) === EXIT.limit ? 'ELIMIT' : 'EIO';
  return `${String(code)}: ${parts.join(': ').replace(/\s*\n\s*/g, ' ')}`;
}

/** Coded warnings go through one callback; the CLI prints each distinct one once. */
export interface Warning {
  code: string;
  message: string;
}
export type WarnFn = (w: Warning) => void;
