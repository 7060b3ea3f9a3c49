// The streaming tar reader: bytes in (any chunking), entries out through a synchronous
// handler, file data as views into the input (no copies, no per-entry promises). Owns the
// archive framing: headers, GNU long names/links, PAX 'x'/'g', sparse expansion, the trailer.
// Does not normalise names, apply whiteouts or touch the file system: that is the applier's.
import { OciBundleError } from '../errors.js';
import { BLOCK, F, bad, checksumOk, cString, decodeUtf8, formatOf, isZeroBlock, parseNumeric } from './tar-header.js';
import { parsePax, type PaxValues } from './tar-pax.js';
import { parseSparse1Map, readGnuSparseEntries, SparseExpander, validateSparse } from './tar-sparse.js';

export interface Time {
  sec: number;
  nsec: number;
}
export type TarEntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';
export interface TarEntry {
  /** Verbatim name after GNU longname / PAX path (not normalised), UTF-8. */
  name: string;
  type: TarEntryType;
  /** Data bytes delivered through onData (the expanded size for sparse files; 0 for non-files). */
  size: number;
  /** Sparse files only: the bytes the archive stores (the rest are holes). */
  stored?: number;
  /** Permission bits including setuid/setgid/sticky (& 0o7777). */
  mode: number;
  uid: number;
  gid: number;
  mtime: Time;
  atime: Time | null;
  linkname: string;
  devmajor: number;
  devminor: number;
  /** From PAX SCHILY.xattr.* (raw bytes) and LIBARCHIVE.xattr.* (base64-decoded). */
  xattrs: Map<string, Buffer>;
}
export interface TarHandler {
  onEntry(entry: TarEntry): void;
  /** A view into the input (or a shared zero buffer for sparse holes): consume synchronously. */
  onData(chunk: Buffer): void;
  /** When present, a sparse file's holes arrive here as lengths instead of zeros through onData. */
  onHole?(bytes: number): void;
  onEntryEnd(): void;
}
export interface TarParserOptions {
  /** Largest (expanded) file size accepted; ELIMIT beyond. Default 2^53 - 1. */
  maxEntrySize?: number;
}

/** Cap on GNU long names/links, PAX headers and sparse maps (as Go's archive/tar). */
export const MAX_META_SIZE = 1024 * 1024;

const ST_HEADER = 0;
const ST_ZERO1 = 1; // one zero block seen: the next block must be zero too
const ST_DATA = 2;
const ST_SKIP = 3;
const ST_META = 4;
const ST_DONE = 5;

const META_LONGNAME = 1;
const META_LONGLINK = 2;
const META_PAX = 3;
const META_GLOBAL = 4;
const META_GNU_EXT = 5;
const META_SPARSE1 = 6;

/**
 * Streaming tar parser. Framing decisions, matching GNU tar and Go's archive/tar (umoci):
 * - EOF exactly at a header boundary without the two zero blocks is accepted, and so is EOF
 *   after a single zero block; EOF inside a header, data, padding, or after a long-name/PAX
 *   header with no entry is ETAR. A zero block followed by a non-zero block is ETAR (Go).
 * - Bytes after the end-of-archive marker are ignored (the caller still drains and hashes them).
 * - PAX global ('g') headers are validated and then ignored, as Go's archive/tar (and so umoci,
 *   containerd, docker) does; they never fail a valid archive.
 * - Types '1'-'6' carry no data whatever their size field says (Go); a '0' or '\0' entry whose
 *   name ends in '/' is a directory (GNU tar, Go) and its declared data is skipped.
 * - Sparse files (old GNU 'S', PAX 0.0/0.1/1.0) are expanded: holes arrive as zeros.
 */
