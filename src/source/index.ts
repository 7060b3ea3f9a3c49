// Image source names as skopeo spells them -> an open Layout plus the ref to resolve in it:
// `oci:PATH[:TAG]` (= bare `PATH[:TAG]` / `PATH@DIGEST`), `oci-archive:FILE[:TAG]`,
// `docker-archive:FILE[:REPO:TAG]`, `docker://HOST[:PORT]/REPO[:TAG|@DIGEST]`. Only parses
// and dispatches; each transport lives in its own module (registry/ is loaded on demand).
import { OciBundleError, type WarnFn } from '../errors.js';
import { openLayout, type Layout } from '../image/layout.js';
import { parseImageRef } from '../image/reference.js';
import { checkTransport } from './transports.js';

export interface RegistryOptions {
  creds?: string;
  authfile?: string;
  tlsVerify?: boolean;
  cacheDir?: string;
  /** Token realms on other hosts that may receive the registry credentials (see README, Security). */
  trustRealms?: string[];
  /** The low-speed rule: fewer than `lowSpeedBytes` in `lowSpeedMs` fails a transfer (1024 in 30 000). */
  lowSpeedBytes?: number;
  lowSpeedMs?: number;
  /** Notices such as a registry asking to wait (Retry-After). */
  onWarning?: WarnFn;
}

export interface SourceOptions {
  /** `os/arch[/variant]` to pick from an index (resolution uses it; sources may too). */
  platform?: string;
  registry?: RegistryOptions;
}

export interface OpenedSource {
  layout: Layout;
  /** A tag of `layout` or `@sha256:HEX`. */
  ref: string;
  close(): Promise<void>;
}

export type SourceName =
  | { transport: 'oci'; path: string; ref: string }
  | { transport: 'oci-archive'; path: string; ref: string | undefined }
  | { transport: 'docker-archive'; path: string; repoTag: string | undefined }
  | { transport: 'docker'; rest: string }
  | { transport: 'dir'; path: string };

function splitRef(rest: string, transport: string, name: string): { path: string; ref: string; explicit: boolean } {
  try {
    const r = parseImageRef(rest);
    const explicit = r.digest !== undefined || rest.includes(':');
    return { path: r.path, ref: r.digest !== undefined ? `@${r.digest}` : (r.tag ?? 'latest'), explicit };
  } catch (e) {
    throw new OciBundleError('EBADREF', `invalid ${transport} source ${JSON.stringify(name.slice(0, 300))}: ${(e as Error).message}`, { cause: e });
  }
}

/** Parses a source name (pure). A bare name is an OCI layout, as umoci spells it. */
export function parseSourceName(name: string): SourceName {
  checkTransport(name, 'source');
  if (name.startsWith('docker://')) {
    const rest = name.slice('docker://'.length);
    if (rest === '') throw new OciBundleError('EBADREF', 'invalid docker source "docker://": no repository');
    return { transport: 'docker', rest };
  }
  if (name.startsWith('dir:')) {
    const path = name.slice('dir:'.length);
    if (path === '') throw new OciBundleError('EBADREF', 'invalid dir source "dir:": no path');
    return { transport: 'dir', path };
  }
  if (name.startsWith('docker-archive:')) {
    const rest = name.slice('docker-archive:'.length);
    const colon = rest.indexOf(':');
    const path = colon < 0 ? rest : rest.slice(0, colon);
    const repoTag = colon < 0 ? undefined : rest.slice(colon + 1);
    if (path === '') throw new OciBundleError('EBADREF', `invalid docker-archive source ${JSON.stringify(name)}: file is empty`);
    if (repoTag === '') throw new OciBundleError('EBADREF', `invalid docker-archive source ${JSON.stringify(name)}: empty REPO:TAG`);
    return { transport: 'docker-archive', path, repoTag };
  }
  if (name.startsWith('oci-archive:')) {
    const r = splitRef(name.slice('oci-archive:'.length), 'oci-archive', name);
    return { transport: 'oci-archive', path: r.path, ref: r.explicit ? r.ref : undefined };
  }
  const rest = name.startsWith('oci:') ? name.slice('oci:'.length) : name;
  const r = splitRef(rest, 'oci', name);
  return { transport: 'oci', path: r.path, ref: r.ref };
}

/** The local files and directories a source name reads (the layout, the archive, the blob cache). */
export function localSourcePaths(name: string, opts: SourceOptions = {}): string[] {
  const s = parseSourceName(name);
  if (s.transport !== 'docker') return [s.path];
  const cache = opts.registry?.cacheDir;
  return cache === undefined ? [] : [cache];
}

interface RegistryModule {
  openRegistry(ref: string, opts: RegistryOptions): Promise<OpenedSource>;
}

async function loadRegistry(): Promise<RegistryModule> {
  let mod: Partial<RegistryModule>;
  try {
    // a literal path, so the bundled CLI (scripts/bundle.mjs) carries the module
    mod = (await import('../registry/index.js')) as Partial<RegistryModule>;
  } catch (e) {
    throw new OciBundleError('EUSAGE', 'docker:// sources are not available in this build: the registry client is missing', { cause: e });
  }
  if (typeof mod.openRegistry !== 'function') throw new OciBundleError('EUSAGE', 'docker:// sources are not available in this build: the registry client has no openRegistry');
  return mod as RegistryModule;
}

const noClose = async (): Promise<void> => undefined;

/** Opens any source name; close() when done (a no-op for layouts and archives). */
export async function openSource(name: string, opts: SourceOptions = {}): Promise<OpenedSource> {
  const s = parseSourceName(name);
  switch (s.transport) {
    case 'oci':
      return { layout: await openLayout(s.path), ref: s.ref, close: noClose };
    case 'oci-archive': {
      const { openOciArchive } = await import('./oci-archive.js');
      return { layout: await openOciArchive(s.path), ref: s.ref ?? 'latest', close: noClose };
    }
    case 'docker-archive': {
      const { openDockerArchive } = await import('./docker-archive.js');
      const a = await openDockerArchive(s.path, s.repoTag);
      return { layout: a.layout, ref: a.ref, close: noClose };
    }
    case 'dir': {
      const { openDirSource } = await import('./dir.js');
      return { layout: await openDirSource(s.path), ref: 'latest', close: noClose };
    }
    case 'docker': {
      const reg = await loadRegistry();
      return reg.openRegistry(s.rest, opts.registry ?? {});
    }
  }
}
