// Writes of index.json: every change runs under the layout's inter-process lock on a fresh
// read of the index, and lands atomically (temp file, fsync, rename, fsync dir) with the
// layout directory's owner. Also the tag operations built on it (tag, untag).
import { OciBundleError } from '../errors.js';
import { checkIndexShape } from './checks.js';
import { parseIndexJson, type Layout } from './layout.js';
import { checkTag } from './reference.js';
import { REF_NAME_ANNOTATION, type Descriptor, type ImageIndex } from './types.js';
import { noSuchTag, tagEntries } from './tags.js';

/** index.json as it is now: the layout's snapshot when the file is unchanged since, else a re-read. */
async function currentIndex(layout: Layout): Promise<ImageIndex> {
  if (layout.indexStamp !== undefined && layout.store.currentIndexStamp) {
    const now = await layout.store.currentIndexStamp();
    if (now === layout.indexStamp) return layout.index;
  }
  return parseIndexJson(await layout.store.readIndex(), layout.path);
}

/**
 * Runs `mutate` on the current index.json while holding the lock and writes its result
 * atomically; returning the very object it was given writes nothing. `mutate` must not
 * modify its argument in place (it may be the layout's snapshot): return a new index. It
 * may also write blobs the new index needs (gc waits for the lock). Returns the index now
 * in force; `layout.index` stays the snapshot taken at open.
 */
export async function updateIndex(layout: Layout, mutate: (idx: ImageIndex) => ImageIndex | Promise<ImageIndex>): Promise<ImageIndex> {
  const release = await layout.store.lock();
  try {
    const current = await currentIndex(layout);
    const next = await mutate(current);
    if (next === current) return current;
    checkIndexShape(next, `${layout.path}/index.json (new)`);
    await layout.store.writeIndex(Buffer.from(JSON.stringify(next)));
    return next;
  } finally {
    await release();
  }
}

function withName(d: Descriptor, tag: string): Descriptor {
  return { ...d, annotations: { ...(d.annotations ?? {}), [REF_NAME_ANNOTATION]: tag } };
}

/**
 * Points `newTag` at what `source` names: a tag of the layout (its index.json descriptor is
 * copied, so a multi-platform index stays one) or `@sha256:HEX` of a listed or stored blob
 * (`sourceDescriptor` must then be given). Entries already carrying `newTag` are removed and
 * the new entry is appended, as umoci does. `verify`, if given, runs under the lock first (a
 * writer re-checks there that every blob the tag will reach is still in place). Returns the
 * new entry.
 */
export async function tagImage(layout: Layout, source: string | Descriptor, newTag: string, verify?: () => Promise<void>): Promise<Descriptor> {
  checkTag(newTag);
  let entry: Descriptor | undefined;
  await updateIndex(layout, async (idx) => {
    await verify?.();
    let src: Descriptor;
    if (typeof source === 'string') {
      const found = tagEntries(idx, source);
      const digests = new Set(found.map((d) => d.digest));
      if (found.length === 0) throw noSuchTag(source, `layout ${layout.path}`, idx);
      if (digests.size > 1) throw new OciBundleError('EAMBIGUOUS', `tag ${source} names ${digests.size} different descriptors in layout ${layout.path}`);
      src = found[0]!;
    } else {
      src = source;
    }
    const size = await layout.store.statBlob(src.digest);
    if (size === undefined) throw new OciBundleError('ENOBLOB', `blob ${src.digest} not found in layout ${layout.path}`);
    entry = withName(src, newTag);
    const kept = idx.manifests.filter((d) => d.annotations?.[REF_NAME_ANNOTATION] !== newTag);
    return { ...idx, manifests: [...kept, entry] };
  });
  return entry!;
}

/** Removes every index.json entry carrying `tag`; returns how many were removed (0: nothing written). */
export async function untagImage(layout: Layout, tag: string): Promise<number> {
  checkTag(tag);
  let removed = 0;
  await updateIndex(layout, (idx) => {
    const kept = idx.manifests.filter((d) => d.annotations?.[REF_NAME_ANNOTATION] !== tag);
    removed = idx.manifests.length - kept.length;
    return removed === 0 ? idx : { ...idx, manifests: kept };
  });
  return removed;
}

export { listTags } from './tags.js';
