// Writes an OCI layout directory as an oci-archive (a plain ustar tar, as skopeo writes):
// oci-layout, index.json, blobs/<alg>/<hex>, with fixed owners and times so the same layout
// always gives the same bytes. Lands atomically (temp file, fsync, rename). Reads only the
// layout's known names; never follows symlinks (blobs must be regular files).
import { createReadStream, promises as fsp } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { OciBundleError } from '../errors.js';
import { isValidDigest } from '../image/digest.js';

const BLOCK = 512;

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, '0');
}

/** A ustar header for a short name (all our names fit in 100 bytes). */
export function ustarHeader(name: string, size: number, dir: boolean): Buffer {
  const h = Buffer.alloc(BLOCK);
  if (Buffer.byteLength(name) > 100) throw new OciBundleError('EPATH', `archive member name ${name} is over 100 bytes`);
  h.write(name, 0, 'utf8');
  h.write(octal(dir ? 0o755 : 0o644, 8), 100);
  h.write(octal(0, 8), 108);
  h.write(octal(0, 8), 116);
  h.write(octal(size, 12), 124);
  h.write(octal(0, 12), 136);
  h.fill(' ', 148, 156);
  h.write(dir ? '5' : '0', 156);
  h.write('ustar\0', 257, 'latin1');
  h.write('00', 263, 'latin1');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${octal(sum, 7)}\0`, 148, 'latin1');
  return h;
}

export async function writeLayoutArchive(layoutDir: string, file: string): Promise<void> {
  const tmp = join(dirname(file), `.${basename(file)}.ocibundle-tmp-${process.pid}`);
  const fh = await fsp.open(tmp, 'w', 0o644);
  try {
    const addFile = async (name: string, path: string) => {
      const st = await fsp.lstat(path);
      if (!st.isFile()) throw new OciBundleError('EBLOBTYPE', `${path} is not a regular file`);
      await fh.write(ustarHeader(name, st.size, false));
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
    await fh.write(ustarHeader('blobs/', 0, true));
    for (const alg of ['sha256', 'sha512']) {
      let names: string[];
      try {
        names = (await fsp.readdir(join(layoutDir, 'blobs', alg))).sort();
      } catch {
        continue;
      }
      await fh.write(ustarHeader(`blobs/${alg}/`, 0, true));
      for (const n of names) if (isValidDigest(`${alg}:${n}`)) await addFile(`blobs/${alg}/${n}`, join(layoutDir, 'blobs', alg, n));
    }
    await fh.write(Buffer.alloc(2 * BLOCK));
    await fh.sync();
  } catch (e) {
    await fh.close();
    await fsp.unlink(tmp).catch(() => undefined);
    throw e;
  }
  await fh.close();
  await fsp.rename(tmp, file);
}
