/**
 * Arithmetic inside `${...}`: numbers, references (`params.NAME`, `item.AXIS`, `level`), `+ - * / **`
 * and parentheses, so that a value such as IMP's sparsity `1 - 0.8 ** level` is written once, as the
 * formula, instead of as a list that must grow with the level count.
 *
 * Names may contain '-' (param names and node ids do), so subtraction is written with spaces: `level - 1`.
 * A computed result is rounded to 12 significant digits: `1 - 0.8 ** 3` is 0.488 and has the key of
 * writing 0.488, and a last-bit difference between two machines' `Math.pow` never changes a key.
 */

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
      tokens.push({ type: 'number', value: Number(number[0]), at: i });
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
  let tokens: Token[];
  try {
    tokens = tokenize(text);
  } catch (e) {
    return { message: `\${${text}}: ${(e as Error).message}` };
  }
  let pos = 0;
  let unresolved = false;
  const peek = () => tokens[pos];
  const isOp = (value: string) => {
    const t = peek();
    return t !== undefined && t.type === 'op' && t.value === value;
  };
  const rest = () => {
    const t = peek();
    return t === undefined ? 'the end' : `'${text.slice(t.at)}'`;
  };
  // expr := term (('+' | '-') term)*; term := unary (('*' | '/') unary)*;
  // unary := '-' unary | power; power := atom ('**' unary)?  (right-associative, binds tighter than '-')
  const expr = (): number => {
    let value = term();
    while (isOp('+') || isOp('-')) {
      const op = (tokens[pos++] as { value: string }).value;
      const right = term();
      value = op === '+' ? value + right : value - right;
    }
    return value;
  };
  const term = (): number => {
    let value = unary();
    while (isOp('*') || isOp('/')) {
      const op = (tokens[pos++] as { value: string }).value;
      const right = unary();
      value = op === '*' ? value * right : value / right;
    }
    return value;
  };
  const unary = (): number => {
    if (isOp('-')) {
      pos++;
      return -unary();
    }
    if (isOp('+')) {
      pos++;
      return unary();
    }
    return power();
  };
  const power = (): number => {
    const base = atom();
    if (isOp('**')) {
      pos++;
      return base ** unary();
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
      const value = expr();
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
    if (!(e instanceof ExpressionError)) throw e;
    return { message: `\${${text}}: ${e.message}` };
  }
  if (unresolved) return undefined;
  if (!Number.isFinite(value)) return { message: `\${${text}} is not a finite number (got ${value})` };
  return { value: roundComputed(value) };
}