export class TarParser {
  private state = ST_HEADER;
  private readonly hdr = Buffer.alloc(BLOCK);
  private hdrFill = 0;
  private consumed = 0;
  private remaining = 0;
  private pad = 0;
  private metaKind = 0;
  private metaBuf: Buffer = Buffer.alloc(0);
  private metaFill = 0;
  private longName: string | undefined;
  private longLink: string | undefined;
  private pax: PaxValues | undefined;
  private entry: TarEntry | null = null;
  private entryPos = 0;
  private dataSize = 0;
  private sparse: SparseExpander | null = null;
  private sparseMap: number[] = [];
  private sparseReal = 0;
  private sparse1Lines = 0;
  private sparse1Need = 1;
  private sparse1Blocks: Buffer[] = [];
  private failed: unknown = null;
  private readonly maxEntrySize: number;
  private readonly onData: (b: Buffer) => void;

  constructor(
    private readonly handler: TarHandler,
    opts: TarParserOptions = {},
  ) {
    this.maxEntrySize = Math.min(opts.maxEntrySize ?? Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
    this.onData = (b) => handler.onData(b);
  }

  /** True once the end-of-archive marker (or a clean end()) was seen; later bytes are ignored. */
  get finished(): boolean {
    return this.state === ST_DONE;
  }

  write(chunk: Buffer): void {
    if (this.failed !== null) throw this.failed;
    const len = chunk.length;
    let off = 0;
    try {
      while (off < len) {
        switch (this.state) {
          case ST_HEADER:
          case ST_ZERO1: {
            if (this.hdrFill === 0 && len - off >= BLOCK) {
              off += BLOCK;
              this.header(chunk, off - BLOCK, this.consumed + off - BLOCK);
            } else {
              const n = Math.min(BLOCK - this.hdrFill, len - off);
              chunk.copy(this.hdr, this.hdrFill, off, off + n);
              this.hdrFill += n;
              off += n;
              if (this.hdrFill === BLOCK) {
                this.hdrFill = 0;
                this.header(this.hdr, 0, this.consumed + off - BLOCK);
              }
            }
            break;
          }
          case ST_DATA: {
            const n = Math.min(this.remaining, len - off);
            const view = chunk.subarray(off, off + n);
            off += n;
            this.remaining -= n;
            if (this.sparse) this.sparse.write(view);
            else this.handler.onData(view);
            if (this.remaining === 0) this.endData();
            break;
          }
          case ST_SKIP: {
            const n = Math.min(this.remaining, len - off);
            off += n;
            this.remaining -= n;
            if (this.remaining === 0) this.state = ST_HEADER;
            break;
          }
          case ST_META: {
            const n = Math.min(this.metaBuf.length - this.metaFill, len - off);
            chunk.copy(this.metaBuf, this.metaFill, off, off + n);
            this.metaFill += n;
            off += n;
            if (this.metaFill === this.metaBuf.length) this.metaDone();
            break;
          }
          default:
            this.consumed += len - off;
            return;
        }
      }
      this.consumed += len;
    } catch (e) {
      this.failed = e;
      throw e;
    }
  }

  end(): void {
    if (this.failed !== null) throw this.failed;
    const at = `archive offset ${this.consumed}`;
    let err: OciBundleError | null = null;
    switch (this.state) {
      case ST_DONE:
      case ST_ZERO1:
        break;
      case ST_HEADER:
        if (this.hdrFill !== 0) err = new OciBundleError('ETAR', `tar archive is truncated inside a header (${at})`);
        else if (this.longName !== undefined || this.longLink !== undefined || this.pax !== undefined) {
          err = new OciBundleError('ETAR', `tar archive ends after a long-name or pax header with no entry (${at})`);
        }
        break;
      case ST_DATA:
        err = new OciBundleError('ETAR', `tar archive is truncated: ${this.remaining} of ${this.dataSize} data bytes of entry ${JSON.stringify(this.entry?.name)} are missing (${at})`);
        break;
      default:
        err = new OciBundleError('ETAR', `tar archive is truncated${this.entry ? ` after entry ${JSON.stringify(this.entry.name)}` : ''} (${at})`);
    }
    if (err) {
      this.failed = err;
      throw err;
    }
    this.state = ST_DONE;
  }

  private endData(): void {
    if (this.sparse) {
      this.sparse.finish();
      this.sparse = null;
    }
    this.handler.onEntryEnd();
    this.entry = null;
    if (this.pad > 0) {
      this.state = ST_SKIP;
      this.remaining = this.pad;
    } else this.state = ST_HEADER;
  }

  /** Collect `size` bytes of metadata; `pad` (when given) is skipped after them. */
  private startMeta(kind: number, size: number, pad?: number): void {
    this.metaKind = kind;
    this.metaBuf = Buffer.allocUnsafe(size);
    this.metaFill = 0;
    if (pad !== undefined) this.pad = pad;
    this.state = ST_META;
    if (size === 0) this.metaDone();
  }

  private header(b: Buffer, o: number, pos: number): void {
    const at = () => `archive offset ${pos}`;
    if (isZeroBlock(b, o)) {
      if (this.longName !== undefined || this.longLink !== undefined || this.pax !== undefined) {
        throw bad('end-of-archive marker follows a long-name or pax header with no entry', at);
      }
      this.state = this.state === ST_ZERO1 ? ST_DONE : ST_ZERO1;
      return;
    }
    if (this.state === ST_ZERO1) throw bad('a header follows a single zero block', at);
    if (!checksumOk(b, o)) throw bad('bad tar header checksum', at);
    const flag = b[o + 156]!;
    const size = parseNumeric(b, o + 124, 12, 'size', at);
    const pad = (BLOCK - (size % BLOCK)) % BLOCK;
    switch (flag) {
      case 0x4c /* L */:
      case 0x4b /* K */:
      case 0x78 /* x */:
      case 0x67 /* g */: {
        const kind = flag === 0x4c ? META_LONGNAME : flag === 0x4b ? META_LONGLINK : flag === 0x78 ? META_PAX : META_GLOBAL;
        if (size > MAX_META_SIZE) throw bad(`'${String.fromCharCode(flag)}' header of ${size} bytes exceeds the ${MAX_META_SIZE}-byte limit`, at);
        this.entryPos = pos;
        this.startMeta(kind, size, pad);
        return;
      }
    }
    this.entryPos = pos;
    const fmt = formatOf(b, o);
    const pax = this.pax;
    let name = pax?.path ?? this.longName;
    if (name === undefined) {
      name = cString(b, o, 100, 'entry name', at);
      if ((fmt === 'ustar' || fmt === 'star') && b[o + 345] !== 0) {
        name = cString(b, o + 345, fmt === 'star' ? 131 : 155, 'entry name prefix', at) + '/' + name;
      }
    }
    const nm = name;
    const where = () => `entry ${JSON.stringify(nm)} at archive offset ${pos}`;
    const linkname = pax?.linkpath ?? this.longLink ?? cString(b, o + 157, 100, 'link name', where);
    this.longName = undefined;
    this.longLink = undefined;
    this.pax = undefined;

    const mode = parseNumeric(b, o + 100, 8, 'mode', where) & 0o7777;
    const uid = pax?.uid ?? parseNumeric(b, o + 108, 8, 'uid', where);
    const gid = pax?.gid ?? parseNumeric(b, o + 116, 8, 'gid', where);
    const mtime = pax?.mtime ?? { sec: parseNumeric(b, o + 136, 12, 'mtime', where, true), nsec: 0 };
    let atime: Time | null = pax?.atime ?? null;
    if (atime === null && fmt === 'gnu' && b[o + F.gnuAtime[0]] !== 0) {
      atime = { sec: parseNumeric(b, o + F.gnuAtime[0], 12, 'atime', where, true), nsec: 0 };
    }
    const dataSize = pax?.size ?? size;
    const dataPad = (BLOCK - (dataSize % BLOCK)) % BLOCK;

    let type: TarEntryType;
    let devmajor = 0;
    let devminor = 0;
    switch (flag) {
      case 0x30 /* 0 */:
      case 0x00:
      case 0x37 /* 7 */:
        type = 'file';
        break;
      case 0x31:
        type = 'hardlink';
        break;
      case 0x32:
        type = 'symlink';
        break;
      case 0x33:
      case 0x34:
        type = flag === 0x33 ? 'char' : 'block';
        if (fmt !== 'v7') {
          devmajor = parseNumeric(b, o + 329, 8, 'devmajor', where);
          devminor = parseNumeric(b, o + 337, 8, 'devminor', where);
        }
        break;
      case 0x35:
        type = 'dir';
        break;
      case 0x36:
        type = 'fifo';
        break;
      case 0x53 /* S */:
        type = 'file';
        break;
      default: {
        const ch = flag >= 0x20 && flag < 0x7f ? String.fromCharCode(flag) : '?';
        throw bad(`unsupported tar entry type '${ch}' (0x${flag.toString(16).padStart(2, '0')})`, where);
      }
    }

    const entry: TarEntry = {
      name,
      type,
      size: 0,
      mode,
      uid,
      gid,
      mtime,
      atime,
      linkname: type === 'symlink' || type === 'hardlink' ? linkname : '',
      devmajor,
      devminor,
      xattrs: pax?.xattrs ?? new Map(),
    };

    if (type !== 'file') {
      this.emitNoData(entry);
      return;
    }
    if ((flag === 0x30 || flag === 0x00) && name.endsWith('/')) {
      // Old archives mark directories with a trailing slash only; skip any declared data.
      entry.type = 'dir';
      this.emitNoData(entry);
      if (dataSize > 0) {
        this.state = ST_SKIP;
        this.remaining = dataSize + dataPad;
      }
      return;
    }

    const sp = pax?.sparse;
    if (flag === 0x53) {
      // Old GNU sparse: map in the header (+ extension blocks), real size in the header.
      this.sparseMap = [];
      readGnuSparseEntries(b, o + F.gnuSparse[0], 4, this.sparseMap, where);
      this.sparseReal = parseNumeric(b, o + F.gnuRealSize[0], 12, 'sparse real size', where);
      this.entry = entry;
      this.dataSize = dataSize;
      this.pad = dataPad;
      if (b[o + F.gnuIsExtended[0]] !== 0) this.startMeta(META_GNU_EXT, BLOCK);
      else this.startSparse();
      return;
    }
    if (sp && (sp.major === 1 || sp.has00 || sp.has01)) {
      if (sp.name !== undefined) entry.name = sp.name;
      if (sp.realSize === undefined) throw bad('pax sparse entry has no GNU.sparse.realsize/size', where);
      this.sparseReal = sp.realSize;
      this.entry = entry;
      this.dataSize = dataSize;
      this.pad = dataPad;
      if (sp.major === 1) {
        if (sp.minor !== 0) throw bad(`unsupported GNU sparse format ${sp.major}.${sp.minor}`, where);
        if (dataSize < BLOCK) throw bad('GNU sparse 1.0 entry is too short for its map', where);
        this.sparse1Lines = 0;
        this.sparse1Need = 1;
        this.sparse1Blocks = [];
        this.startMeta(META_SPARSE1, BLOCK);
      } else {
        this.sparseMap = sp.map;
        this.startSparse();
      }
      return;
    }

    if (dataSize > this.maxEntrySize) {
      throw new OciBundleError('ELIMIT', `tar entry ${JSON.stringify(name)} declares ${dataSize} bytes, over the ${this.maxEntrySize}-byte entry limit`);
    }
    entry.size = dataSize;
    this.entry = entry;
    this.dataSize = dataSize;
    this.pad = dataPad;
    this.handler.onEntry(entry);
    if (dataSize === 0) this.endData();
    else {
      this.remaining = dataSize;
      this.state = ST_DATA;
    }
  }

  private emitNoData(entry: TarEntry): void {
    this.handler.onEntry(entry);
    this.handler.onEntryEnd();
    this.state = ST_HEADER;
  }

  /** Stored sparse data follows (this.dataSize bytes, map in this.sparseMap). */
  private startSparse(): void {
    const entry = this.entry!;
    const where = () => `entry ${JSON.stringify(entry.name)} at archive offset ${this.entryPos}`;
    if (this.sparseReal > this.maxEntrySize) {
      throw new OciBundleError('ELIMIT', `tar entry ${JSON.stringify(entry.name)} declares ${this.sparseReal} bytes, over the ${this.maxEntrySize}-byte entry limit`);
    }
    validateSparse(this.sparseMap, this.sparseReal, this.dataSize, where);
    entry.size = this.sparseReal;
    entry.stored = this.dataSize;
    this.handler.onEntry(entry);
    const h = this.handler;
    this.sparse = new SparseExpander(this.sparseMap, this.sparseReal, this.onData, h.onHole ? (n) => h.onHole!(n) : undefined);
    if (this.dataSize === 0) this.endData();
    else {
      this.remaining = this.dataSize;
      this.state = ST_DATA;
    }
  }

  private metaDone(): void {
    const buf = this.metaBuf;
    const pos = this.entryPos;
    const at = () => `archive offset ${pos}`;
    switch (this.metaKind) {
      case META_LONGNAME:
      case META_LONGLINK: {
        let e = buf.indexOf(0);
        if (e < 0) e = buf.length;
        const s = decodeUtf8(buf, 0, e, this.metaKind === META_LONGNAME ? 'gnu long name' : 'gnu long link', at);
        if (this.metaKind === META_LONGNAME) this.longName = s;
        else this.longLink = s;
        break;
      }
      case META_PAX:
        this.pax = parsePax(buf, at);
        break;
      case META_GLOBAL:
        parsePax(buf, at); // validated, then ignored (see the class comment)
        break;
      case META_GNU_EXT: {
        const where = () => `entry ${JSON.stringify(this.entry?.name)} at archive offset ${pos}`;
        readGnuSparseEntries(buf, 0, 21, this.sparseMap, where);
        if (this.sparseMap.length > MAX_META_SIZE / 12) throw bad('gnu sparse map is too large', where);
        if (buf[504] !== 0) this.startMeta(META_GNU_EXT, BLOCK);
        else this.startSparse();
        return;
      }
      case META_SPARSE1: {
        const where = () => `entry ${JSON.stringify(this.entry?.name)} at archive offset ${pos}`;
        // Blocks are kept apart and parsed once enough lines arrived (no quadratic rescans).
        this.sparse1Blocks.push(buf);
        for (let i = 0; i < BLOCK; i++) {
          if (buf[i] !== 0x0a) continue;
          this.sparse1Lines++;
          if (this.sparse1Lines === 1) {
            const first = Buffer.concat(this.sparse1Blocks);
            const count = Number(first.toString('latin1', 0, (this.sparse1Blocks.length - 1) * BLOCK + i));
            if (count > MAX_META_SIZE / 4) throw bad(`GNU sparse 1.0 map declares ${count} fragments`, where);
            this.sparse1Need = Number.isSafeInteger(count) ? 1 + 2 * count : 0;
          }
        }
        const mapBytes = this.sparse1Blocks.length * BLOCK;
        const r = this.sparse1Lines >= this.sparse1Need ? parseSparse1Map(Buffer.concat(this.sparse1Blocks), where) : null;
        if (r === null) {
          if (mapBytes + BLOCK > this.dataSize || mapBytes >= MAX_META_SIZE) throw bad('GNU sparse 1.0 map is unterminated or too large', where);
          this.startMeta(META_SPARSE1, BLOCK);
          return;
        }
        this.sparse1Blocks = [];
        this.sparseMap = r.map;
        this.dataSize -= r.bytes;
        this.startSparse();
        return;
      }
    }
    if (this.pad > 0) {
      this.state = ST_SKIP;
      this.remaining = this.pad;
    } else this.state = ST_HEADER;
  }
}
