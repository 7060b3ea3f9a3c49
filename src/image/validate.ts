// Validation of a whole layout or one image: index.json against the full schema, tag names,
// then every reachable blob read and checked (digest, size, schema, media types, diff_ids).
// Collects problems instead of stopping at the first; prints nothing.
import { isOciBundleError } from '../errors.js';
import type { Layout } from './layout.js';
import { isValidRefName } from './reference.js';
import { digestRoot, resolveManifestDescriptor, loadImage } from './resolve.js';
import { noSuchTag, tagEntries } from './tags.js';
import { validateSchema } from './schema.js';
import { REF_NAME_ANNOTATION, type Descriptor } from './types.js';
import { walkReachable, type Problem } from './walk.js';
import { OciBundleError } from '../errors.js';

export type { Problem } from './walk.js';

export interface ValidateOptions {
  /** Validate only what this tag (or `@sha256:HEX`) reaches. */
  ref?: string;
  /** With `ref`: validate only the manifest resolution picks for this platform. */
  platform?: string;
  maxDepth?: number;
}

export interface ValidateResult {
  problems: Problem[];
  /** Number of distinct blobs reached. */
  blobs: number;
}

function toProblem(e: unknown): Problem {
  const code = isOciBundleError(e) ? e.code : String((e as { code?: unknown })?.code ?? 'EIO');
  return { code, message: e instanceof Error ? e.message : String(e) };
}

export async function validateLayout(layout: Layout, opts: ValidateOptions = {}): Promise<ValidateResult> {
  const problems: Problem[] = [];
  const onProblem = (p: Problem) => problems.push(p);
  let roots: Descriptor[];
  if (opts.ref !== undefined) {
    if (opts.platform !== undefined) {
      try {
        const desc = await resolveManifestDescriptor(layout, opts.ref, { platform: opts.platform, ...(opts.maxDepth ? { maxDepth: opts.maxDepth } : {}) });
        await loadImage(layout, desc);
        roots = [desc];
      } catch (e) {
        return { problems: [toProblem(e)], blobs: 0 };
      }
    } else if (opts.ref.startsWith('@')) {
      try {
        roots = [await digestRoot(layout, opts.ref.slice(1), {})];
      } catch (e) {
        return { problems: [toProblem(e)], blobs: 0 };
      }
    } else {
      roots = tagEntries(layout.index, opts.ref);
      if (roots.length === 0) {
        return { problems: [toProblem(noSuchTag(opts.ref, `layout ${layout.path}`, layout.index))], blobs: 0 };
      }
    }
  } else {
    roots = layout.index.manifests;
    try {
      await validateSchema('index', layout.index, `${layout.path}/index.json`);
    } catch (e) {
      onProblem(toProblem(e));
    }
    for (const d of roots) {
      const n = d.annotations?.[REF_NAME_ANNOTATION];
      if (n !== undefined && !isValidRefName(n)) {
        onProblem({ code: 'EBADREF', message: `index.json entry ${d.digest} has an invalid ref.name ${JSON.stringify(n.slice(0, 200))}` });
      }
    }
  }
  const seen = await walkReachable(layout, roots, { verify: true, onProblem, ...(opts.maxDepth ? { maxDepth: opts.maxDepth } : {}) }).catch((e) => {
    onProblem(toProblem(e));
    return new Set<string>();
  });
  return { problems, blobs: seen.size };
}
