// The layout commands, with umoci's flags: init, ls, tag, rm, stat, gc, validate. Each one
// parses its arguments, calls src/image and prints through output.ts; errors are thrown as
// OciBundleError for main.ts to print. No OCI logic lives here beyond formatting.
import { existsSync } from 'node:fs';
import { withHelp } from './usage.js';
import { spellings } from '../source/transports.js';
import type { Argv, CommandModule } from 'yargs';
import { OciBundleError } from '../errors.js';
import { printData, printJson, printMessage, runWarnings, stderrWarner } from './output.js';
import { checkLayoutPath, parseImageRef, type ImageRef } from '../image/reference.js';
import { openLayout } from '../image/layout.js';
import { REF_NAME_ANNOTATION } from '../image/types.js';
// Only what ls/tag/rm need is imported up front; stat, gc and validate load their modules
// in their handlers, so the common commands start fast.

interface LayoutArgs {
  layout: string;
  json?: boolean;
}
interface ImageArgs {
  image: string;
  json?: boolean;
  platform?: string;
}

const layoutOpt = { type: 'string', describe: 'path to an OCI image layout', requiresArg: true } as const;
const imageOpt = { type: 'string', describe: "OCI image of the form 'path[:tag]' or 'path@sha256:hex' (tag defaults to latest)", requiresArg: true } as const;
const sourceOpt = { ...imageOpt, describe: `the image: ${spellings('source')}` } as const;
const jsonOpt = { type: 'boolean', default: false, describe: 'print stable JSON instead of text' } as const;
const platformOpt = { type: 'string', describe: 'platform os/arch[/variant] to pick from a multi-platform index (default: the host)', requiresArg: true } as const;

/** `PATH[:TAG]` -> ref string for the library: the tag, or `@sha256:HEX`. */
function refOf(r: ImageRef): string {
  return r.digest ? `@${r.digest}` : r.tag!;
}

export const initCommand: CommandModule<object, LayoutArgs> = {
  command: 'init',
  describe: 'create a new, empty OCI image layout',
  builder: (y: Argv) =>
    withHelp(y.option('layout', { ...layoutOpt, demandOption: true }), 'init', {
      describe: 'Create a new, empty OCI image layout at PATH (it must not exist).',
      options: ['layout'],
      examples: [
        ['init --layout ./busybox', 'then: ocibundle copy docker-archive:busybox.tar ./busybox'],
        ['init --layout ./empty && ocibundle ls --layout ./empty', 'an empty layout lists no tags'],
      ],
    }) as unknown as Argv<LayoutArgs>,
  handler: async (argv) => {
    const { initLayout } = await import('../image/layout.js');
    await initLayout(checkLayoutPath(argv.layout));
  },
};

export const lsCommand: CommandModule<object, LayoutArgs> = {
  command: 'ls',
  aliases: ['list'],
  describe: 'list the tags of an OCI image layout, in index order',
  builder: (y: Argv) =>
    withHelp(y.option('layout', { ...layoutOpt, demandOption: true }).option('json', jsonOpt), 'ls', {
      describe: 'List the tags of an OCI image layout, in index order.',
      options: ['layout', 'json'],
      examples: [
        ['ls --layout ./busybox', 'one tag per line'],
        ['ls --layout ./busybox --json', '[{"tag", "mediaType", "digest", "size"}, ...]'],
      ],
    }) as unknown as Argv<LayoutArgs>,
  handler: async (argv) => {
    const layout = await openLayout(checkLayoutPath(argv.layout));
    if (argv.json) {
      printJson(
        layout.index.manifests
          .filter((d) => d.annotations?.[REF_NAME_ANNOTATION] !== undefined)
          .map((d) => ({ tag: d.annotations![REF_NAME_ANNOTATION]!, mediaType: d.mediaType, digest: d.digest, size: d.size })),
      );
      return;
    }
    const { listTags } = await import('../image/tags.js');
    const tags = listTags(layout.index);
    if (tags.length > 0) printData(tags);
  },
};

export const tagCommand: CommandModule<object, ImageArgs & { 'new-tag': string }> = {
  command: 'tag <new-tag>',
  describe: 'point a new tag at the image an existing tag (or digest) names; re-tagging moves the name',
  builder: (y: Argv) =>
    withHelp(y.option('image', { ...imageOpt, demandOption: true }).positional('new-tag', { type: 'string', describe: 'the tag to create or move' }), 'tag', {
      describe: 'Point NEW-TAG at the image a tag (or digest) names; re-tagging moves the name.',
      options: ['image'],
      examples: [
        ['tag --image ./busybox:latest v1', 'v1 now names what latest names'],
        ['tag --image ./bb@sha256:HEX pin', 'tag an image by its digest'],
      ],
    }) as unknown as Argv<ImageArgs & { 'new-tag': string }>,
  handler: async (argv) => {
    const ref = parseImageRef(argv.image);
    const layout = await openLayout(ref.path);
    const { tagImage } = await import('../image/update-index.js');
    if (ref.digest) {
      const { digestRoot } = await import('../image/resolve.js');
      await tagImage(layout, await digestRoot(layout, ref.digest, {}), String(argv['new-tag']));
    } else {
      await tagImage(layout, ref.tag!, String(argv['new-tag']));
    }
  },
};

