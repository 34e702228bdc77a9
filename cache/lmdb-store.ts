/**
 * The result store on disk: one LMDB environment in a directory (by default `.sparsegraph/` beside the
 * pipeline file), shared safely by any number of threads and processes of this host.
 *
 * Atomicity: every change that must be seen whole (a result with its blobs, a progress state with its
 * blobs, a sweep) is one LMDB transaction, and LMDB commits by switching a meta page, so a kill -9 at any
 * instant leaves either the old or the new state, never a record pointing at a missing blob.
 *
 * Durability: by default a put resolves only after its commit is flushed to disk (fsync), so a result
 * the executor saw stored survives power loss too. LMDB's overlapping sync lets the next transaction
 * commit while the previous one is being flushed. Claims and heartbeats are not waited for.
 */
import fs from 'node:fs';
import path from 'node:path';
import { asBinary, open, type Database, type RootDatabase } from 'lmdb';
import type { Backend, RawTable } from './backend.js';
import { FILES, FORMAT_VERSION, META_KEYS, TABLE_NAMES, TABLES, type StoreFormat, type TableName } from './layout.js';
import { checkDataFile } from './lmdb-check.js';
import { packRecord, unpackRecord, unpackValue } from './record-codec.js';
import { StoreDamagedError, StoreFormatError, type CompactOutcome } from './store.js';
import { StoreCore, type StoreOptions } from './store-core.js';
import { acquireCompactionLock, registerOpener, type OpenerRegistration } from './store-lock.js';

export interface LmdbStoreOptions extends StoreOptions {
  /** How long opening waits while another process compacts the store, in ms. Default 120000. */
  readonly openTimeoutMs?: number;
  /**
   * Opens the environment read-only (LMDB's MDB_RDONLY): every write is refused, so a reader such as
   * `serve` never changes the file (damaged values are only reported, not removed). The store must exist.
   */
  readonly readOnly?: boolean;
}

class LmdbBackend implements Backend {
  readonly location: string;
  readonly #opener: OpenerRegistration;
  #env: RootDatabase | undefined;
  #dbs = new Map<TableName, Database<Buffer, string>>();

  readonly #readOnly: boolean;

  constructor(dir: string, opener: OpenerRegistration, readOnly = false) {
    this.location = dir;
    this.#opener = opener;
    this.#readOnly = readOnly;
    this.#openEnv();
  }

