/**
 * `${params.NAME}`, `${item.AXIS}` and `${level}` references, and arithmetic on them
 * (`${1 - 0.8 ** level}`, see expression.ts). A string that is exactly one `${...}` takes its value with
 * its type (a number stays a number); `${...}` inside longer strings is spliced in as text.
 */
import { evaluate, isPlainReference } from './expression.js';
import { didYouMean } from './schema-check.js';
import type { YamlPath } from './source.js';

export interface Scope {
  readonly params: Readonly<Record<string, unknown>>;
  /** The sweep item: a scalar for `foreach` over scalars, a map of axis values otherwise. */
  readonly item?: unknown;
  /** The level (1, 2, ...) of a node inside a `repeat` group. */
  readonly level?: number;
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
    // Own data properties only: a key a user wrote never reaches a prototype.
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolate(v, scope, [...at, k], problems)]));
  }
  return value;
}

/** The value of one `${...}`: a reference looked up, or an expression computed. */
function lookup(expr: string, scope: Scope, at: YamlPath, problems: InterpolationProblem[]): unknown {
  if (isPlainReference(expr)) return reference(expr, scope, at, problems);
  const result = evaluate(expr, (path) => {
    const before = problems.length;
    const value = reference(path, scope, at, problems);
    return problems.length > before ? undefined : { value };
  });
  if (result === undefined) return undefined;
  if ('message' in result) {
    problems.push({ path: at, message: result.message });
    return undefined;
  }
  return result.value;
}

function reference(expr: string, scope: Scope, at: YamlPath, problems: InterpolationProblem[]): unknown {
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
  } else if (root === 'level') {
    if (scope.level === undefined) {
      problems.push({ path: at, message: `\${${expr}} is used outside a repeat group: only nodes inside a 'repeat:' group have a level` });
      return undefined;
    }
    current = scope.level;
    walked = 'level';
  } else {
    const minus = expr.includes('-') ? ` (to subtract, put spaces around '-': \${${expr.replaceAll('-', ' - ')}})` : '';
    problems.push({ path: at, message: `unknown reference \${${expr}}: references start with 'params.', 'item' or 'level'${minus}` });
    return undefined;
  }
  for (const segment of rest) {
    if (current === null || typeof current !== 'object' || Array.isArray(current)) {
      problems.push({ path: at, message: `\${${expr}}: '${walked}' is not a map` });
      return undefined;
    }
    const map = current as Record<string, unknown>;
    // Own keys only: `${params.constructor}` names a param called constructor, not Object's.
    if (!Object.hasOwn(map, segment)) {
      const what = root === 'params' && walked === 'params' ? 'param' : 'key';
      const hint = didYouMean(segment, Object.keys(map)) || (segment.includes('-') ? " (to subtract, put spaces around '-')" : '');
      problems.push({
        path: at,
        message: `unknown ${what} '${segment}' in \${${expr}}${hint}`,
      });
      return undefined;
    }
    current = map[segment];
    walked += `.${segment}`;
  }
  return current;
}