export const rmCommand: CommandModule<object, ImageArgs> = {
  command: 'rm',
  aliases: ['remove'],
  describe: 'remove a tag from an OCI image layout (blobs stay until gc)',
  builder: (y: Argv) =>
    withHelp(y.option('image', { ...imageOpt, demandOption: true }), 'rm', {
      describe: 'Remove a tag from an OCI image layout (blobs stay until gc). Without :TAG it removes latest, as umoci does.',
      options: ['image'],
      examples: [
        ['rm --image ./busybox:old', 'remove tag old; a missing tag only warns'],
        ['rm --image ./busybox', 'no tag given: removes latest'],
      ],
    }) as unknown as Argv<ImageArgs>,
  handler: async (argv) => {
    const ref = parseImageRef(argv.image);
    if (ref.digest) throw new OciBundleError('EUSAGE', 'rm takes a tag, not a digest');
    const layout = await openLayout(ref.path);
    const { untagImage } = await import('../image/update-index.js');
    const n = await untagImage(layout, ref.tag!);
    if (n === 0) stderrWarner()({ code: 'ENOTAG', message: `tag ${ref.tag} not found in layout ${ref.path}; nothing removed` });
  },
};

export const statCommand: CommandModule<object, ImageArgs> = {
  command: 'stat',
  describe: 'show the manifest, config and history of an image',
  builder: (y: Argv) =>
    withHelp(
      y
        .option('image', { ...sourceOpt, demandOption: true })
        .option('json', jsonOpt)
        .option('platform', platformOpt)
        .option('creds', { type: 'string', requiresArg: true, describe: 'registry credentials USER:PASS for docker:// sources (never printed)' })
        .option('authfile', { type: 'string', requiresArg: true, describe: 'auth.json / docker config.json with registry credentials' })
        .option('tls-verify', { type: 'boolean', default: true, describe: 'verify registry TLS certificates (--tls-verify=false for a local registry)' })
        .option('trust-realm', { type: 'string', array: true, requiresArg: true, describe: 'also send registry credentials to a token realm on this other host' }), 'stat', {
      describe: 'Show the manifest, config and history of an image from any source.',
      options: ['image', 'platform', 'json'],
      groups: { 'Registry options (docker:// images):': ['creds', 'authfile', 'tls-verify', 'trust-realm'] },
      examples: [
        ['stat --image ./busybox:latest', 'manifest, config and history sections'],
        ['stat --image docker-archive:busybox.tar', 'any source name works'],
        ['stat --image ./multi:latest --platform linux/arm64 --json', '{"manifest", "config", "history"} of one platform'],
      ],
    }) as unknown as Argv<ImageArgs>,
  handler: async (argv) => {
    const { openSource } = await import('../source/index.js');
    const { sourceOptionsOf } = await import('./copy.js');
    const src = await openSource(argv.image, sourceOptionsOf(argv as unknown as import('./copy.js').SourceArgs));
    const { statImage } = await import('../image/stat.js');
    const { formatStat } = await import('./layout-stat-format.js');
    const st = await statImage(src.layout, src.ref, argv.platform ? { platform: argv.platform } : {}).finally(() => src.close());
    const warn = stderrWarner({ json: argv.json === true });
    if (argv.platform && st.config) {
      const { platformWarning } = await import('../image/platform.js');
      const w = platformWarning(argv.image, st.config.blob, argv.platform, 'showing it anyway');
      if (w) warn(w);
    }
    if (argv.json) printJson(runWarnings.length > 0 ? { ...st, warnings: runWarnings } : st);
    else printData(formatStat(st));
  },
};

