/**
 * The narrow interface between the executor and any result store. The store knows keys, bytes, tensors
 * and records, never node kinds or experiments.
 *
 * A "value tree" is any JSON-compatible structure in which tensors may appear as objects with
 * `dtype`, `shape` and a typed-array `data` (see HostTensor in base/values.ts). The store writes those
 * tensors as content-addressed blobs (dense, or bitmask + non-zero values when mostly zero) and gives
 * back an equal tree on load.
 */
import type { Digest, NodeKey } from '../base/brand.js';
import type { BlobInfo, TableName } from './layout.js';

/** Where a result came from: enough to re-create it and to explain it to a person. */
export interface Provenance {
  /** Path of the pipeline file that produced it, as given on the command line. */
  readonly pipeline?: string;
  readonly nodeId: string;
  readonly kind: string;
  readonly version: number;
  /** Parameters with defaults applied, exactly as hashed into the key. */
  readonly params: unknown;
  /** Input port name to the key (or keys, for gathering ports) of the result it consumed. */
  readonly inputs: Readonly<Record<string, NodeKey | readonly NodeKey[]>>;
  readonly backend?: { readonly name: string; readonly version: string; readonly kernels?: string };
  readonly libraries: Readonly<Record<string, string>>;
  readonly seed?: number;
  readonly startedAt: string;
  readonly endedAt: string;
  readonly durationMs: number;
  readonly host: string;
  readonly gitCommit?: string;
}

export interface ResultRecord {
  readonly key: NodeKey;
  readonly provenance: Provenance;
  /** Bytes of all blobs this result references (shared blobs counted in full). */
  readonly sizeBytes: number;
  readonly createdAt: string;
}

/** What `plan` remembers of the last time a node id ran, to explain why it runs again. */
export interface LastRun {
  readonly key: NodeKey;
  readonly kind: string;
  readonly version: number;
  readonly params: unknown;
  /** Per input port, what it was bound to (the executor's key components; opaque to the store). */
  readonly inputs: Readonly<Record<string, unknown>>;
  readonly data?: string;
  /** Digest of a file the node read. */
  readonly file?: string;
  readonly salt?: string;
}

/**
 * Raised by `load` and `loadProgress` when a stored blob is missing, fails verification (LoadOptions) or
 * does not decode, or when the record itself is damaged (`digest` undefined); the entry (or progress
 * state) and the blob are already removed.
 */
export class CorruptEntryError extends Error {
  constructor(
    readonly key: NodeKey,
    readonly digest: Digest | undefined,
    detail: string,
  ) {
    super(`cached result ${key.slice(0, 12)} is corrupted (${digest === undefined ? 'record' : `blob ${digest.slice(0, 12)}`}: ${detail}); it was removed`);
    this.name = 'CorruptEntryError';
  }
}

/**
 * A stored value (record, claim, pin, ...) found damaged when read: its checksum or key does not match,
 * or it does not decode. The store treats it as absent and removes it; `CacheStore.damage` lists them.
 */
export interface DamagedEntry {
  readonly table: TableName;
  readonly key: string;
  readonly detail: string;
}

/**
 * Raised when LMDB reports damage to its own pages (MDB_PAGE_NOTFOUND, MDB_CORRUPTED, a bad meta page):
 * the file cannot be read as it is. `sparsegraph cache verify --repair` salvages what can be read.
 */
export class StoreDamagedError extends Error {
  constructor(
    readonly location: string,
    readonly detail: string,
  ) {
    super(`the cache file ${location}/data.mdb is damaged (${detail}); ` +
      `run \`sparsegraph cache verify --repair --cache ${location}\` to keep every result that can still be read`);
    this.name = 'StoreDamagedError';
  }
}

/**
 * Raised when a file of the store (data.mdb, lock.mdb) is there but is not a regular file: a FIFO, a
 * device or a directory. Nothing is opened: LMDB (or the structure check) would wait on a FIFO forever.
 */
export class StoreFileError extends Error {
  constructor(
    readonly location: string,
    readonly detail: string,
  ) {
    super(`the cache ${location} cannot be used: ${detail}; move it out of the way (a fresh cache is then made there)`);
    this.name = 'StoreFileError';
  }
}

/** The outcome of asking for the right to compute a key. */
export type Claim =
  /** This caller now owns the key and must `put` or `release` it. */
  | { readonly status: 'owner'; readonly release: () => void }
  /** Someone else finished it while we waited: load it. */
  | { readonly status: 'done' };

