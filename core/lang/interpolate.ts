/**
 * `${params.NAME}` and `${item.AXIS}` references. A string that is exactly one reference takes the
 * referenced value with its type (a number stays a number); references inside longer strings are
 * spliced in as text.
 */
import { didYouMean } from './schema-check.js';
import type { YamlPath } from './source.js';

export interface Scope {
  readonly params: Readonly<Record<string, unknown>>;
  /** The sweep item: a scalar for `foreach` over scalars, a map of axis values otherwise. */
  readonly item?: unknown;
}

export interface InterpolationProblem {
  readonly path: YamlPath;
  readonly message: string;
}

const WHOLE = /^\$\{([^}]*)\}$/;
const ANY = /\$\{([^}]*)\}/g;

export function containsReference(value: unknown): boolean {
  return typeof value === 'string' && value.includes('${');
}

/** Resolves every reference in `value`; problems are reported with their path under `at`. */
export function interpolate(value: unknown, scope: Scope, at: YamlPath, problems: InterpolationProblem[]): unknown {
  if (typeof value === 'string') {
    if (!value.includes('${')) return value;
    const whole = WHOLE.exec(value);
    if (whole) return lookup(whole[1]!.trim(), scope, at, problems);
    return value.replace(ANY, (_, expr: string) => {
      const found = lookup(expr.trim(), scope, at, problems);
      return typeof found === 'object' && found !== null ? JSON.stringify(found) : String(found);
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolate(v, scope, [...at, i], problems));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = interpolate(v, scope, [...at, k], problems);
    return out;
  }
  return value;
}

function lookup(expr: string, scope: Scope, at: YamlPath, problems: InterpolationProblem[]): unknown {
  const [root, ...rest] = expr.split('.');
  let current: unknown;
  let walked: string;
  if (root === 'params') {
    current = scope.params;
    walked = 'params';
  } else if (root === 'item') {
    if (scope.item === undefined) {
      problems.push({ path: at, message: `\${${expr}} is used outside a sweep: only nodes with foreach or matrix (or fed by one) have an item` });
      return undefined;
    }
    current = scope.item;
    walked = 'item';
  } else {
    problems.push({ path: at, message: `unknown reference \${${expr}}: references start with 'params.' or 'item'` });
    return undefined;
  }
  for (const segment of rest) {
    if (current === null || typeof current !== 'object' || Array.isArray(current)) {
      problems.push({ path: at, message: `\${${expr}}: '${walked}' is not a map` });
      return undefined;
    }
    const map = current as Record<string, unknown>;
    if (!(segment in map)) {
      const what = root === 'params' && walked === 'params' ? 'param' : 'key';
      problems.push({
        path: at,
        message: `unknown ${what} '${segment}' in \${${expr}}${didYouMean(segment, Object.keys(map))}`,
      });
      return undefined;
    }
    current = map[segment];
    walked += `.${segment}`;
  }
  return current;
}
