// RFC 7396 JSON merge patch: an object patch merges member by member (null deletes a
// member), anything else replaces the target whole. Pure; returns a new value and never
// mutates its inputs. Keys such as "__proto__" are data here, never prototypes.

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep copy of a JSON value (own enumerable members only, null-prototype safe). */
function copy(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(copy);
  if (isObject(v)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v)) Object.defineProperty(out, k, { value: copy(v[k]), enumerable: true, writable: true, configurable: true });
    return out;
  }
  return v;
}

/** MergePatch(target, patch) of RFC 7396 section 2. */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return copy(patch);
  const out = (isObject(target) ? copy(target) : {}) as Record<string, unknown>;
  for (const k of Object.keys(patch)) {
    const value = patch[k];
    if (value === null) {
      delete out[k];
    } else {
      const merged = applyMergePatch(Object.prototype.hasOwnProperty.call(out, k) ? out[k] : undefined, value);
      Object.defineProperty(out, k, { value: merged, enumerable: true, writable: true, configurable: true });
    }
  }
  return out;
}
