// Writes an OCI layout directory as an oci-archive (a plain ustar tar, as skopeo writes, through
// the project's tar writer in src/tar): oci-layout, index.json, blobs/<alg>/<hex>; and any list
// of members (the docker-archive writer's), with fixed owners and times so the same input
// always gives the same bytes. Lands atomically (exclusive temp file, fsync, rename). Reads only the
// layout's known names; never follows symlinks (blobs must be regular files).
import { createReadStream, promises as fsp } from 'node:fs';
import { dirname, join } from 'node:path';
import { OciBundleError, renameInError, toOciBundleError } from '../errors.js';
import { isValidDigest } from '../image/digest.js';
import { BLOCK, encodeHeader, trailer } from '../tar/index.js';
import { createTempFile } from '../host/temp.js';

/** The header of one archive member: fixed owner 0:0, mtime 0, 0644 files and 0755 dirs. */
function memberHeader(name: string, size: number, dir: boolean): Buffer {
  return encodeHeader({ name, type: dir ? 'dir' : 'file', size, mode: dir ? 0o755 : 0o644, mtime: { sec: 0, nsec: 0 } });
}

/** One member of an archive: a file copied from `path`, bytes, or a directory. */
export type ArchiveMember = { name: string; path: string } | { name: string; bytes: Buffer } | { name: string; dir: true };

/** Writes `members` as a tar at `file`: exclusive temp beside it, fsync, rename. */
export async function writeTarFile(file: string, members: ArchiveMember[]): Promise<void> {
  const { path: tmp, fh } = await createTempFile(dirname(file), 'archive');
  try {
    const pad = async (n: number) => {
      const p = (BLOCK - (n % BLOCK)) % BLOCK;
      if (p) await fh.write(Buffer.alloc(p));
    };
    for (const m of members) {
      if ('dir' in m) {
        await fh.write(memberHeader(m.name, 0, true));
      } else if ('bytes' in m) {
        await fh.write(memberHeader(m.name, m.bytes.length, false));
        await fh.write(m.bytes);
        await pad(m.bytes.length);
      } else {
        const st = await fsp.lstat(m.path);
        if (!st.isFile()) throw new OciBundleError('EBLOBTYPE', `${m.path} is not a regular file`);
        await fh.write(memberHeader(m.name, st.size, false));
        let n = 0;
        for await (const c of createReadStream(m.path)) {
          await fh.write(c as Buffer);
          n += (c as Buffer).length;
        }
        if (n !== st.size) throw new OciBundleError('EIO', `${m.path} changed size while archived`);
        await pad(n);
      }
    }
    await fh.write(trailer());
    await fh.sync();
  } catch (e) {
    await fh.close();
    await fsp.unlink(tmp).catch(() => undefined);
    throw e;
  }
  await fh.close();
  try {
    await fsp.rename(tmp, file);
  } catch (e) {
    // the temp goes, and the error names FILE, never the temp
    await fsp.unlink(tmp).catch(() => undefined);
    const errno = (e as NodeJS.ErrnoException).code;
    if (errno === 'EISDIR' || errno === 'ENOTEMPTY' || errno === 'EEXIST') throw new OciBundleError('EEXIST', `${file} is a directory; refused`);
    throw toOciBundleError(renameInError(e, tmp, file), `cannot write ${file}`);
  }
}

export async function writeLayoutArchive(layoutDir: string, file: string): Promise<void> {
  const members: ArchiveMember[] = [
    { name: 'oci-layout', path: join(layoutDir, 'oci-layout') },
    { name: 'index.json', path: join(layoutDir, 'index.json') },
    { name: 'blobs/', dir: true },
  ];
  for (const alg of ['sha256', 'sha512']) {
    let names: string[];
    try {
      names = (await fsp.readdir(join(layoutDir, 'blobs', alg))).sort();
    } catch {
      continue;
    }
    members.push({ name: `blobs/${alg}/`, dir: true });
    for (const n of names) if (isValidDigest(`${alg}:${n}`)) members.push({ name: `blobs/${alg}/${n}`, path: join(layoutDir, 'blobs', alg, n) });
  }
  await writeTarFile(file, members);
}
