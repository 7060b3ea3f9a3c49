// One step from a command-line image argument to a resolved, verified image: the shared
// front door of unpack and raw runtime-config. Names go through src/source (bare
// `PATH[:TAG]` / `PATH@DIGEST` layouts as before, plus oci:, oci-archive:, docker-archive:,
// docker://); resolution itself is the image library's.
import type { WarnFn } from './errors.js';
import { resolveInLayout, type ResolvedImage } from './image/index.js';
import { platformWarning } from './image/platform.js';
import { openSource, type SourceOptions } from './source/index.js';

/** The resolved image plus close(), which releases the source (a no-op for layouts and archives). */
export type OpenedImage = ResolvedImage & { close(): Promise<void> };

/** With a platform asked for, `warn` hears WPLATFORM when the chosen image's config says otherwise
 * (a single-platform tag is used whatever its platform, as umoci does; the warning says so). */
export async function openImage(image: string, platform?: string, sourceOpts: SourceOptions = {}, warn?: WarnFn): Promise<OpenedImage> {
  const plat = platform ?? sourceOpts.platform;
  const src = await openSource(image, plat === undefined ? sourceOpts : { ...sourceOpts, platform: plat });
  try {
    const img = await resolveInLayout(src.layout, src.ref, plat === undefined ? {} : { platform: plat });
    const w = platformWarning(image, img.config, plat);
    if (w) warn?.(w);
    return { ...img, close: () => src.close() };
  } catch (e) {
    await src.close().catch(() => undefined);
    throw e;
  }
}
