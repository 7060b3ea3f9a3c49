// `oci-archive:FILE`: a tar of an OCI image layout, served in place. One scan records where
// each member's bytes are; index.json and oci-layout are read from the archive, blobs are
// byte ranges of the file (ArchiveStore). Never extracts and never writes.
import { OciBundleError } from '../errors.js';
import { isValidDigest } from '../image/digest.js';
import { INDEX_CAP } from '../image/store.js';
import { LAYOUT_VERSION, parseIndexJson, type Layout } from '../image/layout.js';
import { ArchiveStore, type Range } from './archive-store.js';
import { openArchiveFile, type ArchiveId } from './archive-file.js';
import { scanTar, type Member } from './tar-scan.js';

/** Reads one member's bytes (small JSON members only: capped) from the archive scanned as `id`. */
export async function readMember(file: string, id: ArchiveId, m: Member, cap: number, what: string): Promise<Buffer> {
  if (m.type !== 'file') throw new OciBundleError('EBLOBTYPE', `archive ${file}: ${what} ${JSON.stringify(m.name)} is not a regular file`);
  if (m.size > cap) throw new OciBundleError('ELIMIT', `archive ${file}: ${what} ${JSON.stringify(m.name)} is ${m.size} bytes, over the ${cap}-byte limit`);
  const { fh } = await openArchiveFile(file, id);
  try {
    const buf = Buffer.alloc(m.size);
    let done = 0;
    while (done < m.size) {
      const { bytesRead } = await fh.read(buf, done, m.size - done, m.offset + done);
      if (bytesRead === 0) throw new OciBundleError('ESIZE', `archive ${file} ends inside ${JSON.stringify(m.name)}`);
      done += bytesRead;
    }
    return buf;
  } finally {
    await fh.close();
  }
}

export async function openOciArchive(file: string): Promise<Layout> {
  const { members, id } = await scanTar(file);
  const marker = members.get('oci-layout');
  if (!marker) throw new OciBundleError('ENOLAYOUT', `archive ${file} is not an oci image layout: oci-layout file missing`);
  let version: unknown;
  try {
    version = (JSON.parse((await readMember(file, id, marker, 64 * 1024, 'member')).toString('utf8')) as { imageLayoutVersion?: unknown } | null)?.imageLayoutVersion;
  } catch (e) {
    if (e instanceof OciBundleError) throw e;
    throw new OciBundleError('EBADLAYOUT', `archive ${file}: oci-layout is not valid json`, { cause: e });
  }
  if (version !== LAYOUT_VERSION) throw new OciBundleError('EBADLAYOUT', `archive ${file}: oci-layout has imageLayoutVersion ${JSON.stringify(version)}, want "${LAYOUT_VERSION}"`);
  const idx = members.get('index.json');
  if (!idx) throw new OciBundleError('EBADLAYOUT', `archive ${file}: index.json is missing`);
  const indexBytes = await readMember(file, id, idx, INDEX_CAP, 'member');
  const ranges = new Map<string, Range>();
  for (const m of members.values()) {
    const parts = m.name.split('/');
    if (parts[0] !== 'blobs' || parts.length !== 3) continue;
    const digest = `${parts[1]}:${parts[2]}`;
    if (!isValidDigest(digest)) continue;
    // a non-regular blob is recorded as absent-with-reason: opening it fails clearly
    if (m.type !== 'file') {
      ranges.set(digest, { offset: -1, size: -1 });
      continue;
    }
    ranges.set(digest, { offset: m.offset, size: m.size });
  }
  const store = new ArchiveStore(file, id, ranges, indexBytes);
  return { path: file, store, index: parseIndexJson(indexBytes, file) };
}
