// Loads the official image-spec JSON schemas (draft-04, from ../shared/spec-schemas or Debian) with
// ajv-draft-04 (a devDependency) for tests that check fixtures against them. Formats are
// not checked (the product does not rely on them either).
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import AjvDraft04 from 'ajv-draft-04';

const here = dirname(fileURLToPath(import.meta.url));
/** Debian's copy of the image-spec schemas (golang-github-opencontainers-image-spec-dev), which CI installs. */
const DEBIAN_IMAGE_SCHEMAS = '/usr/share/gocode/src/github.com/opencontainers/image-spec/schema';
const SHARED_DIR = resolve(process.env['OCIBUNDLE_SHARED'] ?? resolve(here, '..', '..', '..', '..', 'shared'), 'spec-schemas', 'image-spec');
/** shared/spec-schemas/image-spec beside the checkout (dist/test/helpers -> ../../../../shared), else Debian's copy. */
export const OFFICIAL_DIR = !existsSync(join(SHARED_DIR, 'image-manifest-schema.json')) && existsSync(join(DEBIAN_IMAGE_SCHEMAS, 'image-manifest-schema.json')) ? DEBIAN_IMAGE_SCHEMAS : SHARED_DIR;

export type Official = 'config' | 'manifest' | 'index' | 'layout';
const FILES: Record<Official, string> = {
  config: 'config-schema.json',
  manifest: 'image-manifest-schema.json',
  index: 'image-index-schema.json',
  layout: 'image-layout-schema.json',
};

/** Drops draft-04 `id`s (the files refer to each other by file name, which then resolves by key); one spelling of the meta-schema. */
function stripIds(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(stripIds);
  if (typeof v !== 'object' || v === null) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    if (k === 'id' && typeof x === 'string') continue;
    // Debian's image-spec 1.1.0-rc2 names the meta-schema over https; ajv-draft-04 knows it by http
    out[k] = k === '$schema' && typeof x === 'string' ? x.replace(/^https:/, 'http:') : stripIds(x);
  }
  return out;
}

export function officialAvailable(): boolean {
  return existsSync(join(OFFICIAL_DIR, 'image-manifest-schema.json'));
}

let cache: ((kind: Official, doc: unknown) => string | null) | undefined;

/** Returns a checker: null when `doc` is valid, else the first error as text. */
export function officialValidator(): (kind: Official, doc: unknown) => string | null {
  if (cache) return cache;
  const Ajv = AjvDraft04 as unknown as new (o: object) => {
    addSchema(s: object, key?: string): void;
    getSchema(id: string): ((d: unknown) => boolean) & { errors?: { instancePath: string; message?: string }[] | null };
  };
  const ajv = new Ajv({ strict: false, validateFormats: false, allErrors: false });
  for (const f of readdirSync(OFFICIAL_DIR).filter((x) => x.endsWith('.json'))) {
    ajv.addSchema(stripIds(JSON.parse(readFileSync(join(OFFICIAL_DIR, f), 'utf8'))) as object, f);
  }
  cache = (kind, doc) => {
    const v = ajv.getSchema(FILES[kind]);
    if (!v) throw new Error(`official schema ${kind} not loaded`);
    if (v(doc)) return null;
    const e = v.errors?.[0];
    return `${e?.instancePath ?? ''} ${e?.message ?? 'invalid'}`;
  };
  return cache;
}
