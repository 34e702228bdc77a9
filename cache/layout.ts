/**
 * Every storage location of the result cache, in one place: the LMDB sub-databases ("tables"), how each
 * table's keys are built, the shape of each stored value, and the plain files kept beside the LMDB
 * environment. Changing anything here changes the on-disk format: bump FORMAT_VERSION.
 *
 * Every value except a blob is stored as a frame (record-codec.ts: checksum, key, MessagePack value);
 * a blob is checked against the xxh64 in its BlobInfo and the sha256 that is its key.
 *
 * Keys are strings. Composite keys are `JSON.stringify([...])`, which is unambiguous (no separator can be
 * forged by a part) and works the same in LMDB and in the in-memory store.
 */
import { createHash } from 'node:crypto';
import type { Digest, NodeKey } from '../base/brand.js';
import type { BlobRef, LastRun, Provenance } from './store.js';

/**
 * Version of everything below. A store written with another version is refused, never misread.
 * - 1: values were bare MessagePack.
 * - 2: every value except a blob is a checksummed frame that names its key (record-codec.ts), so that a
 *   damaged record is detected when read. `sparsegraph cache verify --repair` converts a version 1 store.
 */
export const FORMAT_VERSION = 2;

/** The LMDB sub-databases (named databases of one environment), by role. */
export const TABLES = {
  /** NodeKey -> StoredResult. A result is visible exactly when this entry exists. */
  results: 'results',
  /** Digest -> the encoded tensor bytes (blob-codec.ts). Content-addressed, shared between results. */
  blobs: 'blobs',
  /**
   * Digest -> BlobInfo: how many results and progress states reference the blob, its size, and the xxh64
   * checksum of its bytes that `load` verifies.
   */
  blobInfo: 'blob-info',
  /** NodeKey -> ClaimRecord: who is computing a key right now. */
  claims: 'claims',
  /** Holder id -> RunRecord: executor runs in progress, whose keys gc keeps (they have no last run yet). */
  runs: 'runs',
  /** Holder id -> RunKeys of that run: written once, apart from the heartbeats of its RunRecord. */
  runKeys: 'run-keys',
  /** NodeKey -> StoredProgress: the in-progress state of a long node. */
  progress: 'progress',
  /** lastRunKey(scope, nodeId) -> StoredLastRun. */
  lastRuns: 'last-runs',
  /** pinKey(key, label) -> PinValue. */
  pins: 'pins',
  /** META_KEYS.* -> small facts about the store itself. */
  meta: 'meta',
} as const;
export type TableName = (typeof TABLES)[keyof typeof TABLES];
export const TABLE_NAMES: readonly TableName[] = Object.values(TABLES);

export const META_KEYS = {
  /** -> StoreFormat */
  format: 'format',
} as const;

/** LMDB refuses keys over 1978 bytes; composite keys longer than this are replaced by their hash. */
const MAX_KEY_BYTES = 1000;

/** Key of the last run of node `nodeId` in `scope` (usually the pipeline file). */
export function lastRunKey(scope: string, nodeId: string): string {
  return boundedKey(JSON.stringify([scope, nodeId]));
}

/** Key of one pin; a result may carry several labels. */
export function pinKey(key: NodeKey, label: string): string {
  return boundedKey(JSON.stringify([key, label]));
}

function boundedKey(key: string): string {
  if (Buffer.byteLength(key) <= MAX_KEY_BYTES) return key;
  return `sha256:${createHash('sha256').update(key).digest('hex')}`;
}

/**
 * A tensor inside a stored value tree is replaced by this node; `$sg` is reserved in stored trees (a put
 * of a tree that uses it is refused). See tree-codec.ts.
 */
export interface TensorRefNode {
  readonly $sg: 'tensor';
  readonly digest: Digest;
  /** Encoded size of the blob. */
  readonly bytes: number;
}
/** Stands for the number -0, which msgpack would turn into 0. */
export interface NegativeZeroNode {
  readonly $sg: '-0';
}

export interface StoredResult {
  readonly format: typeof FORMAT_VERSION;
  readonly key: NodeKey;
  readonly provenance: Provenance;
  /** Sum of the sizes of the distinct blobs in `blobs`. */
  readonly sizeBytes: number;
  readonly createdAt: string;
  /** The output trees with every tensor replaced by a TensorRefNode. */
  readonly outputs: Record<string, unknown>;
  /** The distinct blobs `outputs` references, each counted once in BlobInfo.refs. */
  readonly blobs: readonly BlobRef[];
}

