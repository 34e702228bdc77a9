/**
 * Runs ajv and says what is wrong in the words of a pipeline author: each problem at the key or value
 * it concerns, unknown keys with a did-you-mean, unions of literals as "one of".
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { TSchema } from '@sinclair/typebox';
import { closest, distance } from 'fastest-levenshtein';
import type { YamlPath } from './source.js';

export interface SchemaProblem {
  readonly path: YamlPath;
  readonly which: 'key' | 'value';
  readonly message: string;
}

const ajv = new Ajv({ allErrors: true, strict: false, useDefaults: true, verbose: true });
const compiled = new WeakMap<object, ValidateFunction>();

function compile(schema: TSchema): ValidateFunction {
  let fn = compiled.get(schema);
  if (!fn) {
    fn = ajv.compile(schema);
    compiled.set(schema, fn);
  }
  return fn;
}

/** Why a JSON schema cannot be compiled, or undefined (a kinds module's schemas are checked when it loads). */
export function schemaError(schema: object): string | undefined {
  try {
    compile(schema as TSchema);
    return undefined;
  } catch (e) {
    return e instanceof Error ? (e.message.split('\n')[0] ?? e.message) : String(e);
  }
}

/**
 * Validates `value` in place (ajv fills in defaults) and returns the problems, with paths relative to
 * `value` prefixed by `at`. `subject` names what is checked in messages ("parameter", "key").
 */
export function checkAgainst(schema: TSchema, value: unknown, at: YamlPath, subject = 'key'): SchemaProblem[] {
  const validate = compile(schema);
  if (validate(value)) return [];
  return explain(validate.errors ?? [], at, subject);
}

/**
 * Past this many candidates no suggestion is made: a file with a hundred thousand names and as many
 * typos would otherwise take quadratic time to say so.
 */
const MAX_SUGGESTION_CANDIDATES = 1000;

/** Suggests the closest of `candidates`, when one is near enough to be a typo. */
export function didYouMean(word: string, candidates: readonly string[]): string {
  if (candidates.length === 0 || candidates.length > MAX_SUGGESTION_CANDIDATES) return '';
  const best = closest(word, [...candidates]);
  const limit = Math.max(2, Math.floor(word.length / 3));
  return distance(word, best) <= limit ? ` (did you mean '${best}'?)` : '';
}

function pathOf(instancePath: string): (string | number)[] {
  if (instancePath === '') return [];
  return instancePath
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value === 'object' ? 'object' : typeof value;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  return `${typeof value} ${String(value)}`;
}

function expected(schema: Record<string, unknown>): string {
  if ('const' in schema) return JSON.stringify(schema['const']);
  const t = schema['type'];
  const names: Record<string, string> = {
    integer: 'an integer',
    number: 'a number',
    string: 'a string',
    boolean: 'true or false',
    array: 'a list',
    object: 'a map',
    null: 'null',
  };
  if (typeof t === 'string') return names[t] ?? t;
  if (Array.isArray(t)) return t.map((x: string) => names[x] ?? x).join(' or ');
  return 'a valid value';
}

function explain(errors: readonly ErrorObject[], at: YamlPath, subject: string): SchemaProblem[] {
  // A failed anyOf reports each branch's failure too; say it once, at the anyOf.
  const unionPaths = new Set(errors.filter((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf').map((e) => e.instancePath));
  const problems: SchemaProblem[] = [];
  for (const e of errors) {
    const rel = pathOf(e.instancePath);
    const path = [...at, ...rel];
    // Keys of the file are named from its top (`nodes.init.kind`); parameters from their node.
    const named = subject === 'key' ? path : rel;
    const name = named.length > 0 ? `${subject} '${named.join('.')}'` : 'value';
    if (unionPaths.has(e.instancePath) && e.keyword !== 'anyOf' && e.keyword !== 'oneOf') continue;
    // `if`/`then` failures are explained by the `required` error that accompanies them.
    if (e.keyword === 'if') continue;
    switch (e.keyword) {
      case 'required': {
        const missing = (e.params as { missingProperty: string }).missingProperty;
        const where = named.length > 0 ? ` in '${named.join('.')}'` : '';
        problems.push({ path, which: 'key', message: `missing required ${subject} '${missing}'${where}` });
        break;
      }
      case 'additionalProperties': {
        const extra = (e.params as { additionalProperty: string }).additionalProperty;
        const known = Object.keys((e.parentSchema as { properties?: object }).properties ?? {});
        const patterns = (e.parentSchema as { patternProperties?: object }).patternProperties;
        const message =
          known.length === 0 && patterns
            ? `invalid name '${extra}': use letters, digits, '_' and '-'`
            : `unknown ${subject} '${extra}'${didYouMean(extra, known)}`;
        problems.push({ path: [...path, extra], which: 'key', message });
        break;
      }
      case 'anyOf':
      case 'oneOf': {
        const branches = ((e.schema as unknown[]) ?? []) as Record<string, unknown>[];
        // A branch of the value's own JSON type that says in words what it expects explains best.
        const worded = branches.find((b) => typeof b['expected'] === 'string' && b['type'] === jsonType(e.data));
        if (worded) {
          problems.push({ path, which: 'value', message: `${name} must be ${String(worded['expected'])}, got ${typeName(e.data)}` });
          break;
        }
        const isInterpolation = (b: Record<string, unknown>) => typeof b['pattern'] === 'string' && String(b['pattern']).includes('\\$');
        const real = branches.filter((b) => !isInterpolation(b));
        const flat = real.flatMap((b) => (Array.isArray(b['anyOf']) ? (b['anyOf'] as Record<string, unknown>[]) : [b]));
        const want = flat.every((b) => 'const' in b)
          ? `one of ${flat.map((b) => JSON.stringify(b['const'])).join(', ')}`
          : flat.map(expected).join(' or ');
        problems.push({ path, which: 'value', message: `${name} must be ${want}, got ${typeName(e.data)}` });
        break;
      }
      case 'type':
      case 'const':
        problems.push({ path, which: 'value', message: `${name} must be ${expected(e.parentSchema as Record<string, unknown>)}, got ${typeName(e.data)}` });
        break;
      case 'enum':
        problems.push({
          path,
          which: 'value',
          message: `${name} must be one of ${((e.params as { allowedValues: unknown[] }).allowedValues ?? []).map((v) => JSON.stringify(v)).join(', ')}`,
        });
        break;
      case 'minimum':
      case 'maximum':
      case 'exclusiveMinimum':
      case 'exclusiveMaximum': {
        const p = e.params as { comparison: string; limit: number };
        problems.push({ path, which: 'value', message: `${name} must be ${p.comparison} ${p.limit}, got ${typeName(e.data)}` });
        break;
      }
      case 'minItems':
        problems.push({ path, which: 'value', message: `${name} must have at least ${(e.params as { limit: number }).limit} item(s)` });
        break;
      case 'uniqueItems':
        problems.push({ path, which: 'value', message: `${name} must not repeat items` });
        break;
      case 'minLength':
        problems.push({ path, which: 'value', message: `${name} must not be empty` });
        break;
      case 'pattern':
        problems.push({ path, which: 'value', message: `${name} is not valid: ${typeName(e.data)}` });
        break;
      default:
        problems.push({ path, which: 'value', message: `${name} ${e.message ?? 'is invalid'}` });
    }
  }
  return problems;
}
