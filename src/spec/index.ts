// The public surface of src/spec: image config -> runtime config.json conversion and its
// parsers. Re-exports only; each function lives in its own module.
export { generateRuntimeConfig } from './generate.js';
export { validateRuntimeConfig } from './validate.js';
export { parsePasswd, parseGroup, type PasswdEntry, type GroupEntry } from './passwd.js';
export { parseIdMap } from './idmap.js';
export { resolveUser, type ResolvedUser } from './user.js';
export { SPEC_LIMITS } from './limits.js';
export { runtimeConfigSchema } from './schema.js';
export { applyMergePatch } from './merge-patch.js';
export { checkShape } from './overrides.js';
export type { GenerateOptions, IdMap, ImageConfigInput, ImageConfigConfigInput, RuntimeSpec, RuntimeMount, ShapeOptions, ShapeMount, BindMountOption, TmpfsMountOption } from './types.js';
