// The one error type of ocibundle: a stable string `code`, a lowercase message that names
// the digest or entry path at fault, and an optional `cause`. Also the code -> exit-status
// table used by the CLI. Knows nothing of the CLI or of any subsystem.
import { isAbsolute, relative } from 'node:path';
import { getSystemErrorMap } from 'node:util';

/** Exit statuses, documented in the README. */
export const EXIT = {
  ok: 0,
  failure: 1, // an I/O or system failure, or anything unexpected
  usage: 2, // bad arguments or flags
  notFound: 3, // layout, tag, platform or blob not found
  invalid: 4, // the image is malformed or hostile: digest, size, schema, tar, path
  conflict: 5, // the target exists (init on an existing path, bundle without --force)
  limit: 6, // a size or resource limit was hit (--max-size, JSON cap, disk full)
  denied: 7, // the system refused: permission denied, operation not permitted, read-only file system
  interrupted: 130, // SIGINT/SIGTERM; cleanup ran
  pipe: 141, // stdout was closed by its reader (EPIPE); quiet, as coreutils die of SIGPIPE
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
  EACCES: EXIT.denied, // permission denied (EACCES), or an operation that needs privilege (EPERM: chown, mknod)
  EROFS: EXIT.denied, // a read-only file system
  ENOSPC: EXIT.limit, // the file system is full or the quota is exhausted (ENOSPC, EDQUOT)
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Errno codes of the system errors that have a class of their own, and that class. */
const SYSTEM_CLASSES: Record<string, ErrorCode> = { EACCES: 'EACCES', EPERM: 'EACCES', EROFS: 'EROFS', ENOSPC: 'ENOSPC', EDQUOT: 'ENOSPC' };
const CLASS_CODES = new Set<ErrorCode>(Object.values(SYSTEM_CLASSES));

/**
 * The class of a system refusal (permission, read-only, disk full) that `cause` is or wraps,
 * if any. Such a cause decides the code: an unreadable index.json is EACCES, not EBADLAYOUT.
 */
function systemClassOf(cause: unknown): ErrorCode | undefined {
  if (cause instanceof OciBundleError) return CLASS_CODES.has(cause.code) ? cause.code : undefined;
  const c = (cause as { code?: unknown } | null)?.code;
  return typeof c === 'string' ? SYSTEM_CLASSES[c] : undefined;
}

export class OciBundleError extends Error {
  readonly code: ErrorCode;
  /** What the user can do about it (printed after the message by the CLI), if anything helps. */
  hint?: string;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; hint?: string }) {
    super(message, options);
    this.name = 'OciBundleError';
    // An interruption stays one, whatever failed while the run was being torn down.
    this.code = code === 'EINTERRUPTED' ? code : (systemClassOf(options?.cause) ?? code);
    if (options?.hint !== undefined) this.hint = options.hint;
  }
  get exitCode(): number {
    return ERROR_CODES[this.code];
  }
}

export function isOciBundleError(e: unknown): e is OciBundleError {
  return e instanceof OciBundleError;
}

/**
 * Any thrown value as an OciBundleError: itself, or a system error classed by its errno (EIO
 * when it has no class), its message saying `what` failed on `path` when they are given.
 */
export function toOciBundleError(e: unknown, what?: string): OciBundleError {
  if (isOciBundleError(e)) return e;
  const code = systemClassOf(e) ?? 'EIO';
  if (what !== undefined) return new OciBundleError(code, what, { cause: e });
  const sys = systemErrorParts(e);
  return new OciBundleError(code, sys?.path ?? (sys ? 'system call failed' : 'unexpected failure'), { cause: e });
}

/** Replaces `from` (a temporary name) by `to` in the messages and paths of an error and its causes. */
export function renameInError<E>(e: E, from: string, to: string): E {
  for (let cur: unknown = e, depth = 0; cur instanceof Error && depth < 8; cur = cur.cause, depth++) {
    const se = cur as Error & { path?: unknown; dest?: unknown };
    se.message = se.message.split(from).join(to);
    if (typeof se.path === 'string') se.path = se.path.split(from).join(to);
    if (typeof se.dest === 'string') se.dest = se.dest.split(from).join(to);
  }
  return e;
}

/** Exit status for any thrown value. */
export function exitCodeOf(e: unknown): number {
  return toOciBundleError(e).exitCode;
}

interface SystemErrorParts {
  errno: string;
  description: string;
  syscall: string;
  path?: string;
  dest?: string;
}

