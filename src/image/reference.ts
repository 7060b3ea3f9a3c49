// Image references as umoci spells them: `PATH[:TAG]` where the LAST colon separates the
// tag (default `latest`), plus `PATH@sha256:HEX` for an untagged image. Tags follow the
// image-spec org.opencontainers.image.ref.name grammar. Pure string parsing, no I/O.
import { OciBundleError } from '../errors.js';
import { isValidDigest } from './digest.js';

export interface ImageRef {
  path: string;
  /** The tag (ref.name), absent for a digest reference. */
  tag?: string;
  /** A manifest or index digest, for `PATH@sha256:HEX`. */
  digest?: string;
}

// component ::= alphanum (separator alphanum)*; separator ::= [-._:@+] | "--"; ref ::= component ("/" component)*
const COMPONENT = '[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*';
const REF_NAME = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);

export function isValidRefName(name: string): boolean {
  return name.length <= 4096 && REF_NAME.test(name);
}

/** Checks a tag name; EBADREF otherwise. */
export function checkTag(tag: string): string {
  if (tag === '') throw new OciBundleError('EBADREF', 'tag is empty');
  if (!isValidRefName(tag)) throw new OciBundleError('EBADREF', `invalid tag ${JSON.stringify(tag.slice(0, 200))}: not an org.opencontainers.image.ref.name`);
  return tag;
}

function checkPath(path: string, ref: string): string {
  if (path === '') throw new OciBundleError('EBADREF', `invalid image reference ${JSON.stringify(ref)}: path is empty`);
  if (path.includes(':')) throw new OciBundleError('EBADREF', `invalid image reference ${JSON.stringify(ref)}: path contains ':'`);
  return path;
}

/** Checks a --layout path the way umoci does (non-empty, no ':'). */
export function checkLayoutPath(path: string): string {
  if (path === '') throw new OciBundleError('EBADREF', 'invalid layout path: path is empty');
  if (path.includes(':')) throw new OciBundleError('EBADREF', `invalid layout path ${JSON.stringify(path)}: path contains ':'`);
  return path;
}

export function parseImageRef(ref: string): ImageRef {
  const at = ref.lastIndexOf('@');
  if (at >= 0 && /^@(sha256|sha512):/.test(ref.slice(at))) {
    const digest = ref.slice(at + 1);
    if (!isValidDigest(digest)) throw new OciBundleError('EBADREF', `invalid image reference ${JSON.stringify(ref)}: malformed digest`);
    return { path: checkPath(ref.slice(0, at), ref), digest };
  }
  const sep = ref.lastIndexOf(':');
  if (sep < 0) return { path: checkPath(ref, ref), tag: 'latest' };
  const path = checkPath(ref.slice(0, sep), ref);
  const tag = ref.slice(sep + 1);
  try {
    checkTag(tag);
  } catch (e) {
    throw new OciBundleError('EBADREF', `invalid image reference ${JSON.stringify(ref)}: ${(e as Error).message}`);
  }
  return { path, tag };
}

export function formatImageRef(r: ImageRef): string {
  return r.digest ? `${r.path}@${r.digest}` : `${r.path}:${r.tag ?? 'latest'}`;
}
