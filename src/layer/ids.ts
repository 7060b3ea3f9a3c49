// Owner translation for the applier: --uid-map/--gid-map mappings (parsed by src/spec) and the rootless xattr `user.rootlesscontainers` in the rootlesscontainers.io
// protobuf format. Pure functions.
import { OciBundleError } from '../errors.js';

export interface IdMap {
  containerID: number;
  hostID: number;
  size: number;
}

/** Translate a container id to a host id; with no maps, ids pass through. */
export function mapId(maps: readonly IdMap[], id: number, what: 'uid' | 'gid', entry: string): number {
  if (maps.length === 0) return id;
  for (const m of maps) {
    if (id >= m.containerID && id < m.containerID + m.size) return m.hostID + (id - m.containerID);
  }
  throw new OciBundleError('EPATH', `${what} ${id} of ${entry} is not covered by the ${what} map`);
}

function varint(n: number): number[] {
  const out: number[] = [];
  let v = n >>> 0;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

/**
 * The `user.rootlesscontainers` value for an entry owned by uid:gid in the container: a protobuf
 * `Resource { uint32 uid = 1; uint32 gid = 2; }`. One rule, umoci's, byte for byte: an id of 0
 * (container root, which the unpacking user is) is "unchanged", NOOP_ID, and the xattr is left
 * out when both are (0:0). So 0:456 is `08 ff ff ff ff 0f 10 c8 03`. Readers that follow the
 * proto (umoci, PRoot) take NOOP as the file's real owner, the unpacking user, who is container
 * root; no field is left to protobuf's implicit zero, which some bindings cannot tell from unset.
 */
export function rootlessXattr(uid: number, gid: number): Buffer | null {
  if (uid === 0 && gid === 0) return null;
  return Buffer.from([0x08, ...varint(uid === 0 ? NOOP_ID : uid), 0x10, ...varint(gid === 0 ? NOOP_ID : gid)]);
}

/** umoci's "no change" id in user.rootlesscontainers (the on-disk owner stands). */
export const NOOP_ID = 0xffffffff;

/**
 * Decodes a `user.rootlesscontainers` value: the uid and gid it records (absent fields are
 * 0, as proto3 says; NOOP_ID comes back as null). Null for bytes that are not such a message.
 */
export function parseRootlessXattr(b: Buffer): { uid: number | null; gid: number | null } | null {
  let uid: number | null = 0;
  let gid: number | null = 0;
  let i = 0;
  while (i < b.length) {
    const tag = b[i++]!;
    if (tag !== 0x08 && tag !== 0x10) return null;
    let v = 0;
    let mul = 1;
    for (let n = 0; ; n++) {
      if (i >= b.length || n > 4) return null;
      const c = b[i++]!;
      v += (c & 0x7f) * mul;
      mul *= 128;
      if ((c & 0x80) === 0) break;
    }
    if (v > 0xffffffff) return null;
    const id = v === NOOP_ID ? null : v;
    if (tag === 0x08) uid = id;
    else gid = id;
  }
  return { uid, gid };
}
