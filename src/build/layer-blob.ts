// Turns a tar stream into a layer blob of a layout: the tar bytes are hashed (diff_id) and
// compressed (gzip through node:zlib, zstd through the zstd binary, or none) into a pid-named
// temp file in the layout (gc spares a live writer's temps), then pinned against gc and
// copied into blobs/ through the store's verified, fd-relative blob write.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import { PassThrough, Transform, Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { OciBundleError } from '../errors.js';
import { createTempFile } from '../host/temp.js';
import { DirStore, type Descriptor, type Layout } from '../image/index.js';
import { pinBlobs, type Pin } from '../image/pins.js';
import { TarWriter, type Sink } from '../tar/index.js';
import { step } from '../test-hooks.js';

export type Compression = 'gzip' | 'zstd' | 'none';

export const LAYER_MEDIA_TYPE: Record<Compression, string> = {
  gzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  zstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  none: 'application/vnd.oci.image.layer.v1.tar',
};

export interface LayerBlob {
  descriptor: Descriptor;
  diffId: string;
  /** Keeps the blob from gc until the caller's tag reaches it; release when done. */
  pin: Pin;
}

function hasher(h: ReturnType<typeof createHash>, count: { n: number }): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      h.update(chunk);
      count.n += chunk.length;
      cb(null, chunk);
    },
  });
}

/** Pipes `input` through the compressor into `output` (zstd: a child process, so the other core works). */
async function compressInto(c: Compression, input: Readable, output: Writable): Promise<void> {
  if (c === 'gzip') return pipeline(input, createGzip(), output);
  if (c === 'none') return pipeline(input, output);
  const child = spawn('zstd', ['-q', '-c', '-3'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve, reject) => {
    child.on('error', (e) => reject(new OciBundleError('ECOMPRESS', 'cannot run zstd for --compress zstd (apt-get install zstd)', { cause: e })));
    child.on('close', (code) => (code === 0 ? resolve() : reject(new OciBundleError('ECOMPRESS', `zstd exited with status ${code}: ${stderr.trim()}`))));
  });
  await Promise.all([pipeline(input, child.stdin), pipeline(child.stdout, output), exited]);
}

/**
 * Writes a layer: `produce` adds entries to the TarWriter it is given (and finishes it).
 * Returns the blob's descriptor, diff_id and a pin; on failure nothing is left behind.
 */
export function writeLayer(layout: Layout, compression: Compression, produce: (w: TarWriter) => Promise<void>, signal?: AbortSignal): Promise<LayerBlob> {
  return writeLayerBytes(layout, compression, (put) => produce(new TarWriter(put)), signal);
}

/** The error of a build command stopped by SIGINT/SIGTERM before it moved the tag. */
export function buildInterrupted(): OciBundleError {
  return new OciBundleError('EINTERRUPTED', 'interrupted; the tag was not moved (blobs already written are unreferenced: ocibundle gc removes them)');
}

/**
 * writeLayer for producers of raw tar bytes (raw add-layer): `put` applies back-pressure. An
 * aborted `signal` stops the producer at its next write (EINTERRUPTED); the temp goes with it.
 */
export async function writeLayerBytes(layout: Layout, compression: Compression, produce: (put: Sink) => Promise<void>, signal?: AbortSignal): Promise<LayerBlob> {
  const store = layout.store;
  const diff = createHash('sha256');
  const comp = createHash('sha256');
  const tarCount = { n: 0 };
  const blobCount = { n: 0 };
  const source = new PassThrough({ highWaterMark: 1 << 20 });
  const tmpDir = store instanceof DirStore ? store.root : null;
  const parts: Buffer[] = [];
  let tmp: { path: string; fh: fsp.FileHandle } | null = null;
  try {
    if (tmpDir !== null) tmp = await createTempFile(tmpDir, 'layer', 0o600);
    const fh = tmp?.fh;
    const sink = new Writable({
      highWaterMark: 1 << 20,
      write(chunk: Buffer, _e, cb) {
        if (!fh) {
          parts.push(Buffer.from(chunk));
          cb();
          return;
        }
        fh.write(chunk).then(() => cb(), cb);
      },
    });
    const tapped = hasher(comp, blobCount);
    const tarTap = hasher(diff, tarCount);
    const piped = Promise.all([pipeline(source, tarTap), compressInto(compression, tarTap, tapped), pipeline(tapped, sink)]);
    let started = false;
    const put: Sink = async (b) => {
      if (signal?.aborted) throw buildInterrupted();
      if (!started) {
        started = true;
        step('layer-started');
      }
      if (!source.write(b)) await new Promise<void>((r) => source.once('drain', r));
    };
    const produced = produce(put).then(
      () => void source.end(),
      (e: unknown) => {
        source.destroy(e as Error);
        throw e;
      },
    );
    await Promise.all([produced, piped]);
    if (fh) await fh.sync();
    if (signal?.aborted) throw buildInterrupted();
    const digest = `sha256:${comp.digest('hex')}`;
    const pin = await pinBlobs(layout, [digest]);
    try {
      if (tmp && store instanceof DirStore) {
        await tmp.fh.close();
        const from: Readable = createReadStream(tmp.path);
        await store.writeBlobFrom(digest, from);
      } else {
        await store.putBlob(Buffer.concat(parts));
      }
    } catch (e) {
      await pin.release();
      throw e;
    }
    step('layer-written');
    return {
      descriptor: { mediaType: LAYER_MEDIA_TYPE[compression], digest, size: blobCount.n },
      diffId: `sha256:${diff.digest('hex')}`,
      pin,
    };
  } finally {
    if (tmp) {
      await tmp.fh.close().catch(() => undefined);
      await fsp.unlink(tmp.path).catch(() => undefined);
    }
  }
}
