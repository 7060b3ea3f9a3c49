// Writes an OCI layout directory as an oci-archive (a plain ustar tar, as skopeo writes, through
// the project's tar writer in src/tar):
// oci-layout, index.json, blobs/<alg>/<hex>, with fixed owners and times so the same layout
// always gives the same bytes. Lands atomically (exclusive temp file, fsync, rename). Reads only the
// layout's known names; never follows symlinks (blobs must be regular files).
import { createReadStream, promises as fsp } from 'node:fs';
import { dirname, join } from 'node:path';
import { OciBundleError } from '../errors.js';
import { isValidDigest } from '../image/digest.js';
import { BLOCK, encodeHeader, trailer } from '../tar/index.js';
import { createTempFile } from '../host/temp.js';

/** The header of one archive member: fixed owner 0:0, mtime 0, 0644 files and 0755 dirs. */
function memberHeader(name: string, size: number, dir: boolean): Buffer {
  return encodeHeader({ name, type: dir ? 'dir' : 'file', size, mode: dir ? 0o755 : 0o644, mtime: { sec: 0, nsec: 0 } });
}

export async function writeLayoutArchive(layoutDir: string, file: string): Promise<void> {
  const { path: tmp, fh } = await createTempFile(dirname(file), 'archive');
  try {
    const addFile = async (name: string, path: string) => {
      const st = await fsp.lstat(path);
      if (!st.isFile()) throw new OciBundleError('EBLOBTYPE', `${path} is not a regular file`);
      await fh.write(memberHeader(name, st.size, false));
      let n = 0;
      for await (const c of createReadStream(path)) {
        await fh.write(c as Buffer);
        n += (c as Buffer).length;
      }
      if (n !== st.size) throw new OciBundleError('EIO', `${path} changed size while archived`);
      const pad = (BLOCK - (n % BLOCK)) % BLOCK;
      if (pad) await fh.write(Buffer.alloc(pad));
    };
    await addFile('oci-layout', join(layoutDir, 'oci-layout'));
    await addFile('index.json', join(layoutDir, 'index.json'));
    await fh.write(memberHeader('blobs/', 0, true));
    for (const alg of ['sha256', 'sha512']) {
      let names: string[];
      try {
        names = (await fsp.readdir(join(layoutDir, 'blobs', alg))).sort();
      } catch {
        continue;
      }
      await fh.write(memberHeader(`blobs/${alg}/`, 0, true));
      for (const n of names) if (isValidDigest(`${alg}:${n}`)) await addFile(`blobs/${alg}/${n}`, join(layoutDir, 'blobs', alg, n));
    }
    await fh.write(trailer());
    await fh.sync();
  } catch (e) {
    await fh.close();
    await fsp.unlink(tmp).catch(() => undefined);
    throw e;
  }
  await fh.close();
  await fsp.rename(tmp, file);
}
