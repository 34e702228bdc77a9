/**
 * What a store needs from its storage: named tables of byte values and atomic write transactions.
 * StoreCore (store-core.ts) holds all cache logic on top of this; LMDB (lmdb-store.ts) and plain maps
 * (memory-store.ts) provide it, so both stores behave the same by construction.
 */
import type { TableName } from './layout.js';
import type { CompactOutcome } from './store.js';

export interface RawTable {
  /** A copy of the stored bytes that the caller owns, or undefined. */
  get(key: string): Uint8Array | undefined;
  /**
   * Calls `fn` with the stored bytes without copying them first (undefined when absent). The bytes are
   * valid only during `fn`, which must neither keep nor modify them nor read the store meanwhile.
   */
  use<T>(key: string, fn: (bytes: Uint8Array) => T): T | undefined;
  has(key: string): boolean;
  /** All keys, in ascending order. */
  keys(): string[];
  count(): number;
  /** Only inside `Backend.write`. */
  put(key: string, value: Uint8Array): void;
  /** Only inside `Backend.write`. */
  remove(key: string): void;
}

export interface Backend {
  /** Where the data lives, for messages. */
  readonly location: string;
  table(name: TableName): RawTable;
  /**
   * Runs `fn` synchronously inside one write transaction, serialised with every other writer (threads
   * and processes). Reads inside `fn` see its own writes. If `fn` throws, nothing it wrote is kept.
   * With `durable`, resolves only once the commit is flushed to disk.
   */
  write<T>(fn: () => T, options: { readonly durable: boolean }): Promise<T>;
  fileBytes(): number | undefined;
  compact(): Promise<CompactOutcome>;
  close(): Promise<void>;
}
