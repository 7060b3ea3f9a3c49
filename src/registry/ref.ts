// Registry references: `[docker://]HOST[:PORT]/REPO[:TAG|@DIGEST]` split into host, repository
// and tag or digest, with the distribution-spec name rules and Docker Hub's short names.
// Pure parsing: no I/O, no credentials.
import { OciBundleError } from '../errors.js';
import { parseDigest } from '../image/digest.js';

export interface RegistryRef {
  /** The registry as written (host[:port]); used for credentials lookup and messages. */
  host: string;
  /** Where requests go (docker.io -> registry-1.docker.io). */
  apiHost: string;
  /** Repository path, e.g. `library/busybox`. */
  repo: string;
  tag?: string;
  digest?: string;
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const HOSTPORT = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)(?::[0-9]{1,5})?$/;
export const DOCKER_HUB = 'docker.io';

/** The reference for messages, with any `user:pass@` a user pasted from a URL redacted. */
function shown(ref: string): string {
  return JSON.stringify(ref.replace(/^((?:[a-z]+:\/\/)?)[^/@]*:[^/@]*@(?!(?:sha256|sha512):)/, '$1<redacted>@').slice(0, 300));
}

function bad(ref: string, why: string): OciBundleError {
  return new OciBundleError('EBADREF', `invalid registry reference ${shown(ref)}: ${why}`);
}

/** Parses a registry reference; EBADREF naming the reference when it is malformed. */
export function parseRegistryRef(input: string): RegistryRef {
  let s = input.startsWith('docker://') ? input.slice('docker://'.length) : input;
  if (s.startsWith('//')) s = s.slice(2);
  if (s === '') throw bad(input, 'empty');
  let digest: string | undefined;
  const at = s.indexOf('@');
  if (at >= 0) {
    digest = s.slice(at + 1);
    s = s.slice(0, at);
    try {
      parseDigest(digest);
    } catch (e) {
      throw new OciBundleError('EBADREF', `invalid registry reference ${shown(input)}: bad digest after '@'`);
    }
  }
  let tag: string | undefined;
  const lastSlash = s.lastIndexOf('/');
  const colon = s.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = s.slice(colon + 1);
    s = s.slice(0, colon);
    if (!TAG.test(tag)) throw bad(input, `invalid tag ${JSON.stringify(tag.slice(0, 200))}`);
  }
  const slash = s.indexOf('/');
  const first = slash >= 0 ? s.slice(0, slash) : '';
  let host: string;
  let repo: string;
  if (slash >= 0 && (first.includes('.') || first.includes(':') || first === 'localhost' || first.startsWith('['))) {
    host = first;
    repo = s.slice(slash + 1);
  } else {
    host = DOCKER_HUB;
    repo = s;
  }
  if (!HOSTPORT.test(host)) throw bad(input, `invalid registry host ${JSON.stringify(host.slice(0, 200))}`);
  const port = /:([0-9]+)$/.exec(host)?.[1];
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) throw bad(input, `invalid port ${port}`);
  if (host === DOCKER_HUB || host === 'index.docker.io') {
    host = DOCKER_HUB;
    if (!repo.includes('/')) repo = `library/${repo}`;
  }
  if (repo === '' || repo.length > 255 || !repo.split('/').every((c) => COMPONENT.test(c))) {
    throw bad(input, `invalid repository name ${JSON.stringify(repo.slice(0, 200))}`);
  }
  const out: RegistryRef = { host, apiHost: host === DOCKER_HUB ? 'registry-1.docker.io' : host, repo };
  if (digest !== undefined) out.digest = digest;
  else out.tag = tag ?? 'latest';
  return out;
}

/** `host/repo:tag` or `host/repo@digest`, for messages. */
export function formatRegistryRef(r: RegistryRef): string {
  return `${r.host}/${r.repo}${r.digest !== undefined ? `@${r.digest}` : `:${r.tag ?? 'latest'}`}`;
}

