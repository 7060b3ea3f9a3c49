// `docker-archive:FILE[:REPO:TAG]`: the output of `docker save` (legacy `<id>/layer.tar`
// members and the newer `blobs/sha256/<hex>` ones), served in place. manifest.json is read,
// and for each image an OCI manifest is synthesised in memory whose descriptors point at the
// archive members (digests computed during the one scan); index.json carries the RepoTags.
// Never extracts, never writes; the bytes are still verified by image/blob.ts when read.
import { OciBundleError } from '../errors.js';
import { digestOf } from '../image/digest.js';
import { JSON_CAP } from '../image/blob.js';
import { parseJsonCapped } from '../image/json.js';
import { parseIndexJson, type Layout } from '../image/layout.js';
import { MT } from '../image/media-types.js';
import { REF_NAME_ANNOTATION, type Descriptor } from '../image/types.js';
import { ArchiveStore, type Range } from './archive-store.js';
import { openArchiveFile } from './archive-file.js';
import { readMember } from './oci-archive.js';
import { scanTar, type Member } from './tar-scan.js';

interface SaveEntry {
  Config: string;
  RepoTags: string[] | null;
  Layers: string[];
}

export interface DockerArchive {
  layout: Layout;
  /** The ref to resolve: `REPO:TAG` for a tagged pick, `@sha256:...` for the only image. */
  ref: string;
}

const MAX_HOPS = 8;

function parseJsonMember(file: string, name: string, bytes: Buffer): unknown {
  return parseJsonCapped(bytes, `archive ${file}: ${name}`, { code: 'ESCHEMA' });
}

/** The regular member a name designates, following symlinks inside the archive. */
function regularMember(file: string, members: Map<string, Member>, name: string, what: string): Member {
  let cur = name.replace(/^(\.\/)+/, '');
  for (let hop = 0; hop <= MAX_HOPS; hop++) {
    const m = members.get(cur);
    if (!m) throw new OciBundleError('ENOBLOB', `archive ${file}: manifest.json names ${what} ${JSON.stringify(name.slice(0, 200))}, which is not in the archive`);
    if (m.type === 'file') return m;
    if (m.type !== 'symlink' && m.type !== 'hardlink') throw new OciBundleError('EBLOBTYPE', `archive ${file}: ${what} ${JSON.stringify(name.slice(0, 200))} is not a regular file`);
    const base = m.type === 'symlink' ? m.name.split('/').slice(0, -1) : [];
    const parts = [...base];
    for (const p of m.linkname.split('/')) {
      if (p === '' || p === '.') continue;
      if (p === '..') {
        if (parts.length === 0) throw new OciBundleError('EPATH', `archive ${file}: ${what} ${JSON.stringify(name)} links outside the archive; refused`);
        parts.pop();
      } else parts.push(p);
    }
    if (m.linkname.startsWith('/')) throw new OciBundleError('EPATH', `archive ${file}: ${what} ${JSON.stringify(name)} is an absolute link; refused`);
    cur = parts.join('/');
  }
  throw new OciBundleError('EPATH', `archive ${file}: ${what} ${JSON.stringify(name)} has more than ${MAX_HOPS} links; refused`);
}

function sniffLayer(head: Buffer): string {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return MT.ociLayerGzip;
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return MT.ociLayerZstd;
  return MT.ociLayer;
}

/** Legacy `repositories` file: {"repo": {"tag": "<image id>"}} -> tags per image id. */
function legacyTags(doc: unknown): Map<string, string[]> {
  const out = new Map<string, string[]>();
  if (typeof doc !== 'object' || doc === null) return out;
  for (const [repo, tags] of Object.entries(doc as Record<string, unknown>)) {
    if (typeof tags !== 'object' || tags === null) continue;
    for (const [tag, id] of Object.entries(tags as Record<string, unknown>)) {
      if (typeof id !== 'string') continue;
      const list = out.get(id) ?? [];
      list.push(`${repo}:${tag}`);
      out.set(id, list);
    }
  }
  return out;
}

function checkEntries(file: string, doc: unknown): SaveEntry[] {
  if (!Array.isArray(doc) || doc.length === 0) throw new OciBundleError('ESCHEMA', `archive ${file}: manifest.json is not a non-empty array`);
  return doc.map((e, i) => {
    const r = e as Record<string, unknown> | null;
    const ok =
      typeof r === 'object' && r !== null && typeof r['Config'] === 'string' && Array.isArray(r['Layers']) && (r['Layers'] as unknown[]).every((l) => typeof l === 'string') &&
      (r['RepoTags'] === undefined || r['RepoTags'] === null || (Array.isArray(r['RepoTags']) && (r['RepoTags'] as unknown[]).every((t) => typeof t === 'string')));
    if (!ok) throw new OciBundleError('ESCHEMA', `archive ${file}: manifest.json entry ${i} lacks Config, Layers or well-formed RepoTags`);
    return { Config: r['Config'] as string, Layers: r['Layers'] as string[], RepoTags: (r['RepoTags'] as string[] | null | undefined) ?? null };
  });
}

