// The one list of image transports: which ocibundle reads (sources) and writes (copy
// destinations), how each is spelled in help and errors, and skopeo's other transports, which
// are refused by name instead of being taken for a layout directory called `dir:` or the like.
// Implementing a transport is one row here plus its parser. Pure.
import { OciBundleError } from '../errors.js';

export interface Transport {
  /** How a name of this transport is written (help text, errors); `destSpelling` when a destination is written otherwise. */
  spelling: string;
  destSpelling?: string;
  source: boolean;
  destination: boolean;
}

export const TRANSPORTS: Record<string, Transport> = {
  oci: { spelling: 'oci:PATH[:TAG]', source: true, destination: true },
  dir: { spelling: 'dir:PATH', source: true, destination: true },
  'oci-archive': { spelling: 'oci-archive:FILE[:TAG]', source: true, destination: true },
  'docker-archive': { spelling: 'docker-archive:FILE[:REPO:TAG]', source: true, destination: true },
  docker: { spelling: 'docker://HOST[:PORT]/REPO[:TAG|@DIGEST]', destSpelling: 'docker://HOST[:PORT]/REPO[:TAG]', source: true, destination: true },
};

/** skopeo's transports (containers-image), so that `dir:out` is not a layout named `dir:out`. */
const KNOWN_TRANSPORTS = ['containers-storage', 'docker-daemon', 'ostree', 'sif', 'tarball', 'atomic'];

/** `a, b or c` */
function orList(items: string[]): string {
  return items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} or ${items.at(-1)}`;
}

/** The names a role accepts, for help text: bare layout names first. */
export function spellings(role: 'source' | 'destination'): string {
  const bare = role === 'source' ? ['PATH[:TAG]', 'PATH@sha256:HEX'] : ['PATH[:TAG]'];
  return orList([...bare, ...Object.values(TRANSPORTS).filter((t) => t[role]).map((t) => (role === 'destination' ? (t.destSpelling ?? t.spelling) : t.spelling))]);
}

/** The transport a name starts with (`docker` for `docker://...`), if it is one of the known ones. */
function transportOf(name: string): string | undefined {
  const m = /^([a-z][a-z0-9-]*):/.exec(name);
  if (!m) return undefined;
  const t = m[1]!;
  return t in TRANSPORTS || KNOWN_TRANSPORTS.includes(t) ? t : undefined;
}

/** EUSAGE for a known transport that ocibundle does not read (role source) or write (destination). */
export function checkTransport(name: string, role: 'source' | 'destination'): void {
  const t = transportOf(name);
  if (t === undefined || TRANSPORTS[t]?.[role]) return;
  const what = role === 'source' ? 'read images from' : 'copy images to';
  throw new OciBundleError('EUSAGE', `ocibundle cannot ${what} ${t}: names; ${role === 'source' ? 'sources' : 'destinations'} are ${spellings(role)}`);
}