export interface ResultStore {
  has(key: NodeKey): boolean;
  record(key: NodeKey): ResultRecord | undefined;
  /**
   * Loads the output trees; verifies every blob (by default against its recorded xxh64 checksum, see
   * LoadOptions) and rejects with CorruptEntryError, after removing the entry, when one is damaged.
   * A key without a result rejects with MissingResultError.
   */
  load(key: NodeKey, options?: LoadOptions): Promise<Record<string, unknown>>;
  /** Stores outputs and provenance; the result becomes visible only once every blob is written. */
  put(key: NodeKey, outputs: Record<string, unknown>, provenance: Provenance): Promise<void>;
  remove(key: NodeKey): Promise<void>;

  /**
   * Waits until this caller may compute `key` or until its result exists. At most one live claimant
   * (across threads and processes) owns a key at once; a claim left by a dead process is taken over.
   */
  claim(key: NodeKey, options?: { signal?: AbortSignal; pollMs?: number }): Promise<Claim>;
  /**
   * Registers a run in progress that may read or write `keys`. Until the returned function ends it (or
   * its holder dies), gc keeps those keys and what they came from: the run's fresh results are named by
   * no kept pipeline yet. End it only after the run's last-run records are written.
   */
  beginRun(keys: readonly NodeKey[]): Promise<() => void>;

  /** In-progress state of a long node (e.g. a training checkpoint per epoch), to resume after a kill. */
  saveProgress(key: NodeKey, state: Record<string, unknown>): Promise<void>;
  /** Verifies blobs as `load` does; a damaged state is removed and rejects with CorruptEntryError. */
  loadProgress(key: NodeKey, options?: LoadOptions): Promise<Record<string, unknown> | undefined>;
  clearProgress(key: NodeKey): Promise<void>;

