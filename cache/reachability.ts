/** Which results a set of results was computed from, following provenance `inputs`. */
import type { NodeKey } from '../base/brand.js';
import type { Provenance } from './store.js';

/** The keys an input map names (a gathering port names several). */
export function inputKeys(inputs: Provenance['inputs']): NodeKey[] {
  return Object.values(inputs).flatMap((v) => (typeof v === 'string' ? [v as NodeKey] : [...v]));
}

/**
 * `seeds` plus every key reachable from them through `inputsOf` (undefined for keys with no stored
 * result: they are included but not followed further).
 */
export function reachableFrom(seeds: Iterable<NodeKey>, inputsOf: (key: NodeKey) => Provenance['inputs'] | undefined): Set<NodeKey> {
  const seen = new Set<NodeKey>();
  const stack = [...seeds];
  while (stack.length > 0) {
    const key = stack.pop()!;
    if (seen.has(key)) continue;
    seen.add(key);
    const inputs = inputsOf(key);
    // One at a time: a spread of a large gather's keys would overflow the call's arguments.
    if (inputs !== undefined) for (const input of inputKeys(inputs)) stack.push(input);
  }
  return seen;
}
