// The public library API of ocibundle: what test harnesses import in-process.
// Re-exports only; each function lives in its own module.
export { OciBundleError, isOciBundleError, EXIT, ERROR_CODES, WARNING_CODES, type ErrorCode, type WarningCode, type Warning, type WarnFn } from './errors.js';
export { unpack, type UnpackOptions, type UnpackSummary, type UnpackProgress, type LayerSummary } from './unpack.js';
export { writeRuntimeConfig, buildRuntimeConfig, type WriteRuntimeConfigOptions, type RuntimeConfigOptions } from './runtime-config.js';
export { openImage, type OpenedImage } from './open-image.js';
export { openSource, parseSourceName, type SourceOptions, type RegistryOptions, type OpenedSource, type SourceName } from './source/index.js';
export { copyImage, parseDestName, type CopyOptions, type CopyResult, type DestName } from './source/copy.js';
export {
  resolveImage,
  openLayout,
  initLayout,
  openBlob,
  readJsonBlob,
  layerCompression,
  updateIndex,
  tagImage,
  untagImage,
  listTags,
  gcLayout,
  validateLayout,
  statImage,
  parseImageRef,
  type ResolvedImage,
  type Layout,
  type Descriptor,
  type Manifest,
  type ImageIndex,
  type ImageConfig,
  type Platform,
} from './image/index.js';
export { generateRuntimeConfig, validateRuntimeConfig, parseIdMap, applyMergePatch, SPEC_LIMITS, type RuntimeSpec, type IdMap, type GenerateOptions, type ShapeOptions, type ShapeMount, type BindMountOption, type TmpfsMountOption } from './spec/index.js';
export { RootFS } from './fs/rootfs.js';
export {
  defaultStoreDir,
  storeList,
  storeDu,
  storeGc,
  storeVerify,
  type StoreLayerInfo,
  type GcResult as StoreGcResult,
  type VerifyResult as StoreVerifyResult,
} from './store/index.js';
export { mountBundle, umountBundle, readRecord as readOverlayRecord, type BundleRecord as OverlayBundleRecord } from './store/overlay.js';
export { rootlessXattr, parseRootlessXattr, NOOP_ID as ROOTLESS_NOOP_ID } from './layer/ids.js';
