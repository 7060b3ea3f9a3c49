// Loads the official runtime-spec JSON schemas (draft-04) from the shared reference folder (or Debian)
// with ajv-draft-04, for tests only: the product carries its own schema (src/spec/schema.ts).
import { createRequire } from 'node:module';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

interface ValidateFn {
  (data: unknown): boolean;
  errors?: { instancePath: string; message?: string }[] | null;
}

/** Debian's copy of the runtime-spec schemas (golang-github-opencontainers-specs-dev), which CI installs. */
export const DEBIAN_RUNTIME_SCHEMAS = '/usr/share/gocode/src/github.com/opencontainers/runtime-spec/schema';

/**
 * The official runtime-spec schemas: shared/spec-schemas/runtime-spec found from this file up
 * to the repo's parent, else Debian's packaged copy; null when neither is there.
 */
export function officialSchemaDir(): string | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const cand = resolve(dir, '../shared/spec-schemas/runtime-spec');
    if (existsSync(join(cand, 'config-schema.json'))) return cand;
    dir = dirname(dir);
  }
  return existsSync(join(DEBIAN_RUNTIME_SCHEMAS, 'config-schema.json')) ? DEBIAN_RUNTIME_SCHEMAS : null;
}

let cached: ValidateFn | undefined;

/** A validator for the official config-schema.json with all its $refs, or null when absent. */
export function officialConfigValidator(): ValidateFn | null {
  if (cached) return cached;
  const dir = officialSchemaDir();
  if (!dir) return null;
  const require = createRequire(import.meta.url);
  const Ajv04 = (require('ajv-draft-04') as { default: new (o: object) => { addSchema(s: object, key: string): unknown; getSchema(key: string): ValidateFn | undefined } }).default;
  const ajv = new Ajv04({ strict: false, allErrors: true });
  const base = 'https://runtime-spec.invalid/schema/';
  for (const f of readdirSync(dir)) {
    if (!f.endsWith('.json')) continue;
    ajv.addSchema(JSON.parse(readFileSync(join(dir, f), 'utf8')) as object, base + f);
  }
  const v = ajv.getSchema(`${base}config-schema.json`);
  if (!v) throw new Error('config-schema.json did not compile');
  cached = v;
  return v;
}

export function errorsOf(v: ValidateFn): string {
  return (v.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`).join('; ');
}
