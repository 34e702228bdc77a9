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

// What a pipeline file (or a --set value) may hold, checked while it is read (read-text.ts, parse-yaml.ts).

/**
 * The most a pipeline file may hold. Real pipelines are a few kilobytes and a generated one with 100,000
 * nodes is about 5 MiB; the limit keeps reading and parsing a file within seconds and a few hundred MiB.
 */
export const MAX_PIPELINE_BYTES = 16 * 1024 * 1024;

/**
 * How many values (scalars, aliases, flow collections, documents, and the commas between flow entries:
 * each one makes an entry) a file may write. A file of 100,000 nodes, each with a kind and a param in
 * flow style, writes 800,000; reading takes about 1 KB and some µs a value.
 */
export const MAX_VALUES = 1_000_000;
/**
 * How many tokens (values, indicators, comments, line breaks) a file may hold: each one is an object of
 * the parser's until the document is composed, so 16 MiB of `#` lines would take gigabytes. That file
 * of 100,000 nodes holds 3,200,000.
 */
export const MAX_TOKENS = 4_000_000;
/** How deep maps and lists may nest, aliases expanded; pipelines nest a handful of levels. */
export const MAX_NESTING = 100;
/** How many aliases a file may hold. */
export const MAX_ALIASES = 10_000;
/** How many values aliases may add to a file when they are expanded (the values every reader of the data sees). */
export const MAX_ALIAS_VALUES = 1_000_000;

/** A count as people read it: 1000000 as 1,000,000; beyond what a number holds exactly, as 1e+21. */
export function formatCount(n: number): string {
  return n < 1e15 ? n.toLocaleString('en-US') : n.toExponential(0);
}
