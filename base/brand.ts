/** Branded strings: a node key or a blob digest cannot be passed where the other is expected. */
declare const brand: unique symbol;
export type Brand<T, B extends string> = T & { readonly [brand]: B };

/** A node instance's cache key: lowercase hex sha256 (64 chars) of its canonical description. */
export type NodeKey = Brand<string, 'NodeKey'>;
/** The sha256 (lowercase hex) of a blob's bytes. */
export type Digest = Brand<string, 'Digest'>;
