// Media types of OCI and Docker images: constants, what kind of object each names, and the
// compression of a layer. Pure tables and predicates; no I/O.
import { OciBundleError } from '../errors.js';

export const MT = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayout: 'application/vnd.oci.layout.header.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  ociLayerNd: 'application/vnd.oci.image.layer.nondistributable.v1.tar',
  ociLayerNdGzip: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  ociLayerNdZstd: 'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerForeignLayerGzip: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
} as const;

export type Compression = 'gzip' | 'zstd' | 'none';

const LAYERS: ReadonlyMap<string, Compression> = new Map<string, Compression>([
  [MT.ociLayer, 'none'],
  [MT.ociLayerGzip, 'gzip'],
  [MT.ociLayerZstd, 'zstd'],
  [MT.ociLayerNd, 'none'],
  [MT.ociLayerNdGzip, 'gzip'],
  [MT.ociLayerNdZstd, 'zstd'],
  [MT.dockerLayerGzip, 'gzip'],
  [MT.dockerForeignLayerGzip, 'gzip'],
]);

/** Layers a registry may not serve (Docker foreign, OCI non-distributable): their blob must be present. */
const FOREIGN = new Set<string>([MT.dockerForeignLayerGzip, MT.ociLayerNd, MT.ociLayerNdGzip, MT.ociLayerNdZstd]);

export function isForeignLayerType(mt: unknown): boolean {
  return typeof mt === 'string' && FOREIGN.has(mt);
}

export function isIndexType(mt: unknown): boolean {
  return mt === MT.ociIndex || mt === MT.dockerList;
}
export function isManifestType(mt: unknown): boolean {
  return mt === MT.ociManifest || mt === MT.dockerManifest;
}
export function isConfigType(mt: unknown): boolean {
  return mt === MT.ociConfig || mt === MT.dockerConfig;
}
export function isLayerType(mt: unknown): boolean {
  return typeof mt === 'string' && LAYERS.has(mt);
}

/** The compression of a layer media type; EMEDIATYPE for anything that is not a supported layer. */
export function layerCompression(mediaType: string): Compression {
  const c = LAYERS.get(mediaType);
  if (c) return c;
  throw new OciBundleError('EMEDIATYPE', `unsupported media type ${JSON.stringify(String(mediaType).slice(0, 200))} for a layer`);
}
