// Which commands are timed, as bash scripts: the unpack cases of one image (ocibundle, umoci,
// the tar and decompress-only floors chosen by the layers' compression) and the ls/tag/rm
// cases of the tag layout. Pure: builds strings from paths; runs nothing.
import type { BenchCase } from './types.js';

export type Compression = 'gzip' | 'zstd' | 'none';
export type ImageKind = 'gzip' | 'zstd' | 'mixed';

export interface LayerFile {
  path: string;
  compression: Compression;
}

/** Single-quote a string for bash. */
export function shq(s: string): string {
  return /^[A-Za-z0-9_./:@=+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export function compressionOf(mediaType: string): Compression | null {
  if (/\.tar\+gzip$|\.tar\.gzip$|diff\.tar\.gzip$/.test(mediaType)) return 'gzip';
  if (/\.tar\+zstd$/.test(mediaType)) return 'zstd';
  if (/\.tar$/.test(mediaType)) return 'none';
  return null;
}

export function imageKind(layers: readonly LayerFile[]): ImageKind {
  const kinds = new Set(layers.map((l) => l.compression).filter((c) => c !== 'none'));
  if (kinds.size === 1 && kinds.has('zstd')) return 'zstd';
  if (kinds.size <= 1) return 'gzip';
  return 'mixed';
}

/** The floor and decompress-only case ids of an image kind. */
export function floorIds(kind: ImageKind): { floor: string; decompress: string } {
  if (kind === 'zstd') return { floor: 'zstd+tar', decompress: 'zstd-dc' };
  if (kind === 'gzip') return { floor: 'tar-xzf', decompress: 'gzip-dc' };
  return { floor: 'tar-x', decompress: 'decompress' };
}

function extractLayer(l: LayerFile, dir: string): string {
  const p = shq(l.path);
  if (l.compression === 'gzip') return `tar -xzf ${p} -C ${dir}`;
  if (l.compression === 'zstd') return `zstd -dcq ${p} | tar -x -C ${dir}`;
  return `tar -xf ${p} -C ${dir}`;
}

function decompressLayer(l: LayerFile): string {
  const p = shq(l.path);
  if (l.compression === 'gzip') return `gzip -dc ${p} > /dev/null`;
  if (l.compression === 'zstd') return `zstd -dcq ${p} > /dev/null`;
  return `cat ${p} > /dev/null`;
}

export interface UnpackContext {
  /** the layout directory on the fs under test */
  layout: string;
  tag: string;
  /** the output directory, removed before every run */
  out: string;
  /** the ocibundle launcher */
  ocibundle: string;
  layers: readonly LayerFile[];
  /**
   * The layers decompressed onto tmpfs before timing (in order): given, the write-only floor
   * (`tar -xf` of them), the sha256 floor (blobs and tars) and the ratio to the physical limit
   * (max of the write-only and decompress-only floors) are added.
   */
  staged?: readonly string[];
}

/** Ids of the physical-limit floors: writes only, sha256 only. */
export const WRITE_FLOOR = 'write-only';
export const SHA_FLOOR = 'sha256';

/** Every unpack case of one image, in the order they alternate. */
export function unpackCases(ctx: UnpackContext): BenchCase[] {
  const kind = imageKind(ctx.layers);
  const ids = floorIds(kind);
  const ref = shq(`${ctx.layout}:${ctx.tag}`);
  const out = shq(ctx.out);
  const rootfs = shq(`${ctx.out}/rootfs`);
  const ob = shq(ctx.ocibundle);
  const cmp = { floorId: ids.floor, umociId: 'umoci', ...(ctx.staged ? { physIds: { write: WRITE_FLOOR, decompress: ids.decompress } } : {}) };
  const umociFail = kind === 'gzip' ? {} : { failureMeans: 'unsupported' as const };
  // `|| exit` so a failing layer fails the case; pipefail so a failing decompressor does too.
  const perLayer = (f: (l: LayerFile) => string): string =>
    ctx.layers.map((l) => `${f(l)} || exit 1`).join('; ');
  const short = kind === 'zstd' ? 'zstd -dc L | tar -x' : kind === 'gzip' ? 'tar -xzf L' : 'tar -x L';
  const shortDc = kind === 'zstd' ? 'zstd -dc L' : kind === 'gzip' ? 'gzip -dc L' : 'decompress L';
  return [
    {
      id: 'ocibundle',
      display: 'ocibundle unpack --image L:latest OUT',
      script: `exec ${ob} unpack --image ${ref} ${out}`,
      ...cmp,
    },
    {
      id: 'ocibundle-no-mtree',
      display: 'ocibundle unpack --no-mtree --image L:latest OUT',
      script: `exec ${ob} unpack --no-mtree --image ${ref} ${out}`,
      ...cmp,
    },
    {
      id: 'ocibundle-raw',
      display: 'ocibundle raw unpack --image L:latest OUT/rootfs',
      script: `mkdir -p ${out} && exec ${ob} raw unpack --image ${ref} ${rootfs}`,
      ...cmp,
    },
    {
      id: 'umoci',
      display: 'umoci unpack --image L:latest OUT',
      script: `exec umoci unpack --image ${ref} ${out}`,
      ...cmp,
      ...umociFail,
    },
    {
      id: 'umoci-raw',
      display: 'umoci raw unpack --image L:latest OUT/rootfs',
      script: `mkdir -p ${out} && exec umoci raw unpack --image ${ref} ${rootfs}`,
      ...cmp,
      ...umociFail,
    },
    {
      id: ids.floor,
      display: `${short} per layer (floor, no whiteouts)`,
      script: `set -o pipefail; mkdir -p ${rootfs} && { ${perLayer((l) => extractLayer(l, rootfs))}; }`,
      ...cmp,
    },
    {
      id: ids.decompress,
      display: `${shortDc} per layer > /dev/null`,
      script: `set -o pipefail; ${perLayer(decompressLayer)}`,
      ...cmp,
    },
    ...(ctx.staged ? physicalFloors(ctx.staged, ctx.layers, rootfs, cmp) : []),
  ];
}

function physicalFloors(staged: readonly string[], layers: readonly LayerFile[], rootfs: string, cmp: Omit<BenchCase, 'id' | 'display' | 'script'>): BenchCase[] {
  const tars = staged.map(shq);
  return [
    {
      id: WRITE_FLOOR,
      display: 'tar -xf T per layer (T: the layer decompressed on tmpfs beforehand)',
      script: `mkdir -p ${rootfs} && { ${tars.map((t) => `tar -xf ${t} -C ${rootfs} || exit 1`).join('; ')}; }`,
      ...cmp,
    },
    {
      id: SHA_FLOOR,
      display: 'sha256sum of every blob and decompressed layer',
      script: `sha256sum ${[...layers.map((l) => shq(l.path)), ...tars].join(' ')} > /dev/null`,
      ...cmp,
    },
  ];
}

/**
 * The start-up group: node itself, `--version`, `ls` of a small layout, and umoci's ls.
 * The floor is node's bare start-up: NODE_EXTRA_CA_CERTS is removed from its environment,
 * because node parses that file before any code runs and the launcher defers it; when the
 * caller's environment sets it, node's start-up with it is timed too, for information.
 */
export function startupCases(ctx: { ocibundle: string; layout: string; extraCaCerts?: string }): BenchCase[] {
  const ob = shq(ctx.ocibundle);
  const L = shq(ctx.layout);
  const cmp = { floorId: 'node-e0', umociId: 'umoci-ls' };
  const withCa: BenchCase[] = ctx.extraCaCerts
    ? [{ id: 'node-e0-ca', display: 'node -e 0 with NODE_EXTRA_CA_CERTS', script: 'exec node -e 0', ...cmp }]
    : [];
  return [
    { id: 'node-e0', display: 'node -e 0', script: 'unset NODE_EXTRA_CA_CERTS; exec node -e 0', ...cmp },
    ...withCa,
    { id: 'ocibundle-version', display: 'ocibundle --version', script: `exec ${ob} --version`, ...cmp },
    { id: 'ocibundle-ls', display: 'ocibundle ls --layout L', script: `exec ${ob} ls --layout ${L}`, ...cmp },
    { id: 'umoci-ls', display: 'umoci ls --layout L', script: `exec umoci ls --layout ${L}`, ...cmp },
  ];
}

export interface LayoutContext {
  layout: string;
  ocibundle: string;
  /** an existing tag that `rm` removes */
  rmTag: string;
  /** a tag that does not exist yet, which `tag` adds */
  newTag: string;
}

/** ls/tag/rm of ocibundle and umoci on the many-tag layout; the index is reset before each run. */
export function layoutCases(ctx: LayoutContext): BenchCase[] {
  const L = shq(ctx.layout);
  const ob = shq(ctx.ocibundle);
  const latest = shq(`${ctx.layout}:latest`);
  const victim = shq(`${ctx.layout}:${ctx.rmTag}`);
  const newTag = shq(ctx.newTag);
  const ops: { op: string; ob: string; umoci: string; args: string }[] = [
    { op: 'ls', ob: `exec ${ob} ls --layout ${L}`, umoci: `exec umoci ls --layout ${L}`, args: 'ls --layout L' },
    {
      op: 'tag',
      ob: `exec ${ob} tag --image ${latest} ${newTag}`,
      umoci: `exec umoci tag --image ${latest} ${newTag}`,
      args: `tag --image L:latest ${ctx.newTag}`,
    },
    {
      op: 'rm',
      ob: `exec ${ob} rm --image ${victim}`,
      umoci: `exec umoci rm --image ${victim}`,
      args: `rm --image L:${ctx.rmTag}`,
    },
  ];
  return ops.flatMap(({ op, ob: o, umoci, args }) => [
    { id: `ocibundle-${op}`, display: `ocibundle ${args}`, script: o, umociId: `umoci-${op}` },
    { id: `umoci-${op}`, display: `umoci ${args}`, script: umoci, umociId: `umoci-${op}` },
  ]);
}

export interface RepackContext {
  layout: string;
  ocibundle: string;
  /** bundles unpacked by each tool from the layout, with the same files changed */
  oursBundle: string;
  umociBundle: string;
}

/** repack of a bundle after a few changed files: ocibundle's bundle by ocibundle, umoci's by umoci. */
export function repackCases(ctx: RepackContext): BenchCase[] {
  const ob = shq(ctx.ocibundle);
  const tagged = (t: string) => shq(`${ctx.layout}:${t}`);
  return [
    { id: 'ocibundle-repack', display: 'ocibundle repack --image L:bench-repack B', script: `exec ${ob} repack --image ${tagged('bench-repack-ocibundle')} ${shq(ctx.oursBundle)}`, umociId: 'umoci-repack' },
    { id: 'umoci-repack', display: 'umoci repack --image L:bench-repack B', script: `exec umoci repack --image ${tagged('bench-repack-umoci')} ${shq(ctx.umociBundle)}`, umociId: 'umoci-repack' },
  ];
}

/** Appends a line to the first `n` regular files (sorted) under ROOT/usr: the same files in every bundle. */
export function changeFilesScript(rootfs: string, n: number): string {
  return `find ${shq(rootfs)}/usr -type f | LC_ALL=C sort | head -n ${n} | while IFS= read -r f; do echo changed >> "$f"; done`;
}