export const gcCommand: CommandModule<object, Partial<LayoutArgs> & { 'cache-dir'?: string }> = {
  command: 'gc',
  describe: 'remove blobs no tag (and no running copy) reaches, and temp files of killed runs (holds the index lock); or clean a --cache-dir',
  builder: (y: Argv) =>
    withHelp(
      y
        .option('layout', layoutOpt)
        .option('cache-dir', { type: 'string', requiresArg: true, describe: 'a registry blob cache (--cache-dir of unpack/copy) to clear of temp files killed pulls left' })
        .option('json', jsonOpt)
        .conflicts('layout', 'cache-dir'), 'gc', {
      describe: 'Remove blobs no tag (and no running copy) reaches and temp files of killed runs (holds the index lock); or clean a --cache-dir.',
      options: ['layout', 'cache-dir', 'json'],
      examples: [
        ['gc --layout ./busybox', 'delete unreachable blobs'],
        ['gc --layout ./busybox --json', '{"removedBlobs": [...], "removedTemps": [...]}'],
        ['gc --cache-dir ~/.cache/ocibundle', 'remove temp files of killed pulls; cached blobs stay'],
      ],
    }) as unknown as Argv<Partial<LayoutArgs> & { 'cache-dir'?: string }>,
  handler: async (argv) => {
    const cacheDir = argv['cache-dir'];
    if (!argv.layout === (cacheDir === undefined)) throw new OciBundleError('EUSAGE', 'gc takes exactly one of --layout or --cache-dir');
    let r: { removedBlobs: string[]; removedTemps: string[] };
    if (cacheDir !== undefined) {
      const { gcCache } = await import('../registry/cache.js');
      r = { removedBlobs: [], removedTemps: await gcCache(cacheDir) };
    } else {
      const path = checkLayoutPath(argv.layout!);
      const layout = await openLayout(path).catch(async (e: unknown) => {
        throw (await looksLikeCache(path)) ? new OciBundleError('ENOLAYOUT', `${path} is a blob cache, not an oci image layout: use gc --cache-dir ${path}`, { cause: e }) : e;
      });
      const { gcLayout } = await import('../image/gc.js');
      r = await gcLayout(layout);
    }
    if (argv.json) printJson(r);
    else if (r.removedBlobs.length > 0 || r.removedTemps.length > 0) printMessage(`gc: removed ${r.removedBlobs.length} blob(s), ${r.removedTemps.length} temp file(s)`);
  },
};

/** A directory with blobs/ but no oci-layout: what --cache-dir makes. */
async function looksLikeCache(path: string): Promise<boolean> {
  return existsSync(`${path}/blobs`) && !existsSync(`${path}/oci-layout`);
}

/** One line per problem, naming what reaches it: `CODE: message (reached from a, b)`. */
function problemLine(p: { code: string; message: string; refs?: string[] }): string {
  const refs = p.refs ?? [];
  if (refs.length === 0) return `${p.code}: ${p.message}`;
  const shown = refs.length > 10 ? `${refs.slice(0, 10).join(', ')} and ${refs.length - 10} more` : refs.join(', ');
  return `${p.code}: ${p.message} (reached from ${shown})`;
}

export const validateCommand: CommandModule<object, Partial<LayoutArgs> & Partial<ImageArgs>> = {
  command: 'validate',
  describe: 'verify every reachable blob (digest, size, schema, media types); exit 4 on any problem',
  builder: (y: Argv) =>
    withHelp(y.option('layout', layoutOpt).option('image', imageOpt).option('platform', platformOpt).option('json', jsonOpt).conflicts('layout', 'image'), 'validate', {
      describe: 'Verify every reachable blob (digest, size, schema, media types); exit 4 on any problem, one line each naming the tags that reach it.',
      options: ['layout', 'image', 'platform', 'json'],
      examples: [
        ['validate --layout ./busybox', 'check everything index.json reaches'],
        ['validate --image ./multi:latest --platform linux/amd64', 'check one resolved image'],
        ['validate --layout ./busybox --json', 'problems as {code, message, digest, path, refs}'],
      ],
    }) as unknown as Argv<Partial<LayoutArgs> & Partial<ImageArgs>>,
  handler: async (argv) => {
    if (!argv.layout === !argv.image) throw new OciBundleError('EUSAGE', 'validate takes exactly one of --layout or --image');
    if (argv.platform && !argv.image) throw new OciBundleError('EUSAGE', '--platform needs --image');
    let path: string;
    let opts = {};
    if (argv.image) {
      const ref = parseImageRef(argv.image);
      path = ref.path;
      opts = { ref: refOf(ref), ...(argv.platform ? { platform: argv.platform } : {}) };
    } else {
      path = checkLayoutPath(argv.layout!);
    }
    const layout = await openLayout(path);
    const { validateLayout } = await import('../image/validate.js');
    const r = await validateLayout(layout, opts);
    if (argv.json) printJson({ valid: r.problems.length === 0, blobs: r.blobs, problems: r.problems });
    else if (r.problems.length > 0) printData(r.problems.map(problemLine));
    if (r.problems.length > 0) throw new OciBundleError('EINVALID', `${r.problems.length} problem(s) found in ${path}`);
    if (!argv.json) printMessage(`valid: ${r.blobs} blob(s) checked`);
  },
};

export const layoutCommands = [initCommand, lsCommand, tagCommand, rmCommand, statCommand, gcCommand, validateCommand];
