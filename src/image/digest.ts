// Digests: parsing and validation of `algorithm:hex` strings (sha256, sha512 only) and the
// blob path they map to. A digest is validated here BEFORE any path is built from it; this
// module never touches the file system.
import type { Hash } from 'node:crypto';
import { OciBundleError } from '../errors.js';
import { nodeCrypto } from '../host/lazy-builtins.js';

export type DigestAlgorithm = 'sha256' | 'sha512';

const HEX_LENGTH: Record<DigestAlgorithm, number> = { sha256: 64, sha512: 128 };
const DIGEST_RE = /^(sha256|sha512):([0-9a-f]+)$/;

export interface ParsedDigest {
  algorithm: DigestAlgorithm;
  hex: string;
}

/** Parses and validates a digest; throws EBADDIGEST for anything not sha256/sha512 lowercase hex. */
export function parseDigest(digest: unknown, what = 'digest'): ParsedDigest {
  if (typeof digest !== 'string') throw new OciBundleError('EBADDIGEST', `${what} is not a string`);
  const m = DIGEST_RE.exec(digest);
  const algorithm = m?.[1] as DigestAlgorithm | undefined;
  const hex = m?.[2];
  if (!algorithm || hex === undefined || hex.length !== HEX_LENGTH[algorithm]) {
    throw new OciBundleError('EBADDIGEST', `invalid ${what} ${JSON.stringify(digest.slice(0, 200))}: want sha256:<64 hex> or sha512:<128 hex>`);
  }
  return { algorithm, hex };
}

export function isValidDigest(digest: unknown): digest is string {
  if (typeof digest !== 'string') return false;
  const m = DIGEST_RE.exec(digest);
  return !!m && m[2]!.length === HEX_LENGTH[m[1] as DigestAlgorithm];
}

/** Relative path of a blob inside a layout, e.g. `blobs/sha256/<hex>`; validates first. */
export function blobRelPath(digest: string): string {
  const { algorithm, hex } = parseDigest(digest);
  return `blobs/${algorithm}/${hex}`;
}

export function newHash(algorithm: DigestAlgorithm): Hash {
  return nodeCrypto().createHash(algorithm);
}

/** The digest of some bytes, `sha256:` by default. */
export function digestOf(bytes: Uint8Array, algorithm: DigestAlgorithm = 'sha256'): string {
  return `${algorithm}:${nodeCrypto().createHash(algorithm).update(bytes).digest('hex')}`;
}