export interface StoredProgress {
  readonly format: typeof FORMAT_VERSION;
  readonly key: NodeKey;
  readonly savedAt: string;
  /** The state tree with tensors replaced by TensorRefNodes. */
  readonly state: Record<string, unknown>;
  readonly blobs: readonly BlobRef[];
}

/**
 * The metadata of one blob (MessagePack map, keys in this order). `xxh64` was added without a format
 * bump because both directions stay correct: a BlobInfo without it (written by an older build, or
 * rewritten by one, which drops unknown fields) only means that `load` falls back to checking the blob's
 * sha256 and then records the checksum; an older build reading a BlobInfo with it ignores the field.
 */
export interface BlobInfo {
  /** Number of results plus progress states whose `blobs` list this digest. 0 never stays stored. */
  readonly refs: number;
  readonly bytes: number;
  /**
   * xxHash64 (seed 0) of the blob's stored bytes, 16 lowercase hex digits (checksum.ts). Recorded when
   * the blob is written; `load` verifies it instead of the slower sha256. Absent in stores written
   * before it existed.
   */
  readonly xxh64?: string;
}

/**
 * Where the thread holding a claim or a run lives, in terms the kernel can check (Linux /proc): see
 * liveness.ts. Added without a format bump: a record without it (older build, or a host without /proc)
 * is judged by pid and heartbeat as before, and an older build ignores it.
 */
export interface ThreadMark {
  /** This boot and pid namespace: only readers with the same scope can interpret pid, tid and start. */
  readonly scope: string;
  readonly pid: number;
  /** The OS thread id (not Node's threadId). */
  readonly tid: number;
  /** The thread's start time in clock ticks since boot (proc(5) stat field 22): tells a reused tid apart. */
  readonly start: number;
}

/** Who holds a claim or a run, and how a reader tells whether the holder still lives (liveness.ts). */
export interface HolderRecord {
  /** Unique per claim or run: host, pid, thread id and random bytes. */
  readonly owner: string;
  readonly host: string;
  readonly pid: number;
  readonly threadId: number;
  readonly thread?: ThreadMark;
  /** Refreshed by the owner every heartbeat; only decides for holders the reader cannot check otherwise. */
  readonly heartbeatAt: number;
}

export interface ClaimRecord extends HolderRecord {
  readonly claimedAt: number;
}

export interface RunRecord extends HolderRecord {
  readonly startedAt: number;
}

export interface RunKeys {
  /** What the run may read or write: its planned keys and their direct inputs. */
  readonly keys: readonly NodeKey[];
}

export interface StoredLastRun {
  readonly scope: string;
  readonly nodeId: string;
  readonly run: LastRun;
}

export interface PinValue {
  readonly key: NodeKey;
  readonly label: string;
  readonly pinnedAt: string;
}

export interface StoreFormat {
  readonly version: number;
  readonly createdAt: string;
}

/** Plain files and folders inside the store directory, beside LMDB's own `data.mdb` and `lock.mdb`. */
export const FILES = {
  /** LMDB's data file (its name is fixed by LMDB). */
  data: 'data.mdb',
  /** LMDB's lock file. */
  lock: 'lock.mdb',
  /** One file per open store handle (any process or thread): `<owner id>.json` with an OpenerFile. */
  openers: 'openers',
  /** Exists while a compaction rewrites data.mdb: a CompactionLockFile. New handles wait for it. */
  compactionLock: 'compacting.json',
  /** Where a compaction writes the compacted copy before it replaces data.mdb. */
  compactionTmp: 'compact-tmp',
  /**
   * One append-only JSON-lines file per `run` in progress (`<run id>.jsonl`: its plan, starts, progress
   * and finishes), written by the CLI beside the LMDB file so that `serve` can follow a run of another
   * process without writing the cache. Kept out of LMDB: a progress line a second per node would be a
   * durable write transaction each, contending with the results.
   */
  progress: 'progress',
} as const;

/** Content of an opener file and of the compaction lock: enough to tell whether the holder is alive. */
export interface HolderFile {
  readonly host: string;
  readonly pid: number;
  readonly threadId: number;
  readonly since: string;
  /** The holder's process (its main thread's mark, where /proc gives one): tells a reused pid apart. */
  readonly process?: ThreadMark;
}
