// Reads every layer of an image through layerStreams (worker or inline) and returns the
// sha256 hex of each layer's decompressed bytes, for tests of the layer sources.
import { createHash } from 'node:crypto';
import { openImage } from '../../src/open-image.js';
import { layerStreams } from '../../src/pipeline/layer-stream.js';

export async function drainLayers(worker: boolean, image: string): Promise<string[]> {
  const img = await openImage(image);
  const s = layerStreams(img, { worker });
  try {
    const out: string[] = [];
    for (let i = 0; i < img.layers.length; i++) {
      const h = createHash('sha256');
      for await (const c of s.layer(i)) h.update(c);
      out.push(h.digest('hex'));
    }
    return out;
  } finally {
    await s.close();
  }
}
