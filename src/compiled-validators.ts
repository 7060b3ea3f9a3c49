// The validators scripts/gen-validators.mjs compiles from the schemas this package carries
// (dist/src/image/schemas/compiled.cjs, dist/src/spec/compiled.cjs), required from disk here;
// scripts/bundle.mjs replaces this module with one that inlines both files, so the bundled CLI
// compiles them with the rest of its code (inside its V8 code cache). Undefined when not built.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { distFile } from './package-files.js';

/** Where each set of compiled validators is, under dist/src. */
export const COMPILED_VALIDATORS = { image: 'image/schemas/compiled.cjs', spec: 'spec/compiled.cjs' } as const;

/** The exports of one compiled validator file (name -> validate function), or undefined when it was not generated. */
export function compiledValidators(which: keyof typeof COMPILED_VALIDATORS): unknown {
  try {
    return createRequire(import.meta.url)(fileURLToPath(distFile(COMPILED_VALIDATORS[which])));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') return undefined;
    throw e;
  }
}

/** The image set (index, manifest, config); its own function so a bundle that never checks a runtime config leaves the other set out. */
export function imageValidators(): unknown {
  return compiledValidators('image');
}

/** The runtime-config set (runtimeConfig). */
export function specValidators(): unknown {
  return compiledValidators('spec');
}
