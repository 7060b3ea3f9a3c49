// What the applier tells an observer about the rootfs it writes: each object as it stands on
// disk after its metadata was applied (owner as written, xattrs the kernel took), each file's
// content as it streams or its digest where the applier hashed it, hardlinks, removals.
// src/build records a bundle's mtree from these events instead of walking the rootfs
// afterwards. No policy here: only the event shapes.
import type { Time } from './tar.js';
import type { PathTable } from './path-table.js';

export type AppliedKind = 'file' | 'dir' | 'symlink' | 'char' | 'block' | 'fifo';

export interface Applied {
  kind: AppliedKind;
  /** Permission bits as set on disk (0o7777; symlinks 0o777). */
  mode: number;
  uid: number;
  gid: number;
  mtime: Time;
  /** The xattrs set on the object (empty when the kernel refused them). */
  xattrs: ReadonlyMap<string, Buffer>;
  /** Symlink target. */
  link?: string;
  /** File size (the data that follows through data()). */
  size?: number;
  /**
   * Files whose content is hashed on another thread while it is written: the digest comes
   * later, through digestOf(pending, ...), before the applier's finish() or flush returns.
   */
  pending?: number;
}

export interface ApplyObserver {
  /** The observer's path table: the applier interns into the same one, so each path is held once. */
  readonly paths?: PathTable;
  /**
   * An object now stands at `path` (a directory over a directory keeps its children). A file
   * is put once complete: its bytes came through data() since the previous put.
   */
  put(path: string, a: Applied): void;
  /** Bytes of the file being written, in order (before its put), unless its digest comes another way. */
  data(chunk: Buffer): void;
  /** Instead of data(): the sha256 (hex) of the content of the file being written, known before its put. */
  digest(sha256: string): void;
  /** The sha256 (hex) of a file that was put with `pending` set to `token`. */
  digestOf(token: number, sha256: string): void;
  /** A hardlink at `path` to the (model) object at `target`. */
  link(path: string, target: string): void;
  /** `path` (a whole tree for a directory) was removed. */
  remove(path: string): void;
  /** A missing parent was created as a 0755 root:root directory; its times are whatever the kernel set. */
  implicitDir(path: string): void;
  /** An entry went somewhere the path model cannot follow (through a symlinked parent). */
  untracked(why: string): void;
}
