/**
 * The environment variables the CLI reads, each read here and nowhere else in cli/ (the engine reads
 * $SPARSEGRAPH_KINDS itself, and the science layer falls back on $SPARSEGRAPH_BACKEND when asked for
 * no backend). Each returns the value as set: unset is undefined, and callers treat empty as unset.
 */

/** `$SPARSEGRAPH_CACHE`: the cache directory of a command given no --cache. */
export function cacheFromEnv(): string | undefined {
  return process.env['SPARSEGRAPH_CACHE'];
}

/** `$SPARSEGRAPH_BACKEND`: the tensor backend of a `run` given no --backend. */
export function backendFromEnv(): string | undefined {
  return process.env['SPARSEGRAPH_BACKEND'];
}

/** `$SPARSEGRAPH_DEBUG`: when set, an internal error prints its stack. */
export function debugFromEnv(): string | undefined {
  return process.env['SPARSEGRAPH_DEBUG'];
}
