// The layout of the 1M-entry case: one gzip layer of DIRS directories with FILES empty files
// each, written as a stream (tar headers from src/tar, gzip level 1, digest and diff_id hashed
// as the bytes pass), then config, manifest and index.json. Kept between runs: rebuilt only
// when its index.json is missing. Builds; never times anything.
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { access, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { once } from 'node:events';
import { createGzip } from 'node:zlib';
import { encodeHeader, trailer } from '../src/tar/index.js';

const MTIME = { sec: 1700000000, nsec: 0 };

async function blob(layout: string, bytes: Buffer): Promise<{ digest: string; size: number }> {
  const hex = createHash('sha256').update(bytes).digest('hex');
  await writeFile(join(layout, 'blobs', 'sha256', hex), bytes);
  return { digest: `sha256:${hex}`, size: bytes.length };
}

/** Writes the gzip layer of `dirs` x `files` empty files; returns its descriptor and diff_id. */
async function writeLayer(layout: string, dirs: number, files: number): Promise<{ digest: string; size: number; diffId: string }> {
  const tmp = join(layout, 'blobs', 'sha256', '.layer.tmp');
  const raw = createHash('sha256');
  const gz = createHash('sha256');
  let size = 0;
  const gzip = createGzip({ level: 1 });
  const file = createWriteStream(tmp);
  gzip.on('data', (b: Buffer) => {
    gz.update(b);
    size += b.length;
    if (!file.write(b)) gzip.pause();
  });
  file.on('drain', () => gzip.resume());
  const put = async (b: Buffer): Promise<void> => {
    raw.update(b);
    if (!gzip.write(b)) await once(gzip, 'drain');
  };
  const w = String(Math.max(dirs, files) - 1).length;
  for (let d = 0; d < dirs; d++) {
    const dir = `d${String(d).padStart(w, '0')}`;
    const headers = [encodeHeader({ name: `${dir}/`, type: 'dir', mode: 0o755, mtime: MTIME })];
    for (let f = 0; f < files; f++) headers.push(encodeHeader({ name: `${dir}/f${String(f).padStart(w, '0')}`, type: 'file', size: 0, mode: 0o644, mtime: MTIME }));
    await put(Buffer.concat(headers));
  }
  await put(trailer());
  gzip.end();
  await once(gzip, 'end');
  file.end();
  await once(file, 'close');
  const hex = gz.digest('hex');
  await rename(tmp, join(layout, 'blobs', 'sha256', hex));
  return { digest: `sha256:${hex}`, size, diffId: `sha256:${raw.digest('hex')}` };
}

/** The layout at `layout` (tag latest), built unless it is there already. */
export async function manyFilesLayout(layout: string, dirs: number, files: number): Promise<'built' | 'reused'> {
  if (await access(join(layout, 'index.json')).then(() => true, () => false)) return 'reused';
  await rm(layout, { recursive: true, force: true });
  await mkdir(join(layout, 'blobs', 'sha256'), { recursive: true });
  await writeFile(join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  const layer = await writeLayer(layout, dirs, files);
  const config = await blob(layout, Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [layer.diffId] } })));
  const manifest = await blob(
    layout,
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layer.digest, size: layer.size }],
      }),
    ),
  );
  const index = {
    schemaVersion: 2,
    manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: { 'org.opencontainers.image.ref.name': 'latest' } }],
  };
  await writeFile(join(layout, 'index.json'), JSON.stringify(index)); // last: its presence means complete
  return 'built';
}
