// The public API of the image library (the OCI model): re-exports only. Nothing here knows
// about rootfs, bundles or the CLI.
export { parseDigest, isValidDigest, blobRelPath, digestOf, type DigestAlgorithm, type ParsedDigest } from './digest.js';
export { MT, layerCompression, isIndexType, isManifestType, isConfigType, isLayerType, type Compression } from './media-types.js';
export type { Descriptor, ImageIndex, Manifest, ImageConfig, ImageConfigConfig, HistoryEntry, Platform } from './types.js';
export { REF_NAME_ANNOTATION } from './types.js';
export { DirStore, MemStore, memoryRawBlob, type BlobStore, type RawBlob } from './store.js';
export { openLayout, initLayout, memoryLayout, parseIndexJson, type Layout } from './layout.js';
export { openBlob, blobChunks, readBlob, readJsonBlob, embeddedData, JSON_CAP, type JsonReadOptions } from './blob.js';
export { parseImageRef, formatImageRef, isValidRefName, checkTag, checkLayoutPath, type ImageRef } from './reference.js';
export { parsePlatform, hostPlatform, formatPlatform, platformMatches, type WantedPlatform } from './platform.js';
export {
  resolveImage,
  resolveInLayout,
  resolveManifestDescriptor,
  resolveManifestPath,
  digestRoot,
  loadImage,
  tagEntries,
  type ResolvedImage,
  type ResolveOptions,
} from './resolve.js';
export { updateIndex, tagImage, untagImage, listTags } from './update-index.js';
export { gcLayout, type GcResult } from './gc.js';
export { validateLayout, type ValidateOptions, type ValidateResult, type Problem } from './validate.js';
export { statImage, type ImageStat, type StatHistoryEntry } from './stat.js';
export { validateSchema, type DocKind } from './schema.js';
