/**
 * A store held in this process's memory: the same logic as the LMDB store (StoreCore) over plain maps,
 * for executor unit tests and throw-away runs. Values are kept encoded, so loads return fresh copies
 * and mutating a loaded tree never changes the store. Claims only coordinate callers in this process.
 */
import type { Digest } from '../base/brand.js';
import type { Backend, RawTable } from './backend.js';
import { FORMAT_VERSION, META_KEYS, TABLE_NAMES, TABLES, type StoreFormat, type TableName } from './layout.js';
import { packRecord } from './record-codec.js';
import type { CompactOutcome } from './store.js';
import { StoreCore, type StoreOptions } from './store-core.js';

const DELETED = null;

class MemoryBackend implements Backend {
  readonly location = 'memory';
  readonly #data = new Map<TableName, Map<string, Uint8Array>>(TABLE_NAMES.map((name) => [name, new Map()]));
  /** Writes of the running transaction, applied only when it returns (DELETED marks a removal). */
  #journal: Map<TableName, Map<string, Uint8Array | typeof DELETED>> | undefined;
  #closed = false;

  table(name: TableName): RawTable {
    const committed = this.#data.get(name)!;
    const staged = (): Map<string, Uint8Array | typeof DELETED> | undefined => this.#journal?.get(name);
    const lookup = (key: string): Uint8Array | undefined => {
      const pending = staged();
      if (pending?.has(key)) return pending.get(key) ?? undefined;
      return committed.get(key);
    };
    const keys = (): string[] => {
      const all = new Set(committed.keys());
      for (const [k, v] of staged() ?? []) v === DELETED ? all.delete(k) : all.add(k);
      return [...all].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    };
    const stage = (): Map<string, Uint8Array | typeof DELETED> => {
      if (this.#journal === undefined) throw new Error('memory store: write outside a transaction');
      let pending = this.#journal.get(name);
      if (pending === undefined) this.#journal.set(name, (pending = new Map()));
      return pending;
    };
    return {
      get: (key) => lookup(key)?.slice(),
      use: (key, fn) => {
        const bytes = lookup(key);
        return bytes === undefined ? undefined : fn(bytes);
      },
      has: (key) => lookup(key) !== undefined,
      keys,
      count: () => keys().length,
      put: (key, value) => void stage().set(key, value.slice()),
      remove: (key) => void stage().set(key, DELETED),
    };
  }

  async write<T>(fn: () => T): Promise<T> {
    if (this.#closed) throw new Error('memory store is closed');
    // One transaction at a time is guaranteed: fn is synchronous and JavaScript runs one thing at a time.
    this.#journal = new Map();
    try {
      const result = fn();
      for (const [name, pending] of this.#journal) {
        const committed = this.#data.get(name)!;
        for (const [k, v] of pending) v === DELETED ? committed.delete(k) : committed.set(k, v);
      }
      return result;
    } finally {
      this.#journal = undefined;
    }
  }

  fileBytes(): undefined {
    return undefined;
  }

  async compact(): Promise<CompactOutcome> {
    return { compacted: false, reason: 'an in-memory store has no file to compact' };
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  /** Flips one byte of a stored blob, bypassing the store (tests of corruption handling). */
  corrupt(digest: Digest, at: number): void {
    const bytes = this.#data.get(TABLES.blobs)!.get(digest);
    if (bytes === undefined) throw new Error(`no blob ${digest}`);
    bytes[at % bytes.length]! ^= 0xff;
  }

  /** Replaces a committed value with what `change` makes of it, bypassing the store (tests only). */
  tamper(table: TableName, key: string, change: (bytes: Uint8Array) => Uint8Array): void {
    const committed = this.#data.get(table)!;
    const bytes = committed.get(key);
    if (bytes === undefined) throw new Error(`no ${table} value under ${key}`);
    committed.set(key, change(bytes.slice()));
  }
}

export class MemoryStore extends StoreCore {
  readonly #memory: MemoryBackend;

  constructor(options: StoreOptions = {}) {
    const backend = new MemoryBackend();
    super(backend, options);
    this.#memory = backend;
    void backend.write(() =>
      backend.table(TABLES.meta).put(META_KEYS.format, packRecord(META_KEYS.format, { version: FORMAT_VERSION, createdAt: new Date().toISOString() } satisfies StoreFormat)),
    );
  }

  /** Flips one byte of a stored blob, as a failing disk would (for tests of corruption handling). */
  corruptBlobForTesting(digest: Digest, at = 0): void {
    this.#memory.corrupt(digest, at);
  }

  /**
   * Replaces a stored value (any table) with what `change` returns, as a failing disk or a foreign tool
   * would (for tests of corruption handling, e.g. of BlobInfo checksum records).
   */
  tamperForTesting(table: TableName, key: string, change: (bytes: Uint8Array) => Uint8Array): void {
    this.#memory.tamper(table, key, change);
  }
}
