// Glue between the image, the rootfs and src/spec: reads /etc/passwd and /etc/group confined
// to a rootfs, calls the pure generator, and writes config.json atomically. Used by `unpack`
// (in-process, before the bundle is published) and by `raw runtime-config`.
import { closeSync, existsSync, fsyncSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { checkRuntimeConfigOptions } from './api-options.js';
import { OciBundleError, renameInError, toOciBundleError, type WarnFn } from './errors.js';
import { createTempFileSync } from './host/temp.js';
import { fsyncDirSync } from './host/durable.js';
import { RootFS } from './fs/rootfs.js';
import { assertOutsideSources, assertPathArg } from './host/guard.js';
import type { ImageConfig } from './image/index.js';
import { openImage } from './open-image.js';
import { localSourcePaths, type SourceOptions } from './source/index.js';
import { generateRuntimeConfig, type GenerateOptions, type IdMap, type RuntimeSpec, type ShapeOptions } from './spec/index.js';

/** Flags of config.json; the shaping options (args, env, mounts, patch ...) are ShapeOptions. */
export interface RuntimeConfigOptions extends ShapeOptions {
  tty?: boolean;
  volumes?: boolean;
  rootless?: boolean;
  uidMap?: IdMap[];
  gidMap?: IdMap[];
  hostname?: string;
  passwd: string | null;
  group: string | null;
  warn?: WarnFn;
}

const PASSWD_CAP = 4 * 1024 * 1024;

export function buildRuntimeConfig(config: ImageConfig, opts: RuntimeConfigOptions): RuntimeSpec {
  const g: GenerateOptions = {
    ...pickShape(opts),
    passwd: opts.passwd,
    group: opts.group,
    tty: opts.tty ?? false,
    volumes: opts.volumes ?? true,
    rootless: opts.rootless ?? false,
    uidMap: opts.uidMap ?? [],
    gidMap: opts.gidMap ?? [],
    hostHasResolvConf: existsSync('/etc/resolv.conf'),
  };
  if (opts.hostname !== undefined) g.hostname = opts.hostname;
  if (opts.warn) g.warn = opts.warn;
  return generateRuntimeConfig(config, g);
}

const SHAPE_KEYS = ['args', 'entrypoint', 'cmd', 'env', 'cwd', 'user', 'mounts', 'annotations', 'readonlyRootfs', 'net', 'configPatch'] as const;

/** Only the ShapeOptions members of a wider options object (unpack's carry more). */
export function pickShape(o: ShapeOptions): ShapeOptions {
  const out: Record<string, unknown> = {};
  for (const k of SHAPE_KEYS) if (o[k] !== undefined) out[k] = o[k];
  return out as ShapeOptions;
}

/** /etc/passwd and /etc/group of a rootfs, read through RootFS (symlinks stay inside it). */
export function readUserDb(fs: RootFS): { passwd: string | null; group: string | null } {
  const read = (p: string) => fs.readFile(p, PASSWD_CAP)?.toString('utf8') ?? null;
  return { passwd: read('etc/passwd'), group: read('etc/group') };
}

/** Write a text file atomically: temp file beside it, rename (a kill leaves the old file or
 * the new one). `durable`: fsync it before the rename and its directory after. */
export function writeFileAtomic(path: string, text: string | Iterable<string>, mode = 0o644, durable = false): void {
  let tmp: string | undefined;
  try {
    const created = createTempFileSync(dirname(path), 'config', mode);
    tmp = created.path;
    const fd = created.fd;
    try {
      for (const piece of typeof text === 'string' ? [text] : text) writeSync(fd, piece);
      if (durable) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
    if (durable) fsyncDirSync(dirname(path));
  } catch (e) {
    if (tmp !== undefined) rmSync(tmp, { force: true });
    // A temp file that could not even be created is named by the error: it is ours, not the user's.
    const temp = tmp ?? (e as { path?: unknown } | null)?.path;
    const err = toOciBundleError(e, `cannot write ${path}`);
    throw typeof temp === 'string' ? renameInError(err, temp, path) : err;
  }
}

export interface WriteRuntimeConfigOptions extends Omit<RuntimeConfigOptions, 'passwd' | 'group' | 'warn'> {
  image: string;
  /** Registry flags for docker:// names. */
  source?: SourceOptions;
  /** The file to write; omitted: nothing is written, the document is only returned. */
  config?: string;
  platform?: string;
  /** An unpacked rootfs to resolve named users in; without it a named user is an error. */
  rootfs?: string;
  force?: boolean;
  onWarning?: WarnFn;
}

/** config.json's bytes: tab-indented JSON and a final newline (as `unpack` writes it). */
export function runtimeConfigText(spec: RuntimeSpec): string {
  return `${JSON.stringify(spec, null, '\t')}\n`;
}

/** `raw runtime-config`: write only config.json for an image. */
export async function writeRuntimeConfig(opts: WriteRuntimeConfigOptions): Promise<RuntimeSpec> {
  checkRuntimeConfigOptions(opts);
  if (opts.config !== undefined) {
    assertPathArg(opts.config, 'config');
    // never over a file of the source (`raw runtime-config --force --image L L/index.json`)
    assertOutsideSources(opts.config, 'config', localSourcePaths(opts.image, opts.source ?? {}));
  }
  if (opts.config !== undefined && existsSync(opts.config) && !opts.force) {
    throw new OciBundleError('EEXIST', `${opts.config} exists (use --force to replace it)`);
  }
  const img = await openImage(opts.image, opts.platform, opts.source ?? {}, opts.onWarning);
  await img.close(); // everything needed (the config) is read
  let db: { passwd: string | null; group: string | null } = { passwd: null, group: null };
  if (opts.rootfs !== undefined) {
    const fs = RootFS.open(opts.rootfs);
    try {
      db = readUserDb(fs);
    } finally {
      fs.close();
    }
  }
  const spec = buildRuntimeConfig(img.config, { ...opts, ...db, ...(opts.onWarning ? { warn: opts.onWarning } : {}) });
  if (opts.config !== undefined) writeFileAtomic(opts.config, runtimeConfigText(spec));
  return spec;
}
