// The reachability walk shared by gc and validate: from root descriptors through indexes
// and manifests to configs and layers, each blob visited once, depth-limited. In "verify"
// mode every reachable blob is read through the verified stream and every problem is
// reported and the walk goes on; otherwise the first error aborts the walk.
import { finished } from 'node:stream/promises';
import { OciBundleError, isOciBundleError } from '../errors.js';
import { openBlob, readJsonBlob, type JsonReadOptions } from './blob.js';
import { isValidDigest, parseDigest } from './digest.js';
import type { Layout } from './layout.js';
import { isConfigType, isIndexType, isManifestType, layerCompression } from './media-types.js';
import { DEFAULT_MAX_DEPTH } from './resolve.js';
import type { Descriptor, ImageConfig, ImageIndex, Manifest } from './types.js';

export interface Problem {
  code: string;
  message: string;
}

export interface WalkOptions extends JsonReadOptions {
  maxDepth?: number;
  /** Verify every reachable blob (digest, size, schema) and report problems instead of throwing. */
  verify?: boolean;
  onProblem?: (p: Problem) => void;
}

/** Returns the set of reachable digests. */
export async function walkReachable(layout: Layout, roots: Descriptor[], opts: WalkOptions = {}): Promise<Set<string>> {
  const maxDepth = opts.maxDepth ?? DEFAULT_MAX_DEPTH;
  const seen = new Set<string>();
  const report = (e: unknown): void => {
    if (!opts.verify || !opts.onProblem) throw e;
    const code = isOciBundleError(e) ? e.code : String((e as { code?: unknown })?.code ?? 'EIO');
    opts.onProblem({ code, message: e instanceof Error ? e.message : String(e) });
  };
  const drain = async (d: Descriptor): Promise<void> => {
    const s = openBlob(layout, d);
    s.resume();
    await finished(s);
  };
  const guard = async (fn: () => Promise<void>): Promise<void> => {
    try {
      await fn();
    } catch (e) {
      report(e);
    }
  };

  const visit = async (d: Descriptor, depth: number): Promise<void> => {
    if (!isValidDigest(d.digest)) {
      report(new OciBundleError('EBADDIGEST', `invalid digest ${JSON.stringify(String(d.digest).slice(0, 200))} in a descriptor of ${d.mediaType}`));
      return;
    }
    const key = `${d.digest} ${d.mediaType}`;
    if (seen.has(key)) return;
    seen.add(key);
    if (depth > maxDepth) throw new OciBundleError('ETOODEEP', `blob ${d.digest} is nested more than ${maxDepth} levels deep`);
    if (isIndexType(d.mediaType)) {
      let idx: ImageIndex;
      try {
        idx = await readJsonBlob<ImageIndex>(layout, d, 'index', opts);
      } catch (e) {
        return report(e);
      }
      for (const c of idx.manifests) await visit(c, depth + 1);
    } else if (isManifestType(d.mediaType)) {
      let m: Manifest;
      try {
        m = await readJsonBlob<Manifest>(layout, d, 'manifest', opts);
      } catch (e) {
        return report(e);
      }
      const cfgKey = `${m.config.digest} ${m.config.mediaType}`;
      seen.add(cfgKey);
      for (const l of m.layers) seen.add(`${l.digest} ${l.mediaType}`);
      if (m.subject) seen.add(`${m.subject.digest} ${m.subject.mediaType}`);
      if (!opts.verify) return;
      await guard(async () => {
        if (!isConfigType(m.config.mediaType)) throw new OciBundleError('EMEDIATYPE', `manifest ${d.digest}: config ${m.config.digest} has media type ${m.config.mediaType}, not an image config`);
        const cfg = await readJsonBlob<ImageConfig>(layout, m.config, 'config', opts);
        if (cfg.rootfs.diff_ids.length !== m.layers.length) {
          throw new OciBundleError('EDIFFID', `config ${m.config.digest} lists ${cfg.rootfs.diff_ids.length} diff_ids for ${m.layers.length} layers`);
        }
        cfg.rootfs.diff_ids.forEach((id, i) => {
          if (!isValidDigest(id)) throw new OciBundleError('EBADDIGEST', `config ${m.config.digest}: diff_ids[${i}] is not a valid digest`);
        });
      });
      for (const l of m.layers) {
        await guard(async () => {
          parseDigest(l.digest, `layer digest in manifest ${d.digest}`);
          layerCompression(l.mediaType);
          await drain(l);
        });
      }
    } else if (opts.verify) {
      await guard(() => drain(d));
    }
  };

  for (const r of roots) await visit(r, 1);
  return new Set([...seen].map((k) => k.slice(0, k.indexOf(' '))));
}
