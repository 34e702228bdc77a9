/**
 * What a message says about a thrown value. JavaScript lets code throw anything: a kinds module or a
 * kind's run may throw a plain object, a number or a value whose toString itself throws, and
 * `String(value)` would print '[object Object]' or fail again. An Error gives its message; an object
 * with a string `message` gives that; anything else is shown as JSON (shortened), or by its type.
 */
const SHOWN = 200;

export function thrownMessage(value: unknown): string {
  try {
    if (value instanceof Error) return value.message;
    if (typeof value === 'string') return value;
    if (typeof value === 'object' && value !== null) {
      const message = (value as { message?: unknown }).message;
      if (typeof message === 'string') return message;
      const json = JSON.stringify(value);
      if (json !== undefined) return `a thrown object ${json.length > SHOWN ? `${json.slice(0, SHOWN)}…` : json}`;
    }
    if (value === undefined || value === null || typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return `a thrown ${String(value)}`;
    return `a thrown ${typeof value}`;
  } catch {
    return 'a thrown value that cannot be shown';
  }
}
