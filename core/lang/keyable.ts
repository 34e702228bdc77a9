/**
 * What a value written by a user may hold on its way to a key: no map key a JavaScript object cannot
 * keep as data (`__proto__` sets an object's prototype when assigned, and the cache's record codec
 * renames it), and no number a key cannot hold exactly (NaN, infinities, and integers beyond 2^53,
 * where two different seeds would read as one number and share one key).
 *
 * Both walks use an explicit stack: a value nested deeper than the JavaScript call stack is still
 * checked, not a crash.
 */
import type { YamlPath } from './source.js';

/** The one map key refused everywhere a pipeline, an import or `--set` names something. */
export const RESERVED_KEY = '__proto__';

export const reservedKeyMessage = `'${RESERVED_KEY}' cannot be used as a name (JavaScript objects cannot hold it as data); choose another`;

/** Why a number cannot be part of a key, or undefined when it can. */
export function unkeyableNumber(value: number): string | undefined {
  if (!Number.isFinite(value)) return `must be a finite number, got number ${value}`;
  if (Math.abs(value) > Number.MAX_SAFE_INTEGER) {
    return `must lie within ±2^53 (${Number.MAX_SAFE_INTEGER}): beyond it numbers are not exact, and two different ones would share a key (this one reads as ${value})`;
  }
  return undefined;
}

/** Depth-first, in written order, over every map entry and list item of `value`, with its path. */
function* walk(value: unknown, at: YamlPath): Generator<{ path: YamlPath; value: unknown; key?: string }> {
  const stack: { path: YamlPath; value: unknown; key?: string }[] = [{ path: at, value }];
  while (stack.length > 0) {
    const entry = stack.pop()!;
    yield entry;
    const v = entry.value;
    if (v === null || typeof v !== 'object') continue;
    const children = Array.isArray(v)
      ? v.map((item, i) => ({ path: [...entry.path, i], value: item as unknown }))
      : Object.keys(v).map((k) => ({ path: [...entry.path, k], value: (v as Record<string, unknown>)[k], key: k }));
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
  }
}

/** The path of the first map key `__proto__` in `value` (the path ends with that key). */
export function reservedKeyAt(value: unknown, at: YamlPath = []): YamlPath | undefined {
  for (const entry of walk(value, at)) if (entry.key === RESERVED_KEY) return entry.path;
  return undefined;
}

/** The first number in `value` that a key cannot hold, with its path and what is wrong. */
export function unkeyableAt(value: unknown, at: YamlPath = []): { path: YamlPath; message: string } | undefined {
  for (const entry of walk(value, at)) {
    if (typeof entry.value !== 'number') continue;
    const message = unkeyableNumber(entry.value);
    if (message) return { path: entry.path, message };
  }
  return undefined;
}
