// Plain-object helpers for the config layers: the plain-object test, the layered deep merge, the deep freeze.

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;
}

/**
 * Deep merge of layers, later wins: plain objects merge key by key, arrays and scalars replace, `undefined` (an
 * absent key) never overrides. Inputs are not modified.
 */
export function deepMerge<T>(...layers: Array<unknown>): T {
  let out: unknown = undefined;
  for (const layer of layers) out = merge2(out, layer);
  return out as T;
}

function merge2(base: unknown, over: unknown): unknown {
  if (over === undefined) return base;
  if (!isPlainObject(over)) return over;
  const merged: Record<string, unknown> = isPlainObject(base) ? { ...base } : {};
  for (const [k, v] of Object.entries(over)) {
    if (v !== undefined) merged[k] = merge2(merged[k], v);
  }
  return merged;
}

/** Object.freeze, recursively. Returns its argument. */
export function deepFreeze<T>(v: T): Readonly<T> {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}