  lastRun(scope: string, nodeId: string): LastRun | undefined;
  setLastRun(scope: string, nodeId: string, run: LastRun): Promise<void>;

  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------------
// Additions beyond the executor's narrow interface: options, errors, and what gc, bundles, `pin` and
// `show` need. Both stores (LMDB and in-memory) implement CacheStore.

/** How `load` and `loadProgress` check each blob before decoding it. */
export type VerifyMode = 'checksum' | 'digest' | 'none';

export interface LoadOptions {
  /**
   * - `checksum` (default): the blob's bytes must match the xxh64 checksum recorded when it was stored
   *   (BlobInfo.xxh64), about 5x faster than sha256. On a mismatch the sha256 decides: if the bytes still
   *   match their digest, only the checksum record was damaged; it is rewritten and the load succeeds.
   *   A blob without a recorded checksum (older stores) is checked by sha256, and its checksum recorded.
   * - `digest`: every blob's sha256 is checked against its digest (content address), as bundles do.
   * - `none`: trust the stored bytes (benchmarks, or bulk reads verified some other way); a corrupted
   *   blob then goes unnoticed.
   */
  readonly verify?: VerifyMode;
}

/** Raised by `load` for a key that has no stored result. */
export class MissingResultError extends Error {
  constructor(readonly key: NodeKey) {
    super(`no cached result for key ${key.slice(0, 12)}`);
    this.name = 'MissingResultError';
  }
}

/** Raised when opening a store written in another on-disk format version. */
export class StoreFormatError extends Error {
  constructor(
    readonly location: string,
    readonly found: number,
    readonly supported: number,
  ) {
    super(`the cache at ${location} has format version ${found}; this build reads version ${supported}. ` +
      (found < supported
        ? `Run \`sparsegraph cache verify --repair --cache ${location}\` to convert it (the old file is kept beside it).`
        : 'Use the newer sparsegraph that wrote it, or a fresh cache directory.'));
    this.name = 'StoreFormatError';
  }
}

/** Raised by any call on a store that was closed (or that is in the middle of a compaction). */
export class StoreClosedError extends Error {
  constructor(what: string) {
    super(`the cache store is ${what}`);
    this.name = 'StoreClosedError';
  }
}

/** A label a person put on a result so that gc keeps it (and what it came from). */
export interface PinRecord {
  readonly key: NodeKey;
  readonly label: string;
  readonly pinnedAt: string;
}

export interface StoreStats {
  readonly results: number;
  /** In-progress states (of unfinished long nodes). */
  readonly progress: number;
  readonly blobs: number;
  /** Sum of the encoded sizes of all stored blobs (each counted once). */
  readonly blobBytes: number;
  /** Size of the store's file on disk, where there is one. */
  readonly fileBytes?: number;
}

/** One blob a stored entry references. */
export interface BlobRef {
  readonly digest: Digest;
  /** Encoded size in bytes. */
  readonly bytes: number;
}

/**
 * A result exactly as stored: its record, its outputs with tensors replaced by blob references
 * (`{$sg: 'tensor', digest, bytes}` nodes), and the distinct blobs those reference. What bundles carry.
 */
export interface StoredEntry {
  readonly record: ResultRecord;
  readonly outputs: Record<string, unknown>;
  readonly blobs: readonly BlobRef[];
}

export type ImportOutcome = 'imported' | 'present';

/** A snapshot of what a sweep may remove, taken inside the sweep's write transaction. */
export interface SweepView {
  readonly results: readonly {
    readonly key: NodeKey;
    readonly createdAt: string;
    readonly inputs: Provenance['inputs'];
  }[];
  readonly progress: readonly { readonly key: NodeKey; readonly savedAt: string }[];
  readonly pins: readonly PinRecord[];
  /** Keys some live owner is computing right now. */
  readonly liveClaims: readonly NodeKey[];
  /** Keys that runs in progress with a live holder may read or write (`beginRun`). */
  readonly running: readonly NodeKey[];
}

/** What a sweep should remove; every blob no longer referenced afterwards goes too. */
export interface SweepPlan {
  readonly removeResults: readonly NodeKey[];
  readonly removeProgress: readonly NodeKey[];
}

export interface SweepOutcome {
  readonly removedResults: readonly NodeKey[];
  readonly removedProgress: readonly NodeKey[];
  readonly removedBlobs: number;
  /** Encoded bytes of the removed blobs. */
  readonly bytesFreed: number;
}

export type CompactOutcome =
  | { readonly compacted: true; readonly fileBytesBefore: number; readonly fileBytesAfter: number }
  /** Nothing to compact (in-memory store), or not safe now (another handle has the store open). */
  | { readonly compacted: false; readonly reason: string };

export interface CacheStore extends ResultStore {
  /** Where the store keeps its data (a directory, or a description for in-memory stores), for messages. */
  readonly location: string;
  /** Every stored result key, in key order. */
  keys(): NodeKey[];
  /** Adds a label to `key` (idempotent); pinned keys and what they came from survive gc. */
  pin(key: NodeKey, label: string): Promise<void>;
  /** Removes one label, or every label of `key` when none is given; resolves to the number removed. */
  unpin(key: NodeKey, label?: string): Promise<number>;
  /** All pins, ordered by key then label. */
  pins(): PinRecord[];
  stats(): StoreStats;
  /** The damaged values this handle has found (and removed, or is removing) since it was opened. */
  damage(): readonly DamagedEntry[];

  /** The stored form of a result, for bundles and `show`. */
  entry(key: NodeKey): StoredEntry | undefined;
  hasBlob(digest: Digest): boolean;
  /** The encoded bytes of a blob (a copy the caller owns), unverified. */
  blob(digest: Digest): Uint8Array | undefined;
  /**
   * What the store records about a blob: reference count, size and checksum. Undefined when there is no
   * record or it cannot be decoded.
   */
  blobInfo(digest: Digest): BlobInfo | undefined;
  /**
   * Stores an entry made elsewhere, atomically. `blobs` must hold every referenced blob the store lacks;
   * each is verified against its digest. A key already present is left as is ('present').
   */
  importEntry(entry: StoredEntry, blobs: ReadonlyMap<Digest, Uint8Array>): Promise<ImportOutcome>;

  /**
   * Runs `select` on a consistent snapshot and removes what it returns plus every blob left
   * unreferenced, in one transaction (nothing is removed when `dryRun`). Also repairs blob reference counts.
   */
  sweep(select: (view: SweepView) => SweepPlan, options?: { readonly dryRun?: boolean }): Promise<SweepOutcome>;
  /**
   * Rewrites the store file without free space so that it shrinks on disk. Only done when no other
   * handle (thread or process) has the store open and this one owns no claim; otherwise says why not.
   */
  compact(): Promise<CompactOutcome>;
}