/** Normalises a docker reference the way `docker save` writes RepoTags. */
export function normaliseRepoTag(s: string): string {
  let n = s;
  for (const p of ['docker.io/library/', 'index.docker.io/library/', 'docker.io/', 'index.docker.io/']) {
    if (n.startsWith(p)) {
      n = n.slice(p.length);
      break;
    }
  }
  const lastSlash = n.lastIndexOf('/');
  if (!n.slice(lastSlash + 1).includes(':')) n = `${n}:latest`;
  return n;
}

/** Opens a docker-archive; `repoTag` (REPO:TAG) picks one image, else the only one. */
export async function openDockerArchive(file: string, repoTag?: string): Promise<DockerArchive> {
  const { members, id: fileId } = await scanTar(file, { hash: true });
  const mj = members.get('manifest.json');
  if (!mj) throw new OciBundleError('ENOLAYOUT', `archive ${file} is not a docker-archive: manifest.json missing`);
  const entries = checkEntries(file, parseJsonMember(file, 'manifest.json', await readMember(file, fileId, mj, JSON_CAP, 'member')));
  const repos = members.get('repositories');
  const legacy = repos ? legacyTags(parseJsonMember(file, 'repositories', await readMember(file, fileId, repos, JSON_CAP, 'member'))) : new Map<string, string[]>();
  const ranges = new Map<string, Range>();
  const memory = new Map<string, Buffer>();
  const index: Descriptor[] = [];
  const images: { tags: string[]; desc: Descriptor }[] = [];
  const { fh } = await openArchiveFile(file, fileId);
  try {
    for (const [i, e] of entries.entries()) {
      const cm = regularMember(file, members, e.Config, 'config');
      const configBytes = await readMember(file, fileId, cm, JSON_CAP, 'config');
      const config = parseJsonMember(file, e.Config, configBytes) as { rootfs?: { diff_ids?: unknown } } | null;
      const diffIds = config?.rootfs?.diff_ids;
      if (!Array.isArray(diffIds) || diffIds.length !== e.Layers.length) {
        throw new OciBundleError('EDIFFID', `archive ${file}: config ${e.Config} lists ${Array.isArray(diffIds) ? diffIds.length : 'no'} diff_ids for ${e.Layers.length} layers`);
      }
      const configDesc: Descriptor = { mediaType: MT.ociConfig, digest: cm.digest!, size: cm.size };
      ranges.set(cm.digest!, { offset: cm.offset, size: cm.size });
      const layers: Descriptor[] = [];
      for (const [j, name] of e.Layers.entries()) {
        const lm = regularMember(file, members, name, 'layer');
        const head = Buffer.alloc(4);
        const { bytesRead } = await fh.read(head, 0, Math.min(4, lm.size), lm.offset);
        const mediaType = sniffLayer(head.subarray(0, bytesRead));
        if (mediaType === MT.ociLayer && diffIds[j] !== lm.digest) {
          throw new OciBundleError('EDIFFID', `archive ${file}: layer ${name} has digest ${lm.digest}, but config diff_ids[${j}] is ${JSON.stringify(String(diffIds[j]).slice(0, 200))}`);
        }
        ranges.set(lm.digest!, { offset: lm.offset, size: lm.size });
        layers.push({ mediaType, digest: lm.digest!, size: lm.size });
      }
      const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MT.ociManifest, config: configDesc, layers }));
      const digest = digestOf(manifest);
      memory.set(digest, manifest);
      const desc: Descriptor = { mediaType: MT.ociManifest, digest, size: manifest.length };
      const id = cm.digest!.slice('sha256:'.length);
      const tags = (e.RepoTags ?? legacy.get(id) ?? []).map(normaliseRepoTag);
      images.push({ tags, desc });
      for (const t of tags) index.push({ ...desc, annotations: { [REF_NAME_ANNOTATION]: t } });
      if (tags.length === 0) index.push({ ...desc, annotations: { 'io.ocibundle.docker-archive.image': String(i) } });
    }
  } finally {
    await fh.close();
  }
  const indexBytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MT.ociIndex, manifests: index }));
  const layout: Layout = { path: file, store: new ArchiveStore(file, fileId, ranges, indexBytes, memory), index: parseIndexJson(indexBytes, file), synthesised: true };
  if (repoTag !== undefined) {
    const want = normaliseRepoTag(repoTag);
    if (!images.some((im) => im.tags.includes(want))) {
      const avail = [...new Set(images.flatMap((im) => im.tags))].join(', ') || 'none';
      throw new OciBundleError('ENOTAG', `tag ${repoTag} not found in docker-archive ${file}; available: ${avail}`);
    }
    return { layout, ref: want };
  }
  if (images.length !== 1) {
    throw new OciBundleError('EAMBIGUOUS', `docker-archive ${file} holds ${images.length} images: name one as docker-archive:${file}:REPO:TAG (${images.flatMap((im) => im.tags).join(', ') || 'untagged'})`);
  }
  return { layout, ref: `@${images[0]!.desc.digest}` };
}
