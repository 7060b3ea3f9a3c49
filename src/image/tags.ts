// Tags of an index: which index.json entries carry a ref.name, in index order. Pure
// functions over a parsed index, kept apart so ls/tag/rm load nothing else.
import { OciBundleError } from '../errors.js';
import { REF_NAME_ANNOTATION, type Descriptor, type ImageIndex } from './types.js';

/** Descriptors of index.json that carry the tag, in index order. */
export function tagEntries(index: ImageIndex, tag: string): Descriptor[] {
  return index.manifests.filter((d) => d.annotations?.[REF_NAME_ANNOTATION] === tag);
}

/** Tags in index order (duplicates kept, as umoci lists them). */
export function listTags(index: ImageIndex): string[] {
  const out: string[] = [];
  for (const d of index.manifests) {
    const n = d.annotations?.[REF_NAME_ANNOTATION];
    if (n !== undefined) out.push(n);
  }
  return out;
}

/** How many existing tags an ENOTAG message lists. */
const TAGS_LISTED = 10;

/** ENOTAG for `tag` in the layout at `where`, listing up to ten tags it does have. */
export function noSuchTag(tag: string, where: string, index: ImageIndex): OciBundleError {
  const tags = [...new Set(listTags(index))];
  const more = tags.length > TAGS_LISTED ? ` and ${tags.length - TAGS_LISTED} more` : '';
  const has = tags.length === 0 ? 'it has no tags' : `it has ${tags.slice(0, TAGS_LISTED).join(', ')}${more}`;
  return new OciBundleError('ENOTAG', `tag ${tag} not found in ${where}; ${has}`);
}
