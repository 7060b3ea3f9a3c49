// Opening an archive FILE (oci-archive, docker-archive) for reading without ever blocking:
// the path the user named may be a symlink, but what it names must be a regular file. A
// FIFO, socket, device or directory is refused at once (stat first, then an O_NONBLOCK open
// whose fstat must show the same regular file); re-opens check the file is still the one scanned.
import { constants as C, promises as fsp, type Stats } from 'node:fs';
import { OciBundleError } from '../errors.js';

const OPEN_ARCHIVE = C.O_RDONLY | C.O_NONBLOCK | C.O_NOCTTY;

/** The identity of a scanned archive: device and inode. */
export interface ArchiveId {
  dev: number;
  ino: number;
}

function kindOf(st: Stats): string {
  if (st.isFIFO()) return 'a fifo';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  if (st.isDirectory()) return 'a directory';
  return 'not a regular file';
}

function notRegular(file: string, st: Stats): OciBundleError {
  const k = kindOf(st);
  return new OciBundleError('ENOLAYOUT', `archive ${file} is ${k === 'not a regular file' ? k : `${k}, not a regular file`}; refused`);
}

/**
 * Opens `file` read-only; ENOLAYOUT if absent or not a regular file, EIO otherwise. With
 * `expect`, the file must still be that inode (EIO "changed since it was scanned" if not).
 */
export async function openArchiveFile(file: string, expect?: ArchiveId): Promise<{ fh: fsp.FileHandle; id: ArchiveId; size: number }> {
  let pre: Stats;
  try {
    pre = await fsp.stat(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new OciBundleError(code === 'ENOENT' ? 'ENOLAYOUT' : 'EIO', `cannot open archive ${file}${code === 'ENOENT' ? ': no such file' : ''}`, { cause: e });
  }
  // never open what is not a regular file: opening a fifo blocks, opening a device may act
  if (!pre.isFile()) throw notRegular(file, pre);
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(file, OPEN_ARCHIVE);
  } catch (e) {
    throw new OciBundleError('EIO', `cannot open archive ${file}`, { cause: e });
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw notRegular(file, st);
    const id = { dev: st.dev, ino: st.ino };
    if (id.dev !== pre.dev || id.ino !== pre.ino || (expect && (expect.dev !== id.dev || expect.ino !== id.ino))) {
      throw new OciBundleError('EIO', `archive ${file} changed since it was ${expect ? 'scanned' : 'checked'}; refused`);
    }
    return { fh, id, size: st.size };
  } catch (e) {
    await fh.close().catch(() => undefined);
    throw e;
  }
}
