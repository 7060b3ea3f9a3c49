// One pass over a tar archive FILE (oci-archive, docker-archive): every member's name, type,
// data offset and size, optionally its sha256. Framing comes from layer/tar.ts's TarParser;
// this module only adds offsets and the hostile-archive rules (names, duplicates, sparse).
// It never extracts anything and never follows a member's name onto the file system.
import { createHash, type Hash } from 'node:crypto';
import { OciBundleError } from '../errors.js';
import { TarParser, type TarEntryType } from '../layer/tar.js';
import { openArchiveFile, type ArchiveId } from './archive-file.js';

export interface Member {
  /** Normalised name: no leading './' or '/', no trailing '/'. */
  name: string;
  type: TarEntryType;
  /** Byte offset of the member's data in the archive file (regular files only). */
  offset: number;
  size: number;
  /** Symlink and hard-link targets, verbatim. */
  linkname: string;
  /** `sha256:HEX` of the data, when the scan was asked to hash. */
  digest?: string;
}

export interface ScanOptions {
  /** Hash every regular member's data (sha256). */
  hash?: boolean | ((name: string) => boolean);
}

const CHUNK = 1024 * 1024;

/** Normalises a member name; EPATH for absolute-escaping, '..' or empty components. */
export function memberName(raw: string, archive: string): string {
  let n = raw;
  while (n.startsWith('./')) n = n.slice(2);
  n = n.replace(/\/+$/, '');
  if (n === '' || n === '.') return '.';
  const parts = n.split('/');
  if (raw.startsWith('/') || parts.some((p) => p === '..' || p === '' || p === '.' || p.includes('\0'))) {
    throw new OciBundleError('EPATH', `archive ${archive}: member name ${JSON.stringify(raw.slice(0, 200))} is not a plain relative path; refused`);
  }
  return n;
}

export interface Scanned {
  /** Members by normalised name. */
  members: Map<string, Member>;
  /** The archive file scanned (later reads check they open the same file). */
  id: ArchiveId;
}

/** Scans the archive at `file` (a regular file, never a fifo or device: see archive-file.ts). */
export async function scanTar(file: string, opts: ScanOptions = {}): Promise<Scanned> {
  const members = new Map<string, Member>();
  const { fh, id } = await openArchiveFile(file);
  try {
    const buf = Buffer.alloc(CHUNK);
    let filePos = 0; // file offset of buf[0] for the current chunk
    let cur: Member | null = null;
    let hash: Hash | null = null;
    let next = 0; // file offset where the current member's next data byte must be
    let got = 0;
    const wantHash = (name: string) => (typeof opts.hash === 'function' ? opts.hash(name) : opts.hash === true);
    const parser = new TarParser({
      onEntry(entry) {
        const name = memberName(entry.name, file);
        if (members.has(name)) throw new OciBundleError('ETAR', `archive ${file}: duplicate member ${JSON.stringify(name)}; refused`);
        cur = { name, type: entry.type, offset: -1, size: entry.type === 'file' ? entry.size : 0, linkname: entry.linkname };
        members.set(name, cur);
        hash = entry.type === 'file' && wantHash(name) ? createHash('sha256') : null;
        got = 0;
      },
      onData(chunk) {
        const m = cur!;
        if (chunk.buffer !== buf.buffer) throw new OciBundleError('ETAR', `archive ${file}: member ${JSON.stringify(m.name)} is a sparse file; refused`);
        const at = filePos + (chunk.byteOffset - buf.byteOffset);
        if (m.offset < 0) {
          m.offset = at;
          next = at;
        }
        if (at !== next) throw new OciBundleError('ETAR', `archive ${file}: member ${JSON.stringify(m.name)} is not stored contiguously; refused`);
        next += chunk.length;
        got += chunk.length;
        hash?.update(chunk);
      },
      onEntryEnd() {
        const m = cur!;
        if (m.type === 'file') {
          if (got !== m.size) throw new OciBundleError('ETAR', `archive ${file}: member ${JSON.stringify(m.name)} has ${got} of ${m.size} bytes`);
          if (m.offset < 0) m.offset = 0;
          if (hash) m.digest = `sha256:${hash.digest('hex')}`;
        }
        cur = null;
        hash = null;
      },
    });
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, CHUNK, filePos);
      if (bytesRead === 0) break;
      parser.write(bytesRead === CHUNK ? buf : buf.subarray(0, bytesRead));
      filePos += bytesRead;
      if (parser.finished) break;
    }
    parser.end();
    return { members, id };
  } catch (e) {
    if (e instanceof OciBundleError) {
      if (e.code === 'ETAR' && !e.message.includes(file)) throw new OciBundleError('ETAR', `archive ${file}: ${e.message}`, { cause: e });
      throw e;
    }
    throw new OciBundleError('EIO', `cannot read archive ${file}`, { cause: e });
  } finally {
    await fh.close();
  }
}
