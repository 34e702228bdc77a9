/**
 * Arithmetic inside `${...}`: numbers, references (`params.NAME`, `item.AXIS`, `level`), `+ - * / **`
 * and parentheses, so that a value such as IMP's sparsity `1 - 0.8 ** level` is written once, as the
 * formula, instead of as a list that must grow with the level count.
 *
 * Names may contain '-' (param names and node ids do), so subtraction is written with spaces: `level - 1`.
 * A computed result is rounded to 12 significant digits: `1 - 0.8 ** 3` is 0.488 and has the key of
 * writing 0.488, and a last-bit difference between two machines' `Math.pow` never changes a key.
 */
import { underflowedLiteral, unkeyableNumber } from '../keyable.js';
import { MAX_EXPRESSION_DEPTH } from './limits.js';

/** Resolves one reference of an expression; reports its own problem and returns undefined when it cannot. */
export type ResolveReference = (path: string) => { value: unknown } | undefined;

type Token =
  | { readonly type: 'number'; readonly value: number; readonly at: number }
  | { readonly type: 'name'; readonly value: string; readonly at: number }
  | { readonly type: 'op'; readonly value: '+' | '-' | '*' | '/' | '**' | '(' | ')'; readonly at: number };

/** A reference alone, as `${...}` has always allowed: looked up, never computed. */
const PLAIN_REFERENCE = /^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*$/;

export function isPlainReference(text: string): boolean {
  return PLAIN_REFERENCE.test(text);
}

const SIGNIFICANT_DIGITS = 12;


/** A computed number as keys see it: 12 significant digits, integers exact. */
export function roundComputed(value: number): number {
  return Number.isInteger(value) ? value : Number(value.toPrecision(SIGNIFICANT_DIGITS));
}

class ExpressionError extends Error {}

/** A step of the arithmetic left the finite numbers: said once, for the whole expression. */
class NonFiniteStep extends Error {
  constructor(readonly value: number) {
    super('non-finite');
  }
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    const number = /^(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?/.exec(text.slice(i));
    if (number) {
      const value = Number(number[0]);
      // A literal is held to what a key may hold, as a value written alone is: 1e400 or 2^53 + 1 never reads silently as another number.
      const inexact = unkeyableNumber(value);
      if (inexact) throw new ExpressionError(`the number ${number[0]} ${inexact}`);
      const underflow = underflowedLiteral(number[0], value);
      if (underflow) throw new ExpressionError(underflow);
      tokens.push({ type: 'number', value, at: i });
      i += number[0].length;
      continue;
    }
    const name = /^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*/.exec(text.slice(i));
    if (name) {
      // A trailing '-' belongs to the operator that follows, not to the name (`level- 1`).
      const value = name[0].replace(/-+$/, '');
      tokens.push({ type: 'name', value, at: i });
      i += value.length;
      continue;
    }
    if (text.startsWith('**', i)) {
      tokens.push({ type: 'op', value: '**', at: i });
      i += 2;
      continue;
    }
    if ('+-*/()'.includes(c)) {
      tokens.push({ type: 'op', value: c as '+', at: i });
      i++;
      continue;
    }
    if (c === '^') throw new ExpressionError("'^' is not an operator here: write ** for a power (0.8 ** level)");
    throw new ExpressionError(`unexpected '${c}': expressions use numbers, references, + - * / ** and parentheses`);
  }
  return tokens;
}

/**
 * Evaluates `text` (the inside of `${...}`). Returns the number, or a message saying what is wrong;
 * `undefined` when a reference reported its own problem.
 */
