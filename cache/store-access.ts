/**
 * StoreCore's access to its Backend: whether the handle is open, the one reader of stored values (a
 * damaged value reads as absent, is recorded and removed), and writes tracked so that close() and
 * compact() can wait for them.
 */
import type { Backend, RawTable } from './backend.js';
import { TABLES, type TableName } from './layout.js';
import { unpackRecord } from './record-codec.js';
import { StoreClosedError, type DamagedEntry } from './store.js';

export type StoreState = 'open' | 'compacting' | 'closed';

export class StoreAccess {
  readonly backend: Backend;
  readonly #durable: boolean;
  state: StoreState = 'open';
  readonly #pending = new Set<Promise<unknown>>();
  /** Damaged values found by this handle, by table and key (see `get`). */
  readonly #damage = new Map<string, DamagedEntry>();

  constructor(backend: Backend, durable: boolean) {
    this.backend = backend;
    this.#durable = durable;
  }

  assertOpen(): void {
    if (this.state !== 'open') throw new StoreClosedError(this.state === 'closed' ? 'closed' : 'being compacted');
  }

  table(name: TableName): RawTable {
    this.assertOpen();
    return this.backend.table(name);
  }

  /**
   * The one reader of stored values. A damaged value (checksum, key or decoding, record-codec.ts) is
   * treated as absent, so no caller ever sees a wrong value: it is reported through `damage()` and
   * removed (see `damaged`), and whatever it held is computed again.
   */
  get<T>(table: TableName, key: string): T | undefined {
    const bytes = this.table(table).get(key);
    if (bytes === undefined) return undefined;
    const read = unpackRecord<T>(key, bytes);
    if (read.ok) return read.value;
    this.damaged(table, key, bytes, read.detail);
    return undefined;
  }

  /**
   * Records a damaged value and removes it, in a write of its own once the current call returns (reads
   * happen inside other writes too, and a store read may not write). The removal only happens while the
   * same bytes are stored: a sound value written meanwhile is kept. A damaged BlobInfo is not removed
   * here: `load` repairs it from the blob's sha256 (see readBlobs in blob-read.ts).
   */
  damaged(table: TableName, key: string, bytes: Uint8Array | undefined, detail: string): void {
    const id = damageId(table, key);
    if (this.#damage.has(id)) return;
    this.#damage.set(id, { table, key, detail });
    if (bytes === undefined || table === TABLES.blobInfo) return;
    this.track(Promise.resolve().then(async () => {
      if (this.state !== 'open') return;
      await this.backend.write(() => {
        const raw = this.backend.table(table);
        const now = raw.get(key);
        if (now !== undefined && Buffer.from(now).equals(bytes)) raw.remove(key);
      }, { durable: false });
    })).catch(() => undefined);
  }

  /** The damage this handle found in `table` under `key`, if any. */
  damageAt(table: TableName, key: string): DamagedEntry | undefined {
    return this.#damage.get(damageId(table, key));
  }

  damage(): readonly DamagedEntry[] {
    return [...this.#damage.values()];
  }

  write<T>(fn: () => T, durable = this.#durable): Promise<T> {
    this.assertOpen();
    return this.track(this.backend.write(fn, { durable }));
  }

  track<T>(promise: Promise<T>): Promise<T> {
    this.#pending.add(promise);
    const forget = (): void => void this.#pending.delete(promise);
    promise.then(forget, forget);
    return promise;
  }

  async idle(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }
}

function damageId(table: TableName, key: string): string {
  return JSON.stringify([table, key]);
}
