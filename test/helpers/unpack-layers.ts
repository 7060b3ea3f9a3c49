// Layer blobs for the unpack tests that are too big to build in memory: a gzip "bomb" (one
// file of N zero bytes) as a multi-member gzip stream assembled from one small compressed
// member, and a plain tar layer streamed to disk. Test code only; writes nothing but its output.
import { gzipSync } from 'node:zlib';
import { makeTar } from '../../fixtures/tar.js';

const MIB = 1024 * 1024;

/**
 * A gzip layer holding one regular file `name` of `bytes` zero bytes (a multiple of 1 MiB),
 * built from repeated gzip members: about 1 KiB of output per MiB of content, in milliseconds.
 * Its diff_id is not computed (hashing a GiB is slow); give the layout a placeholder.
 */
export function zeroFileGzip(name: string, bytes: number): Buffer {
  if (bytes % MIB !== 0) throw new Error('zeroFileGzip: size must be a multiple of 1 MiB');
  const header = makeTar([{ name, content: '', raw: { size: bytes } }], { trailer: 0 });
  const zeros = gzipSync(Buffer.alloc(MIB), { level: 9 });
  const parts: Buffer[] = [gzipSync(header)];
  for (let i = 0; i < bytes / MIB; i++) parts.push(zeros);
  parts.push(gzipSync(Buffer.alloc(1024)));
  return Buffer.concat(parts);
}

/** Several zero files of `each` bytes (multiple of 1 MiB) in one multi-member gzip layer. */
export function zeroFilesGzip(prefix: string, count: number, each: number): Buffer {
  const zeros = gzipSync(Buffer.alloc(MIB), { level: 9 });
  const parts: Buffer[] = [];
  for (let f = 0; f < count; f++) {
    parts.push(gzipSync(makeTar([{ name: `${prefix}${f}`, content: '', raw: { size: each } }], { trailer: 0 })));
    for (let i = 0; i < each / MIB; i++) parts.push(zeros);
  }
  parts.push(gzipSync(Buffer.alloc(1024)));
  return Buffer.concat(parts);
}

/** A placeholder diff_id for layers whose real one is never reached. */
export const UNCHECKED_DIFF_ID = `sha256:${'0'.repeat(64)}`;