/** Node's system error `EACCES: permission denied, open 'x'` taken apart. */
function systemErrorParts(e: unknown): SystemErrorParts | undefined {
  if (!(e instanceof Error)) return undefined;
  const se = e as Error & { code?: unknown; syscall?: unknown; path?: unknown; dest?: unknown };
  if (typeof se.code !== 'string' || typeof se.syscall !== 'string') return undefined;
  const m = /^[A-Z0-9_]+: (.*?), [a-z0-9_]+\b/.exec(se.message);
  // The addon's errors say only `eperm`: take the system's wording then.
  const said = m?.[1] !== undefined && m[1] !== se.code.toLowerCase() ? m[1] : undefined;
  const parts: SystemErrorParts = { errno: se.code, description: said ?? strerror(se.code), syscall: se.syscall };
  if (typeof se.path === 'string') parts.path = se.path;
  if (typeof se.dest === 'string') parts.dest = se.dest;
  return parts;
}

let strerrors: Map<string, string> | undefined;

/** The system's description of an errno name (`EPERM` -> `operation not permitted`). */
function strerror(errno: string): string {
  strerrors ??= new Map([...getSystemErrorMap().values()].map(([name, text]) => [name, text]));
  return strerrors.get(errno) ?? errno.toLowerCase();
}

/** True when `path` (maybe absolute where the user gave a relative one) was already said. */
function mentioned(path: string, said: string): boolean {
  return said.includes(path) || (isAbsolute(path) && said.includes(relative(process.cwd(), path) || '.'));
}

/** One part of the line: a system error says its cause and the path only if not said yet. */
function describe(e: unknown, said: string): string {
  const sys = systemErrorParts(e);
  if (!sys) return (e instanceof Error ? e.message : String(e)).replace(/^(E[A-Z0-9]+): (?=.)/, (all, c: string) => (c in ERROR_CODES || c in SYSTEM_CLASSES ? '' : all));
  const paths = [sys.path, sys.dest].filter((p): p is string => p !== undefined && !mentioned(p, said));
  return `${sys.description} (${[sys.syscall, ...paths.map((p) => `'${p}'`)].join(' ')})`;
}

/**
 * The one line the CLI prints: `CODE: message: cause (hint)`. Each cause is said once, without
 * its own code (the line has exactly one), and a system error names a path only if no earlier
 * part of the line did.
 */
export function oneLine(e: unknown): string {
  const err = toOciBundleError(e);
  const parts: string[] = [];
  let cur: unknown = err;
  for (let depth = 0; cur !== undefined && cur !== null && depth < 6; depth++) {
    const msg = describe(cur, parts.join(': '));
    if (msg && !parts.some((p) => p.includes(msg))) parts.push(msg);
    cur = cur instanceof Error ? cur.cause : undefined;
  }
  const line = `${err.code}: ${parts.join(': ')}${err.hint ? `; ${err.hint}` : ''}`;
  return line.replace(/\s*\n\s*/g, ' ');
}

/**
 * Every warning code, with what it means. Warnings never fail a command; the codes are stable
 * API like the error codes (a new warning gets a row here, or it does not compile).
 */
export const WARNING_CODES = {
  WBLOBREPLACED: 'copy found a destination blob that did not match and replaced it',
  WBUNDLEMODE: 'a directory above the rootfs cannot be searched by the mapped root of --uid-map',
  WCACHE: 'a cached registry blob was unusable and is fetched again',
  WCAPABILITY: 'security.capability dropped in rootless mode (each file named)',
  WCWD: 'the image WorkingDir is relative or climbs above /; the cleaned path is used',
  WDEVICE: 'device nodes written as empty files in rootless mode (a count and the first path)',
  WENV: 'an image Env entry dropped (no NAME=, or a nul byte)',
  WEXTRACA: 'the NODE_EXTRA_CA_CERTS file could not be read or holds no certificate; TLS uses the bundled roots',
  WGROUPS: 'supplementary groups dropped: setgroups is denied in a rootless user namespace',
  WLABEL: 'an image label not copied to the annotations (empty key, or a runtime-reserved prefix)',
  WNOARGS: 'the image has neither Entrypoint nor Cmd; process.args defaults to sh',
  WPLATFORM: "the chosen image's config platform differs from the --platform asked for",
  WRETRY: 'a failed registry request is retried (host, cause, attempt and wait)',
  WRETRYAFTER: 'a registry asked to wait (Retry-After) before a retry',
  WROOTENTRY: 'a non-directory entry for the rootfs root, ignored',
  WUNMAPPED: 'the process uid or gid is not covered by the id maps; the runtime will refuse it',
  WVOLUME: 'an image volume dropped or moved (covers the rootfs or a system mount, or not clean)',
  WXATTR: 'extended attributes not applied (policy or kernel refusal)',
} as const;

export type WarningCode = keyof typeof WARNING_CODES;

/** Coded warnings go through one callback; the CLI prints each distinct one once. */
export interface Warning {
  code: WarningCode;
  message: string;
}
export type WarnFn = (w: Warning) => void;