export function evaluate(text: string, resolve: ResolveReference): { value: number } | { message: string } | undefined {
  // A pathological expression is named by its start, not echoed whole.
  const shown = text.length > 80 ? `${text.slice(0, 77)}...` : text;
  let tokens: Token[];
  try {
    tokens = tokenize(text);
  } catch (e) {
    return { message: `\${${shown}}: ${(e as Error).message}` };
  }
  let pos = 0;
  let unresolved = false;
  let depth = 0;
  // Every step is checked, so an overflow is caught even where a later step would hide it (1 / (1e308 * 10)).
  const finite = (value: number): number => {
    if (!unresolved && !Number.isFinite(value)) throw new NonFiniteStep(value);
    return value;
  };
  const deeper = () => {
    if (++depth > MAX_EXPRESSION_DEPTH) throw new ExpressionError(`parentheses and signs nest deeper than ${MAX_EXPRESSION_DEPTH} levels`);
  };
  const peek = () => tokens[pos];
  const isOp = (value: string) => {
    const t = peek();
    return t !== undefined && t.type === 'op' && t.value === value;
  };
  const rest = () => {
    const t = peek();
    if (t === undefined) return 'the end';
    const after = text.slice(t.at);
    return `'${after.length > 40 ? `${after.slice(0, 37)}...` : after}'`;
  };
  // expr := term (('+' | '-') term)*; term := unary (('*' | '/') unary)*;
  // unary := '-' unary | power; power := atom ('**' unary)?  (right-associative, binds tighter than '-')
  const expr = (): number => {
    let value = term();
    while (isOp('+') || isOp('-')) {
      const op = (tokens[pos++] as { value: string }).value;
      const right = term();
      value = finite(op === '+' ? value + right : value - right);
    }
    return value;
  };
  const term = (): number => {
    let value = unary();
    while (isOp('*') || isOp('/')) {
      const op = (tokens[pos++] as { value: string }).value;
      const right = unary();
      value = finite(op === '*' ? value * right : value / right);
    }
    return value;
  };
  const unary = (): number => {
    if (isOp('-') || isOp('+')) {
      const negate = isOp('-');
      pos++;
      deeper();
      const value = unary();
      depth--;
      return negate ? -value : value;
    }
    return power();
  };
  const power = (): number => {
    const base = atom();
    if (isOp('**')) {
      pos++;
      deeper();
      const value = finite(base ** unary());
      depth--;
      return value;
    }
    return base;
  };
  const atom = (): number => {
    const t = peek();
    if (t === undefined) throw new ExpressionError('the expression ends too early: expected a number, a reference or (');
    if (t.type === 'number') {
      pos++;
      return t.value;
    }
    if (t.type === 'name') {
      pos++;
      const found = resolve(t.value);
      if (found === undefined) {
        unresolved = true;
        return Number.NaN;
      }
      if (typeof found.value !== 'number') {
        const what = typeof found.value === 'string' ? `the string ${JSON.stringify(found.value)}` : found.value === null ? 'null' : Array.isArray(found.value) ? 'a list' : typeof found.value === 'object' ? 'a map' : `${typeof found.value} ${String(found.value)}`;
        throw new ExpressionError(`'${t.value}' is ${what}; arithmetic needs numbers`);
      }
      return found.value;
    }
    if (t.value === '(') {
      pos++;
      deeper();
      const value = expr();
      depth--;
      if (!isOp(')')) throw new ExpressionError(`expected ')' at ${rest()}`);
      pos++;
      return value;
    }
    throw new ExpressionError(`expected a number, a reference or ( at ${rest()}`);
  };
  let value: number;
  try {
    value = expr();
    if (pos < tokens.length) throw new ExpressionError(`expected an operator at ${rest()}`);
  } catch (e) {
    if (e instanceof NonFiniteStep) value = e.value;
    else if (e instanceof ExpressionError) return { message: `\${${shown}}: ${e.message}` };
    else throw e;
  }
  if (unresolved) return undefined;
  if (!Number.isFinite(value)) return { message: `\${${shown}} is not a finite number (got ${value})` };
  const inexact = unkeyableNumber(value);
  if (inexact) return { message: `\${${shown}} ${inexact}` };
  return { value: roundComputed(value) };
}
