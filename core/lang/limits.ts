/**
 * The sizes analysis refuses to go past, each with the message that names it. They bound the time
 * and memory a pipeline nobody here wrote can take to validate, and the depth of every recursion a
 * user's text can drive; a real experiment stays far below each.
 */

/** Node instances a pipeline may expand to (sweeps, joins and repeat levels together). */
export const MAX_INSTANCES = 100_000;

/** Gathered results over all instances of a pipeline: each instance's key holds every result it gathers. */
export const MAX_GATHERED = 10_000_000;

/** How long a chain of params referring to params may be (`a: ${params.b}`, `b: ${params.c}`, ...). */
export const MAX_PARAM_CHAIN = 100;

/** How deep parentheses and signs may nest inside one `${...}`: the parser recurses once per level. */
export const MAX_EXPRESSION_DEPTH = 100;

/** A count as people read it: 1000000 as 1,000,000; beyond what a number holds exactly, as 1e+21. */
export function formatCount(n: number): string {
  return n < 1e15 ? n.toLocaleString('en-US') : n.toExponential(0);
}
