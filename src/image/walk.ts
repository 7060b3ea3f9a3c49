// The reachability walk shared by gc and validate: from root descriptors through indexes
// and manifests to configs and layers, each blob visited once, depth-limited. In "verify"
// mode every reachable blob is read through the verified stream and every problem is
// reported and the walk goes on; otherwise the first error aborts the walk.
import { finished } from 'node:stream/promises';
import { OciBundleError, isOciBundleError } from '../errors.js';
import { openBlob, readJsonBlob, type JsonReadOptions } from './blob.js';
import { blobRelPath, isValidDigest, parseDigest } from './digest.js';
import type { Layout } from './layout.js';
import { isConfigType, isIndexType, isManifestType, layerCompression } from './media-types.js';
import { DEFAULT_MAX_DEPTH } from './resolve.js';
import { REF_NAME_ANNOTATION, type Descriptor, type ImageConfig, type ImageIndex, type Manifest } from './types.js';

export interface Problem {
  code: string;
  message: string;
  /** The blob at fault, when there is one. */
  digest?: string;
  /** Its file in the layout (`blobs/ALG/HEX`). */
  path?: string;
  /** The tags (or, for untagged index entries, the root digests) through which it is reached. */
  refs?: string[];
}

export interface WalkOptions extends JsonReadOptions {
  maxDepth?: number;
  /** Verify every reachable blob (digest, size, schema) and report problems instead of throwing. */
  verify?: boolean;
  onProblem?: (p: Problem) => void;
}

/** How a root is named in a problem's refs: its tag, else its digest. */
function rootName(d: Descriptor): string {
  return d.annotations?.[REF_NAME_ANNOTATION] ?? String(d.digest);
}

/** Returns the set of reachable digests. */
export async function walkReachable(layout: Layout, roots: Descriptor[], opts: WalkOptions = {}): Promise<Set<string>> {
  const maxDepth = opts.maxDepth ?? DEFAULT_MAX_DEPTH;
  const seen = new Set<string>();
  // One problem per blob and code, however many roots reach it: a root that reaches a checked
  // blob (or a subtree holding problems) again joins those problems' refs.
  const problems = new Map<string, Problem>();
  const done = new Map<string, Set<Problem>>();
  const frames: Set<Problem>[] = [];
  let via = '';
  const reach = (ps: Iterable<Problem>): void => {
    for (const p of ps) {
      if (!p.refs!.includes(via)) p.refs!.push(via);
      for (const f of frames) f.add(p);
    }
  };
  const report = (e: unknown, blob?: Descriptor): void => {
    if (!opts.verify || !opts.onProblem) throw e;
    const code = isOciBundleError(e) ? e.code : String((e as { code?: unknown })?.code ?? 'EIO');
    const message = e instanceof Error ? e.message : String(e);
    const digest = blob && isValidDigest(blob.digest) ? blob.digest : undefined;
    const key = `${code} ${digest ?? message}`;
    const known = problems.get(key);
    if (known) return reach([known]);
    const p: Problem = { code, message, ...(digest ? { digest, path: blobRelPath(digest) } : {}), refs: [] };
    problems.set(key, p);
    reach([p]);
    opts.onProblem(p);
  };
  /** Checks one blob (and what it leads to) once; its problems are remembered for later roots. */
  const within = async (blob: Descriptor, check: () => Promise<void>): Promise<void> => {
    const key = `${blob.digest} ${blob.mediaType}`;
    const prior = done.get(key);
    if (prior) return reach(prior);
    const frame = new Set<Problem>();
    done.set(key, frame);
    frames.push(frame);
    try {
      await check();
    } catch (e) {
      if (isOciBundleError(e) && e.code === 'ETOODEEP') throw e; // a runaway nesting ends the walk
      report(e, blob);
    } finally {
      frames.pop();
    }
  };
  const drain = async (d: Descriptor): Promise<void> => {
    const s = openBlob(layout, d);
    s.resume();
    await finished(s);
  };

  const visit = async (d: Descriptor, depth: number): Promise<void> => {
    if (!isValidDigest(d.digest)) {
      report(new OciBundleError('EBADDIGEST', `invalid digest ${JSON.stringify(String(d.digest).slice(0, 200))} in a descriptor of ${d.mediaType}`));
      return;
    }
    const key = `${d.digest} ${d.mediaType}`;
    if (seen.has(key)) return reach(done.get(key) ?? []);
    seen.add(key);
    if (depth > maxDepth) throw new OciBundleError('ETOODEEP', `blob ${d.digest} is nested more than ${maxDepth} levels deep`);
    if (isIndexType(d.mediaType)) {
      await within(d, async () => {
        const idx = await readJsonBlob<ImageIndex>(layout, d, 'index', opts).catch((e: unknown) => void report(e, d));
        for (const c of idx?.manifests ?? []) await visit(c, depth + 1);
      });
    } else if (isManifestType(d.mediaType)) {
      await within(d, async () => {
        const m = await readJsonBlob<Manifest>(layout, d, 'manifest', opts).catch((e: unknown) => void report(e, d));
        if (m) await visitManifest(d, m);
      });
    } else if (opts.verify) {
      await within(d, () => drain(d));
    }
  };

  const visitManifest = async (d: Descriptor, m: Manifest): Promise<void> => {
    seen.add(`${m.config.digest} ${m.config.mediaType}`);
    for (const l of m.layers) seen.add(`${l.digest} ${l.mediaType}`);
    if (m.subject) seen.add(`${m.subject.digest} ${m.subject.mediaType}`);
    if (!opts.verify) return;
    await within(m.config, async () => {
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
      await within(l, async () => {
        parseDigest(l.digest, `layer digest in manifest ${d.digest}`);
        layerCompression(l.mediaType);
        await drain(l);
      });
    }
  };

  for (const r of roots) {
    via = rootName(r);
    await visit(r, 1);
  }
  return new Set([...seen].map((k) => k.slice(0, k.indexOf(' '))));
}
