// Validation of a runtime config.json against the schema this package carries (schema.ts),
// with ajv loaded and compiled on first use and cached. Synchronous; no file access.
import { createRequire } from 'node:module';
import { specValidators } from '../compiled-validators.js';
import { OciBundleError } from '../errors.js';
import { runtimeConfigSchema } from './schema.js';

interface ValidateFn {
  (data: unknown): boolean;
  errors?: { instancePath: string; message?: string }[] | null;
}

let compiled: ValidateFn | undefined;

function validator(): ValidateFn {
  if (compiled) return compiled;
  // Standalone validator generated at build time (scripts/gen-validators.mjs), when present.
  const built = specValidators() as { runtimeConfig: ValidateFn } | undefined;
  if (built) return (compiled = built.runtimeConfig);
  // not built: compile at run time
  const mod = createRequire(import.meta.url)('ajv') as { default: new (o: object) => { compile(s: object): ValidateFn } };
  // Our schema is checked against the draft-07 meta-schema by a unit test, not at run time;
  // without that and without code optimisation the first compile takes half the time (~30 ms).
  const ajv = new mod.default({ allErrors: false, strict: true, validateSchema: false, code: { optimize: false } });
  compiled = ajv.compile(runtimeConfigSchema);
  return compiled;
}

/** Throws ESCHEMA naming the first offending JSON pointer when `spec` does not fit. */
export function validateRuntimeConfig(spec: unknown): void {
  const validate = validator();
  if (validate(spec)) return;
  const e = validate.errors?.[0];
  const where = e?.instancePath || '/';
  throw new OciBundleError('ESCHEMA', `runtime config is invalid at ${where}: ${e?.message ?? 'schema violation'}`);
}
