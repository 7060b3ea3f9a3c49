// One step from a command-line image argument (`PATH[:TAG]` or `PATH@DIGEST`) to a resolved,
// verified image: the shared front door of unpack and raw runtime-config.
import { parseImageRef, resolveImage, type ResolvedImage } from './image/index.js';

export async function openImage(image: string, platform?: string): Promise<ResolvedImage> {
  const ref = parseImageRef(image);
  const name = ref.digest !== undefined ? `@${ref.digest}` : (ref.tag ?? 'latest');
  return resolveImage(ref.path, name, platform === undefined ? {} : { platform });
}
