/**
 * Canonical JSON (RFC 8785): object keys sorted by code point, numbers in one fixed form. Keys hash it,
 * dataset fingerprints hash it, plans compare with it; one function so they can never disagree.
 */
import { createRequire } from 'node:module';

// canonicalize is CommonJS whose typings claim an ES default export; load it the way Node actually does.
const canonicalize = createRequire(import.meta.url)('canonicalize') as (value: unknown) => string | undefined;

export function canonicalJson(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new Error('value cannot be encoded canonically');
  return text;
}
