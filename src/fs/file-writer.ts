// The unpacker's second writer: a native thread that takes file content (copied into a fixed
// arena) and each file's finishing steps (owner, mode, times, close) off the main thread, in
// order, hashing the content of the files asked for (the mtree's digests) as it writes them.
// The caller creates every file itself, so creation errors stay in entry order; the writer's
// first failure is raised by the next call, naming the file. Off with
// OCIBUNDLE_THREADED_WRITES=0. No policy: the applier decides which files come here.
import { native, type NativeAddon, type NativeWriterHandle } from './native.js';
import { relabel } from './syserr.js';
import type { Meta } from './rootfs.js';

/** Content in flight at most (the caller waits beyond it). */
const ARENA_BYTES = 4 * 1024 * 1024;

export class FileWriter {
  private readonly n: NativeAddon;
  private readonly h: NativeWriterHandle;
  /** Paths of the files queued since the last drain, by the id they were queued with. */
  private paths: string[] = [];
  /** The caller's token of each of those files whose content is hashed (-1: not hashed). */
  private tokens: number[] = [];
  private open = true;

  /**
   * A writer, or null when switched off by the environment. `onDigest` gets the SHA-256 (hex)
   * of each hashed file (see adopt) at the drain that follows its finish.
   */
  static create(onDigest: (token: number, sha256: string) => void = () => {}): FileWriter | null {
    if (process.env['OCIBUNDLE_THREADED_WRITES'] === '0') return null;
    return new FileWriter(onDigest);
  }

  private constructor(private readonly onDigest: (token: number, sha256: string) => void) {
    this.n = native();
    this.h = this.n.writerOpen(ARENA_BYTES);
  }

  /**
   * The id of a file about to be handed over (for write/finish and error messages). With a
   * `token` >= 0 (only where RootFS.hashesNatively()), its content is hashed and the digest reported with it.
   */
  adopt(path: string, token = -1): number {
    this.paths.push(path);
    this.tokens.push(token);
    return this.paths.length - 1;
  }

  /** data, to be written at `pos` of fd (the caller may reuse data at once); in order for a hashed file. */
  write(fd: number, id: number, data: Buffer, pos: number): void {
    try {
      this.n.writerWrite(this.h, fd, id, data, 0, data.length, pos, this.tokens[id]! >= 0);
    } catch (e) {
      throw this.label(e);
    }
  }

  /** After fd's content: `truncate` (>= 0: the size, for a trailing hole), owner, mode, times, close. */
  finish(fd: number, id: number, meta: Meta, truncate: number): void {
    const own = meta.chown !== false;
    try {
      this.n.writerFinish(
        this.h, fd, id, own ? meta.uid : -1, own ? meta.gid : -1, meta.mode & 0o7777,
        meta.atime.sec, meta.atime.nsec, meta.mtime.sec, meta.mtime.nsec, truncate, this.tokens[id]! >= 0,
      );
    } catch (e) {
      throw this.label(e);
    }
  }

  /** Wait until everything queued is on its way to disk, then report the digests; throws the first failure. */
  drain(): void {
    let d: Buffer;
    try {
      d = this.n.writerDrain(this.h);
    } catch (e) {
      throw this.label(e);
    }
    const tokens = this.tokens;
    this.paths = [];
    this.tokens = [];
    for (let at = 0; at + 36 <= d.length; at += 36) this.onDigest(tokens[d.readInt32LE(at)]!, d.toString('hex', at + 4, at + 36));
  }

  /** Drain and stop; failures were raised before or do not matter any more (abort). */
  close(): void {
    if (!this.open) return;
    this.open = false;
    this.n.writerClose(this.h);
  }

  private label(e: unknown): unknown {
    const id = (e as { file?: unknown } | null)?.file;
    const path = typeof id === 'number' ? this.paths[id] : undefined;
    return path === undefined ? e : relabel(e, path);
  }
}
