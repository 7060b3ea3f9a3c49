// A bundle's umoci metadata: BUNDLE/umoci.json (umoci_version "2", the descriptor walk from
// the index entry to the manifest, id maps, rootless flag) and BUNDLE/sha256_<hex>.mtree.
// Written as umoci 0.4.7 writes them, so either tool repacks the other's bundles; read back
// as untrusted input (shape, digests, maps and the mtree all checked).
import { readFileSync, readdirSync, rmSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import { OciBundleError } from '../errors.js';
import { isValidDigest, type Descriptor } from '../image/index.js';
import type { IdMap } from '../layer/ids.js';
import { writeFileAtomic } from '../runtime-config.js';
import { formatMtree, MAX_MTREE_BYTES, parseMtree, type Mtree, type MtreeSource } from './mtree-spec.js';

export const META_NAME = 'umoci.json';
const MANIFEST_TYPES = new Set(['application/vnd.oci.image.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v2+json']);
const MAX_META_BYTES = 4 * 1024 * 1024;

export interface BundleMeta {
  /** index.json entry first, the manifest last. */
  descriptorPath: Descriptor[];
  uidMap: IdMap[];
  gidMap: IdMap[];
  rootless: boolean;
}

/** ctime of the mtree file as written, kept in umoci.json: while the mtree still has it, files
 * whose ctime is not later were not touched since (repack skips hashing them). */
const STAMP_KEY = 'ocibundle_mtree_ctime_ns';

export function mtreeName(manifestDigest: string): string {
  return `${manifestDigest.replace(/^sha256:/, 'sha256_')}.mtree`;
}

function mapsJson(m: IdMap[]): { containerID: number; hostID: number; size: number }[] | null {
  return m.length === 0 ? null : m.map((x) => ({ containerID: x.containerID, hostID: x.hostID, size: x.size }));
}

/** The maps umoci records: rootless without maps means "container 0 is me". */
export function recordedMaps(meta: Pick<BundleMeta, 'uidMap' | 'gidMap' | 'rootless'>): { uid: IdMap[]; gid: IdMap[] } {
  if (!meta.rootless || meta.uidMap.length > 0 || meta.gidMap.length > 0) return { uid: meta.uidMap, gid: meta.gidMap };
  return {
    uid: [{ containerID: 0, hostID: process.geteuid?.() ?? 0, size: 1 }],
    gid: [{ containerID: 0, hostID: process.getegid?.() ?? 0, size: 1 }],
  };
}

/**
 * Writes the mtree (streamed out as it is formatted), then umoci.json (so umoci.json never names a missing mtree), and removes
 * mtrees of other manifests that an earlier unpack or repack left in the bundle.
 */
export function writeBundleMeta<H>(bundle: string, meta: BundleMeta, tree: Mtree | MtreeSource<H>): void {
  const manifest = meta.descriptorPath[meta.descriptorPath.length - 1];
  if (!manifest) throw new OciBundleError('EBUNDLE', 'no manifest descriptor to record');
  const name = mtreeName(manifest.digest);
  writeFileAtomic(join(bundle, name), formatMtree(tree, { tree: join(bundle, 'rootfs'), date: new Date() }));
  const stamp = lstatSync(join(bundle, name), { bigint: true }).ctimeNs.toString();
  const maps = recordedMaps(meta);
  const doc = {
    umoci_version: '2',
    from_descriptor_path: { descriptor_walk: meta.descriptorPath },
    map_options: { uid_mappings: mapsJson(maps.uid), gid_mappings: mapsJson(maps.gid), rootless: meta.rootless },
    whiteout_mode: 0,
    [STAMP_KEY]: stamp,
  };
  writeFileAtomic(join(bundle, META_NAME), [JSON.stringify(doc)]);
  for (const n of readdirSync(bundle)) {
    if (n !== name && /^sha256_[0-9a-f]{64}\.mtree$/.test(n)) rmSync(join(bundle, n), { force: true });
  }
}

/** Removes what writeBundleMeta made (unpack --force into a bundle, --no-mtree). */
export function removeBundleMeta(bundle: string): void {
  for (const n of readdirSync(bundle)) {
    if (n === META_NAME || /^sha256_[0-9a-f]{64}\.mtree$/.test(n)) rmSync(join(bundle, n), { force: true });
  }
}

function readSmallRegular(path: string, cap: number, what: string): Buffer {
  let st;
  try {
    st = lstatSync(path);
  } catch (e) {
    throw new OciBundleError('EBUNDLE', `${what} ${path} is missing (was the bundle made by unpack?)`, { cause: e });
  }
  if (!st.isFile()) throw new OciBundleError('EBUNDLE', `${what} ${path} is not a regular file`);
  if (st.size > cap) throw new OciBundleError('EBUNDLE', `${what} ${path} is larger than ${cap} bytes`);
  return readFileSync(path);
}

function checkMaps(v: unknown, what: string): IdMap[] {
  if (v === null || v === undefined) return [];
  if (!Array.isArray(v) || v.length > 340) throw new OciBundleError('EBUNDLE', `umoci.json: ${what} is not a list of id maps`);
  return v.map((m: unknown) => {
    const o = m as Record<string, unknown> | null;
    const n = (k: string) => {
      const x = o?.[k];
      if (typeof x !== 'number' || !Number.isInteger(x) || x < 0 || x > 0xffffffff) throw new OciBundleError('EBUNDLE', `umoci.json: ${what} has a bad ${k}`);
      return x;
    };
    return { containerID: n('containerID'), hostID: n('hostID'), size: n('size') };
  });
}

function checkDescriptor(d: unknown, i: number): Descriptor {
  const o = d as Record<string, unknown> | null;
  if (!o || typeof o !== 'object' || typeof o['mediaType'] !== 'string' || typeof o['digest'] !== 'string' || !isValidDigest(o['digest'])
    || typeof o['size'] !== 'number' || !Number.isSafeInteger(o['size']) || o['size'] < 0) {
    throw new OciBundleError('EBUNDLE', `umoci.json: descriptor_walk[${i}] is not a valid descriptor`);
  }
  return o as unknown as Descriptor;
}

/** Reads and checks umoci.json and the mtree it names. */
export function readBundleMeta(bundle: string): { meta: BundleMeta; mtree: Mtree; mtreePath: string; trustedUntil: { sec: number; nsec: number } | null } {
  const raw = readSmallRegular(join(bundle, META_NAME), MAX_META_BYTES, 'bundle metadata');
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new OciBundleError('EBUNDLE', `${join(bundle, META_NAME)} is not valid json`, { cause: e });
  }
  if (doc?.['umoci_version'] !== '2') throw new OciBundleError('EBUNDLE', `umoci.json: umoci_version ${JSON.stringify(doc?.['umoci_version'])} is not "2"`);
  const walk = (doc['from_descriptor_path'] as Record<string, unknown> | undefined)?.['descriptor_walk'];
  if (!Array.isArray(walk) || walk.length === 0 || walk.length > 16) throw new OciBundleError('EBUNDLE', 'umoci.json: from_descriptor_path.descriptor_walk is missing or empty');
  const descriptorPath = walk.map(checkDescriptor);
  const manifest = descriptorPath[descriptorPath.length - 1]!;
  if (!MANIFEST_TYPES.has(manifest.mediaType)) throw new OciBundleError('EBUNDLE', `umoci.json: the last descriptor is a ${manifest.mediaType}, not an image manifest`);
  const mo = (doc['map_options'] ?? {}) as Record<string, unknown>;
  const rootless = mo['rootless'] === true;
  const meta: BundleMeta = { descriptorPath, uidMap: checkMaps(mo['uid_mappings'], 'uid_mappings'), gidMap: checkMaps(mo['gid_mappings'], 'gid_mappings'), rootless };
  const mtreePath = join(bundle, mtreeName(manifest.digest));
  const text = readSmallRegular(mtreePath, MAX_MTREE_BYTES, 'mtree').toString('utf8');
  const recorded = doc[STAMP_KEY];
  let trustedUntil: { sec: number; nsec: number } | null = null;
  if (typeof recorded === 'string' && /^\d{1,25}$/.test(recorded) && lstatSync(mtreePath, { bigint: true }).ctimeNs.toString() === recorded) {
    const ns = BigInt(recorded);
    trustedUntil = { sec: Number(ns / 1_000_000_000n), nsec: Number(ns % 1_000_000_000n) };
  }
  return { meta, mtree: parseMtree(text), mtreePath, trustedUntil };
}
