// Rules on parsed documents that a schema cannot express well: the schemaVersion, sizes,
// ambiguous documents (CVE-2021-41190) and declared media types that disagree with the
// descriptor that pointed at them. Pure functions over parsed JSON; no I/O.
import { OciBundleError } from '../errors.js';
import { isIndexType, isManifestType } from './media-types.js';
import type { Descriptor } from './types.js';
import type { DocKind } from './schema.js';

const GENERIC_DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The size rule: a non-negative safe integer. */
export function checkSize(size: unknown, where: string): asserts size is number {
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw new OciBundleError('ESCHEMA', `${where}: size ${JSON.stringify(size)} is not a non-negative integer`);
  }
}

/** A fast structural check of one descriptor (used on index.json without loading ajv). */
export function checkDescriptorShape(d: unknown, where: string): asserts d is Descriptor {
  if (!isRecord(d)) throw new OciBundleError('ESCHEMA', `${where}: descriptor is not an object`);
  if (typeof d['mediaType'] !== 'string') throw new OciBundleError('ESCHEMA', `${where}: descriptor mediaType is not a string`);
  if (typeof d['digest'] !== 'string' || !GENERIC_DIGEST.test(d['digest'])) {
    throw new OciBundleError('ESCHEMA', `${where}: descriptor digest ${JSON.stringify(d['digest'])} is malformed`);
  }
  checkSize(d['size'], `${where} ${d['digest']}`);
  const ann = d['annotations'];
  if (ann !== undefined) {
    if (!isRecord(ann)) throw new OciBundleError('ESCHEMA', `${where} ${d['digest']}: annotations is not an object`);
    for (const k in ann) {
      if (typeof ann[k] !== 'string') throw new OciBundleError('ESCHEMA', `${where} ${d['digest']}: annotation ${JSON.stringify(k)} is not a string`);
    }
  }
}

/**
 * Kind-specific rules: schemaVersion 2, no ambiguous documents, a declared mediaType that
 * agrees with the descriptor's. `descMediaType` is undefined for index.json itself.
 */
export function checkDocument(kind: DocKind, doc: unknown, where: string, descMediaType?: string): void {
  if (!isRecord(doc)) throw new OciBundleError('ESCHEMA', `${kind} ${where} is not a json object`);
  if (kind !== 'config') {
    if (doc['schemaVersion'] !== 2) {
      throw new OciBundleError('ESCHEMA', `${kind} ${where}: schemaVersion ${JSON.stringify(doc['schemaVersion'])} is not 2`);
    }
    if (kind === 'manifest' && 'manifests' in doc) {
      throw new OciBundleError('EMEDIATYPE', `manifest ${where} carries a "manifests" field: ambiguous document refused (CVE-2021-41190)`);
    }
    if (kind === 'index' && ('config' in doc || 'layers' in doc)) {
      throw new OciBundleError('EMEDIATYPE', `index ${where} carries a "config" or "layers" field: ambiguous document refused (CVE-2021-41190)`);
    }
    const declared = doc['mediaType'];
    if (declared !== undefined) {
      const ok = kind === 'index' ? isIndexType(declared) : isManifestType(declared);
      if (!ok) throw new OciBundleError('EMEDIATYPE', `${kind} ${where} declares mediaType ${JSON.stringify(declared)}, which is not a ${kind} type`);
      if (descMediaType !== undefined && declared !== descMediaType) {
        throw new OciBundleError('EMEDIATYPE', `${kind} ${where} declares mediaType ${declared} but its descriptor says ${descMediaType}`);
      }
    }
  }
}

/** Fast check of index.json: shape of every descriptor plus the document rules. */
export function checkIndexShape(doc: unknown, where: string): void {
  checkDocument('index', doc, where);
  const m = (doc as Record<string, unknown>)['manifests'];
  if (!Array.isArray(m)) throw new OciBundleError('ESCHEMA', `index ${where}: manifests is not an array`);
  for (let i = 0; i < m.length; i++) checkDescriptorShape(m[i], `index ${where} manifests[${i}]`);
}
