/**
 * What a value written by a user may hold on its way to a key: no map key a JavaScript object cannot
 * keep as data (`__proto__` sets an object's prototype when assigned, and the cache's record codec
 * renames it), and no number a key cannot hold exactly (NaN, infinities, and integers beyond 2^53,
 * where two different seeds would read as one number and share one key).
 *
 * Both walks use an explicit stack: a value nested deeper than the JavaScript call stack is still
 * checked, not a crash.
 */
/** Where in a value a problem is: map keys and list positions from its root. */
export type ValuePath = readonly (string | number)[];

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

/** The smallest positive double with full precision; below it a number keeps ever fewer digits, down to 0. */
const MIN_NORMAL = 2.2250738585072014e-308;

/**
 * Why a number written as `source` does not read as what it says, or undefined when it does: a literal
 * too small for a double reads as 0 (`1e-400` and `0` would share a key) or as a subnormal that keeps
 * only some of its digits. Only the text can tell: the value alone is an ordinary 0.
 */
export function underflowedLiteral(source: string, value: number): string | undefined {
  const mantissa = source.split(/[eE]/)[0] ?? '';
  const writesNonZero = /^[-+]?[0-9._]*$/.test(mantissa) && /[1-9]/.test(mantissa);
  if ((value === 0 && writesNonZero) || (value !== 0 && Math.abs(value) < MIN_NORMAL)) {
    return `the number ${source} is too small for a double (it reads as ${value}): non-zero numbers must be at least ${MIN_NORMAL} in size, or two different ones would share a key; write 0 or a larger number`;
  }
  return undefined;
}

interface Entry {
  readonly value: unknown;
  /** The map key or list index it is found under, and the entry holding it; none for the root. */
  readonly key?: string | number;
  readonly parent?: Entry;
}

/** Depth-first, in written order, over every map entry and list item of `value`. */
function* walk(value: unknown): Generator<Entry> {
  const stack: Entry[] = [{ value }];
  while (stack.length > 0) {
    const entry = stack.pop()!;
    yield entry;
    const v = entry.value;
    if (v === null || typeof v !== 'object') continue;
    if (Array.isArray(v)) for (let i = v.length - 1; i >= 0; i--) stack.push({ value: v[i] as unknown, key: i, parent: entry });
    else {
      const keys = Object.keys(v);
      for (let i = keys.length - 1; i >= 0; i--) stack.push({ value: (v as Record<string, unknown>)[keys[i]!], key: keys[i]!, parent: entry });
    }
  }
}

/** Where an entry is, under `at`: built only for the entry reported, not for every one walked. */
function pathOf(entry: Entry, at: ValuePath): ValuePath {
  const path: (string | number)[] = [];
  for (let e: Entry | undefined = entry; e?.key !== undefined; e = e.parent) path.push(e.key);
  return [...at, ...path.reverse()];
}

/** The path of the first map key `__proto__` in `value` (the path ends with that key). */
export function reservedKeyAt(value: unknown, at: ValuePath = []): ValuePath | undefined {
  for (const entry of walk(value)) if (entry.key === RESERVED_KEY) return pathOf(entry, at);
  return undefined;
}

/** The first number in `value` that a key cannot hold, with its path and what is wrong. */
export function unkeyableAt(value: unknown, at: ValuePath = []): { path: ValuePath; message: string } | undefined {
  for (const entry of walk(value)) {
    if (typeof entry.value !== 'number') continue;
    const message = unkeyableNumber(entry.value);
    if (message) return { path: pathOf(entry, at), message };
  }
  return undefined;
}
