// Small statistics over run times: median, min-max, ratios. Pure functions on numbers; no
// rounding for display here (table.ts formats).

export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  if (s.length % 2 === 1) return s[mid] ?? null;
  const lo = s[mid - 1];
  const hi = s[mid];
  return lo === undefined || hi === undefined ? null : (lo + hi) / 2;
}

export function minMax(values: readonly number[]): { min: number; max: number } | null {
  if (values.length === 0) return null;
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { min, max };
}

/** a / b, or null when either is missing or b is not a positive number. */
export function ratio(a: number | null | undefined, b: number | null | undefined): number | null {
  if (a === null || a === undefined || b === null || b === undefined) return null;
  if (!(b > 0) || !Number.isFinite(a)) return null;
  return a / b;
}