  #openEnv(): void {
    checkStructure(this.location);
    const env = guard(this.location, () => open({ path: this.location, maxDbs: TABLE_NAMES.length + 2, ...(this.#readOnly ? { readOnly: true } : {}) }));
    this.#env = env;
    this.#dbs = new Map(TABLE_NAMES.map((name) => [name, env.openDB<Buffer, string>({ name, encoding: 'binary' })]));
  }

  #db(name: TableName): Database<Buffer, string> {
    const db = this.#dbs.get(name);
    if (db === undefined || this.#env === undefined) throw new Error(`the cache at ${this.location} is not open`);
    return db;
  }

  table(name: TableName): RawTable {
    const raw = this.#rawTable(name);
    const at = this.location;
    return {
      get: (key) => guard(at, () => raw.get(key)),
      use: (key, fn) => guard(at, () => raw.use(key, fn)),
      has: (key) => guard(at, () => raw.has(key)),
      keys: () => guard(at, () => raw.keys()),
      count: () => guard(at, () => raw.count()),
      put: (key, value) => guard(at, () => raw.put(key, value)),
      remove: (key) => guard(at, () => raw.remove(key)),
    };
  }

  #rawTable(name: TableName): RawTable {
    return {
      // A plain Uint8Array, not lmdb's Buffer, whose slice() would share memory instead of copying.
      get: (key) => {
        const bytes = this.#db(name).getBinary(key);
        return bytes === undefined ? undefined : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
      },
      // getBinaryFast reuses one buffer per thread: no fresh allocation (and its page faults) per read.
      // Its `length` is the value's, its byteLength the whole buffer's: re-view it to the value.
      use: (key, fn) => {
        const bytes = this.#db(name).getBinaryFast(key);
        return bytes === undefined ? undefined : fn(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length));
      },
      has: (key) => this.#db(name).doesExist(key),
      keys: () => [...this.#db(name).getKeys()],
      count: () => this.#db(name).getKeysCount(),
      put: (key, value) => this.#db(name).putSync(key, asBinary(value) as unknown as Buffer),
      remove: (key) => void this.#db(name).removeSync(key),
    };
  }

  async write<T>(fn: () => T, options: { readonly durable: boolean }): Promise<T> {
    const env = this.#env;
    if (env === undefined) throw new Error(`the cache at ${this.location} is not open`);
    if (this.#readOnly) throw new Error(`the cache at ${this.location} is open read-only`);
    // A child transaction is rolled back when fn throws; a plain async transaction would commit the
    // writes made before the throw.
    const result = (await guardAsync(this.location, () => env.childTransaction(fn))) as T;
    if (options.durable) await guardAsync(this.location, () => env.flushed);
    return result;
  }

  fileBytes(): number {
    return fs.statSync(path.join(this.location, FILES.data)).size;
  }

  /** Copies the live data into a compact new file and swaps it in; see store-lock.ts for the safety. */
  async compact(): Promise<CompactOutcome> {
    const lock = acquireCompactionLock(this.location, this.#opener.id);
    if (!lock.ok) return { compacted: false, reason: lock.reason };
    const tmp = path.join(this.location, FILES.compactionTmp);
    try {
      const fileBytesBefore = this.fileBytes();
      fs.rmSync(tmp, { recursive: true, force: true });
      fs.mkdirSync(tmp);
      await this.#env!.backup(tmp, true);
      fsyncPath(path.join(tmp, FILES.data));
      await this.#closeEnv();
      try {
        fs.renameSync(path.join(tmp, FILES.data), path.join(this.location, FILES.data));
        fsyncPath(this.location);
        // Nobody else has the environment open, so its reader table is stale; LMDB rebuilds it.
        fs.rmSync(path.join(this.location, FILES.lock), { force: true });
      } finally {
        this.#openEnv();
      }
      return { compacted: true, fileBytesBefore, fileBytesAfter: this.fileBytes() };
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
      lock.release();
    }
  }

  async #closeEnv(): Promise<void> {
    const env = this.#env;
    this.#env = undefined;
    this.#dbs = new Map();
    await env?.close();
  }

  async close(): Promise<void> {
    await this.#closeEnv();
    this.#opener.unregister();
  }
}

/** A ResultStore (and CacheStore) kept in an LMDB environment in one directory. */
export class LmdbStore extends StoreCore {
  private constructor(backend: LmdbBackend, options: StoreOptions) {
    super(backend, options);
  }

  /** Opens (creating if needed) the store in `dir`. Prefer `openStore`. */
  static async open(dir: string, options: LmdbStoreOptions = {}): Promise<LmdbStore> {
    const readOnly = options.readOnly === true;
    // A reader makes nothing: a missing store is an error, not a fresh empty one.
    if (readOnly && !fs.existsSync(path.join(dir, FILES.data))) throw Object.assign(new Error(`no cache at ${dir}`), { code: 'ENOENT' });
    if (!readOnly) fs.mkdirSync(dir, { recursive: true });
    const opener = await registerOpener(dir, { timeoutMs: options.openTimeoutMs ?? 120_000 });
    let backend: LmdbBackend | undefined;
    try {
      backend = new LmdbBackend(dir, opener, readOnly);
      await checkFormat(backend);
      return new LmdbStore(backend, options);
    } catch (error: unknown) {
      if (backend !== undefined) await backend.close();
      else opener.unregister();
      throw error;
    }
  }
}

export function openStore(dir: string, options: LmdbStoreOptions = {}): Promise<LmdbStore> {
  return LmdbStore.open(dir, options);
}

/**
 * What LMDB reports (as `MDB_*` error names) when its own pages are damaged (a missing page, a page of
 * the wrong kind, a bad meta page, a tree deeper than possible), and when a damaged file made it give up
 * on the environment (PANIC, then BAD_TXN for every later transaction).
 */
const DAMAGE = /MDB_(PAGE_NOTFOUND|CORRUPTED|INVALID|PANIC|BAD_TXN|CURSOR_FULL)/;

/** Runs an LMDB call; page damage it reports becomes a StoreDamagedError naming the cache. */
function guard<T>(location: string, fn: () => T): T {
  try {
    return fn();
  } catch (error: unknown) {
    throw asDamage(location, error);
  }
}

async function guardAsync<T>(location: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error: unknown) {
    throw asDamage(location, error);
  }
}

function asDamage(location: string, error: unknown): unknown {
  if (error instanceof Error && !(error instanceof StoreDamagedError) && DAMAGE.test(error.message)) return new StoreDamagedError(location, error.message);
  return error;
}

/**
 * Refuses a data file whose structure LMDB would trip over (lmdb-check.ts). Another process may be
 * committing while the file is read, which can show a torn view: a problem counts only when two reads
 * in a row find it.
 */
function checkStructure(location: string): void {
  const file = path.join(location, FILES.data);
  let problem = checkDataFile(file);
  for (let attempt = 0; problem !== undefined && attempt < 3; attempt++) {
    const again = checkDataFile(file);
    if (again === problem) break;
    problem = again;
  }
  if (problem !== undefined) throw new StoreDamagedError(location, problem);
}

/** Writes the format version into a new store; refuses a store written in another version. */
async function checkFormat(backend: LmdbBackend): Promise<void> {
  const meta = backend.table(TABLES.meta);
  const read = (): StoreFormat | undefined => {
    const bytes = meta.get(META_KEYS.format);
    if (bytes === undefined) return undefined;
    const framed = unpackRecord<StoreFormat>(META_KEYS.format, bytes);
    if (framed.ok) return framed.value;
    const legacy = legacyFormat(bytes);
    if (legacy !== undefined) return legacy;
    throw new StoreDamagedError(backend.location, `its format record is damaged (${framed.detail})`);
  };
  let format = read();
  if (format === undefined) {
    const fresh: StoreFormat = { version: FORMAT_VERSION, createdAt: new Date().toISOString() };
    format = await backend.write(() => {
      const existing = read();
      if (existing !== undefined) return existing;
      meta.put(META_KEYS.format, packRecord(META_KEYS.format, fresh));
      return fresh;
    }, { durable: true });
  }
  if (format.version !== FORMAT_VERSION) throw new StoreFormatError(backend.location, format.version, FORMAT_VERSION);
}

/** The format record of a version 1 store (bare MessagePack), or undefined when the bytes are not one. */
function legacyFormat(bytes: Uint8Array): StoreFormat | undefined {
  try {
    const value = unpackValue<unknown>(bytes);
    if (typeof value === 'object' && value !== null && typeof (value as StoreFormat).version === 'number' && (value as StoreFormat).version < FORMAT_VERSION) return value as StoreFormat;
  } catch {
    // Not MessagePack either.
  }
  return undefined;
}

function fsyncPath(target: string): void {
  const fd = fs.openSync(target, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
