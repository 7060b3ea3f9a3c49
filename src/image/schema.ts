// Schema validation of index, manifest and config documents with ajv against the compact
// schemas this package carries (src/image/schemas): validators precompiled at build time, or
// ajv imported lazily on the first validation, so commands that never validate pay nothing.
import { createRequire } from 'node:module';
import { imageValidators } from '../compiled-validators.js';
import { OciBundleError } from '../errors.js';
import { configSchema } from './schemas/config-schema.js';
import { indexSchema } from './schemas/index-schema.js';
import { manifestSchema } from './schemas/manifest-schema.js';

export type DocKind = 'index' | 'manifest' | 'config';

interface ValidateFn {
  (data: unknown): boolean;
  errors?: { instancePath: string; message?: string }[] | null;
}

let validators: Promise<Record<DocKind, ValidateFn>> | undefined;

async function load(): Promise<Record<DocKind, ValidateFn>> {
  // Standalone validators generated at build time (scripts/gen-validators.mjs), when present.
  const built = imageValidators() as Record<DocKind, ValidateFn> | undefined;
  if (built) return built;
  // not built: compile at run time; required, not imported: the bundled CLI (scripts/bundle.mjs) has no dynamic import()
  const mod = createRequire(import.meta.url)('ajv') as { default: new (o: object) => { compile(s: object): ValidateFn } };
  const ajv = new mod.default({ allErrors: false, strict: true, allowUnionTypes: true });
  return {
    index: ajv.compile(indexSchema),
    manifest: ajv.compile(manifestSchema),
    config: ajv.compile(configSchema),
  };
}

/** Validates `doc` against the schema of `kind`; throws ESCHEMA naming `where` (a digest or path). */
export async function validateSchema(kind: DocKind, doc: unknown, where: string): Promise<void> {
  validators ??= load();
  const v = (await validators)[kind];
  if (v(doc)) return;
  const e = v.errors?.[0];
  const at = e?.instancePath ? ` at ${e.instancePath}` : '';
  throw new OciBundleError('ESCHEMA', `${kind} ${where} does not match its schema${at}: ${e?.message ?? 'invalid'}`);
}
