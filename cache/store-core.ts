/**
 * The cache's logic over any Backend: results, blobs with reference counts, claims, progress, last runs,
 * pins, sweeps. Invariants kept by doing every related change in one write transaction:
 * - a result record exists only together with every blob it references (put, import);
 * - BlobInfo.refs counts the results and progress states listing a blob, and a blob whose count drops
 *   to 0 is deleted in the same transaction (so per-epoch progress does not pile up garbage);
 * - BlobInfo.xxh64, when present, is the checksum of the blob's correct bytes (computed from bytes whose
 *   sha256 is the digest: freshly encoded, imported and verified, or verified on load);
 * - every value except a blob is a checksummed frame that names its key (record-codec.ts), read only by
 *   StoreAccess.get (and `has`, which checks without decoding): a damaged value reads as absent, is listed
 *   by `damage()` and removed, so what it held is computed again and nothing reads a wrong value.
 *
 * StoreCore holds results, progress and last runs itself; the rest lives beside it: store-access.ts
 * (open state, reads, tracked writes), blob-refs.ts (blobs and reference counts), blob-read.ts (verified
 * reads), claims-and-runs.ts, pins.ts and store-sweep.ts.
 */
import type { Digest, NodeKey } from '../base/brand.js';
import type { Backend } from './backend.js';
import { blobDigest, readBlobHeader, type EncodeOptions } from './blob-codec.js';
import { readBlobs, recordChecksums } from './blob-read.js';
import { dropBlob, readBlobInfo, release, removeProgress, removeResult, retain, storeBlobs, withChecksums, type NewBlob } from './blob-refs.js';
import { blobChecksum } from './checksum.js';
import { HeldRecords } from './claims-and-runs.js';
import { FORMAT_VERSION, lastRunKey, TABLES, type BlobInfo, type StoredLastRun, type StoredProgress, type StoredResult } from './layout.js';
import { defaultClaimStaleMs } from './liveness.js';
import { addPin, listPins, removePins } from './pins.js';
import { checkRecord, packRecord } from './record-codec.js';
import { StoreAccess } from './store-access.js';
import { sweepTables } from './store-sweep.js';
import {
  CorruptEntryError,
  MissingResultError,
  type CacheStore,
  type Claim,
  type CompactOutcome,
  type DamagedEntry,
  type ImportOutcome,
  type LastRun,
  type LoadOptions,
  type PinRecord,
  type Provenance,
  type ResultRecord,
  type StoredEntry,
  type StoreStats,
  type SweepOutcome,
  type SweepPlan,
  type SweepView,
} from './store.js';
import { joinTree, manifestDigests, splitTree } from './tree-codec.js';

export interface StoreOptions {
  /** How often the owner of a claim or run refreshes it, in ms. Default a tenth of claimStaleMs, at most 2000. */
  readonly claimHeartbeatMs?: number;
  /**
   * A claim (or run) not refreshed for this long (ms) is abandoned and may be taken over, but only when
   * its holder cannot be checked otherwise (another host; see `stillHolds` in liveness.ts): a holder
   * thread that the kernel says is alive keeps its claim however old its heartbeat. Default
   * SPARSEGRAPH_CLAIM_STALE_MS, else 30000.
   */
  readonly claimStaleMs?: number;
  /** How often a waiting `claim` looks again, in ms, unless the call says otherwise. Default 100. */
  readonly claimPollMs?: number;
  /** Tensor encoding choices (when to store sparse). */
  readonly encoding?: EncodeOptions;
  /**
   * Whether put, saveProgress, import, sweeps, pins and last runs resolve only after their commit is
   * flushed to disk (default true). A kill -9 never loses a committed write either way; this guards
   * against power loss and OS crashes. Claims and heartbeats are never flushed explicitly.
   */
  readonly durable?: boolean;
}

export class StoreCore implements CacheStore {
  readonly #access: StoreAccess;
  readonly #held: HeldRecords;
  readonly #encoding: EncodeOptions;

  protected constructor(backend: Backend, options: StoreOptions = {}) {
    const staleMs = options.claimStaleMs ?? defaultClaimStaleMs();
    // Several beats per stale period, so that one late beat never makes a live claim look abandoned.
    const heartbeatMs = options.claimHeartbeatMs ?? Math.min(2000, Math.ceil(staleMs / 10));
    const pollMs = options.claimPollMs ?? 100;
    this.#encoding = options.encoding ?? {};
    this.#access = new StoreAccess(backend, options.durable ?? true);
    // Through the store, so that `claim` sees what `has` says on this handle.
    this.#held = new HeldRecords(this.#access, { heartbeatMs, staleMs, pollMs }, (key) => this.has(key));
  }

  /** Where the store keeps its data (a directory, or a description for in-memory stores). */
  get location(): string {
    return this.#access.backend.location;
  }

  // ------------------------------------------------------------------------------------- results

  /** True only for a sound record: a damaged one is absent (and removed), so its key is computed again. */
  has(key: NodeKey): boolean {
    const table = this.#access.table(TABLES.results);
    const problem = table.use(key, (bytes) => checkRecord(key, bytes) ?? null);
    if (problem === undefined) return false;
    if (problem === null) return true;
    this.#access.damaged(TABLES.results, key, table.get(key), problem);
    return false;
  }

  record(key: NodeKey): ResultRecord | undefined {
    const stored = this.#access.get<StoredResult>(TABLES.results, key);
    return stored && toRecord(stored);
  }

  async load(key: NodeKey, options: LoadOptions = {}): Promise<Record<string, unknown>> {
    const access = this.#access;
    const stored = access.get<StoredResult>(TABLES.results, key);
    if (stored === undefined) {
      const damaged = access.damageAt(TABLES.results, key);
      throw damaged === undefined ? new MissingResultError(key) : new CorruptEntryError(key, undefined, damaged.detail);
    }
    const read = readBlobs(access, stored.blobs, options.verify ?? 'checksum');
    if ('bad' in read) {
      await access.write(() => {
        const current = access.get<StoredResult>(TABLES.results, key);
        if (current?.blobs.some((b) => b.digest === read.bad)) removeResult(access, key, current);
        dropBlob(access, read.bad);
      }, true);
      throw new CorruptEntryError(key, read.bad, read.detail);
    }
    await recordChecksums(access, read.checksums);
    return joinTree(stored.outputs, read.tensors);
  }

  async put(key: NodeKey, outputs: Record<string, unknown>, provenance: Provenance): Promise<void> {
    const access = this.#access;
    access.assertOpen();
    const { manifest, blobs } = splitTree(outputs, this.#encoding);
    const refs = [...blobs].map(([digest, bytes]) => ({ digest, bytes: bytes.length }));
    const fresh = withChecksums(blobs);
    const stored: StoredResult = {
      format: FORMAT_VERSION,
      key,
      provenance,
      sizeBytes: refs.reduce((sum, r) => sum + r.bytes, 0),
      createdAt: new Date().toISOString(),
      outputs: manifest,
      blobs: refs,
    };
    const packed = packRecord(key, stored);
    await access.write(() => {
      storeBlobs(access, fresh);
      retain(access, refs);
      const previous = access.get<StoredResult>(TABLES.results, key);
      if (previous !== undefined) release(access, previous.blobs);
      access.table(TABLES.results).put(key, packed);
      // The result supersedes both the claim (waiters now see it) and any in-progress state.
      access.table(TABLES.claims).remove(key);
      removeProgress(access, key);
    });
    this.#held.forgetClaim(key);
  }

  async remove(key: NodeKey): Promise<void> {
    const access = this.#access;
    await access.write(() => {
      const stored = access.get<StoredResult>(TABLES.results, key);
      if (stored !== undefined) removeResult(access, key, stored);
    });
  }

  keys(): NodeKey[] {
    return this.#access.table(TABLES.results).keys() as NodeKey[];
  }

  // ------------------------------------------------------------------------------ claims and runs

  claim(key: NodeKey, options: { signal?: AbortSignal; pollMs?: number } = {}): Promise<Claim> {
    return this.#held.claim(key, options);
  }

  beginRun(keys: readonly NodeKey[]): Promise<() => void> {
    return this.#held.beginRun(keys);
  }

  // ------------------------------------------------------------------------------------ progress

  async saveProgress(key: NodeKey, state: Record<string, unknown>): Promise<void> {
    const access = this.#access;
    access.assertOpen();
    const { manifest, blobs } = splitTree(state, this.#encoding);
    const refs = [...blobs].map(([digest, bytes]) => ({ digest, bytes: bytes.length }));
    const fresh = withChecksums(blobs);
    const stored: StoredProgress = { format: FORMAT_VERSION, key, savedAt: new Date().toISOString(), state: manifest, blobs: refs };
    const packed = packRecord(key, stored);
    await access.write(() => {
      storeBlobs(access, fresh);
      retain(access, refs);
      removeProgress(access, key);
      access.table(TABLES.progress).put(key, packed);
    });
  }

  /** Rejects with CorruptEntryError (after removing the state) when a blob of the state is damaged. */
  async loadProgress(key: NodeKey, options: LoadOptions = {}): Promise<Record<string, unknown> | undefined> {
    const access = this.#access;
    const stored = access.get<StoredProgress>(TABLES.progress, key);
    if (stored === undefined) return undefined;
    const read = readBlobs(access, stored.blobs, options.verify ?? 'checksum');
    if ('bad' in read) {
      await access.write(() => {
        removeProgress(access, key);
        dropBlob(access, read.bad);
      });
      throw new CorruptEntryError(key, read.bad, `${read.detail} (in-progress state)`);
    }
    await recordChecksums(access, read.checksums);
    return joinTree(stored.state, read.tensors);
  }

  async clearProgress(key: NodeKey): Promise<void> {
    await this.#access.write(() => removeProgress(this.#access, key));
  }

  // ----------------------------------------------------------------------------------- last runs

  lastRun(scope: string, nodeId: string): LastRun | undefined {
    return this.#access.get<StoredLastRun>(TABLES.lastRuns, lastRunKey(scope, nodeId))?.run;
  }

  async setLastRun(scope: string, nodeId: string, run: LastRun): Promise<void> {
    const key = lastRunKey(scope, nodeId);
    const packed = packRecord(key, { scope, nodeId, run } satisfies StoredLastRun);
    await this.#access.write(() => this.#access.table(TABLES.lastRuns).put(key, packed));
  }

  // ---------------------------------------------------------------------------------------- pins

  async pin(key: NodeKey, label: string): Promise<void> {
    await addPin(this.#access, key, label);
  }

  async unpin(key: NodeKey, label?: string): Promise<number> {
    return removePins(this.#access, key, label);
  }

  pins(): PinRecord[] {
    return listPins(this.#access);
  }

  // ------------------------------------------------------------------------------- maintenance

  stats(): StoreStats {
    const access = this.#access;
    let blobBytes = 0;
    const info = access.table(TABLES.blobInfo);
    for (const digest of info.keys()) blobBytes += readBlobInfo(access, digest as Digest)?.bytes ?? 0;
    const fileBytes = access.backend.fileBytes();
    return {
      results: access.table(TABLES.results).count(),
      progress: access.table(TABLES.progress).count(),
      blobs: access.table(TABLES.blobs).count(),
      blobBytes,
      ...(fileBytes === undefined ? {} : { fileBytes }),
    };
  }

  entry(key: NodeKey): StoredEntry | undefined {
    const stored = this.#access.get<StoredResult>(TABLES.results, key);
    return stored && { record: toRecord(stored), outputs: stored.outputs, blobs: stored.blobs };
  }

  hasBlob(digest: Digest): boolean {
    return this.#access.table(TABLES.blobs).has(digest);
  }

  blob(digest: Digest): Uint8Array | undefined {
    return this.#access.table(TABLES.blobs).get(digest);
  }

  blobInfo(digest: Digest): BlobInfo | undefined {
    return readBlobInfo(this.#access, digest);
  }

  damage(): readonly DamagedEntry[] {
    return this.#access.damage();
  }

  async importEntry(entry: StoredEntry, blobs: ReadonlyMap<Digest, Uint8Array>): Promise<ImportOutcome> {
    const access = this.#access;
    access.assertOpen();
    const key = entry.record.key;
    const verified = verifiedBlobs(entry, blobs);
    const stored: StoredResult = {
      format: FORMAT_VERSION,
      key,
      provenance: entry.record.provenance,
      sizeBytes: entry.record.sizeBytes,
      createdAt: entry.record.createdAt,
      outputs: entry.outputs,
      blobs: entry.blobs,
    };
    const packed = packRecord(key, stored);
    return access.write(() => {
      if (this.has(key)) return 'present' as const;
      const table = access.table(TABLES.blobs);
      for (const ref of entry.blobs) {
        if (table.has(ref.digest)) continue;
        const blob = verified.get(ref.digest);
        if (blob === undefined) throw new Error(`entry ${key.slice(0, 12)}: blob ${ref.digest.slice(0, 12)} is neither given nor stored`);
        storeBlobs(access, new Map([[ref.digest, blob]]));
      }
      retain(access, entry.blobs);
      access.table(TABLES.results).put(key, packed);
      return 'imported' as const;
    });
  }

  async sweep(select: (view: SweepView) => SweepPlan, options: { readonly dryRun?: boolean } = {}): Promise<SweepOutcome> {
    const run = (apply: boolean): SweepOutcome => sweepTables(this.#access, (record) => this.#held.isLive(record), select, apply);
    this.#access.assertOpen();
    return options.dryRun === true ? run(false) : this.#access.write(() => run(true));
  }

  async compact(): Promise<CompactOutcome> {
    const access = this.#access;
    access.assertOpen();
    if (this.#held.claimCount > 0) return { compacted: false, reason: `this store handle owns ${this.#held.claimCount} claim(s)` };
    if (this.#held.runCount > 0) return { compacted: false, reason: `this store handle has ${this.#held.runCount} run(s) in progress` };
    await access.idle();
    access.state = 'compacting';
    try {
      return await access.backend.compact();
    } finally {
      access.state = 'open';
    }
  }

  async close(): Promise<void> {
    const access = this.#access;
    if (access.state === 'closed') return;
    this.#held.releaseAll();
    await access.idle();
    access.state = 'closed';
    await access.backend.close();
  }
}

/**
 * The blobs given with an imported entry that it lists, each checked against its digest, its listed
 * length and the blob format, with its checksum. Throws when the entry's outputs reference a blob it does
 * not list, or a given blob fails a check.
 */
function verifiedBlobs(entry: StoredEntry, blobs: ReadonlyMap<Digest, Uint8Array>): Map<Digest, NewBlob> {
  const key = entry.record.key;
  const listed = new Map(entry.blobs.map((b) => [b.digest, b.bytes]));
  for (const digest of manifestDigests(entry.outputs)) {
    if (!listed.has(digest)) throw new Error(`entry ${key.slice(0, 12)}: outputs reference blob ${digest.slice(0, 12)} it does not list`);
  }
  const verified = new Map<Digest, NewBlob>();
  for (const [digest, bytes] of blobs) {
    if (!listed.has(digest)) continue;
    if (blobDigest(bytes) !== digest) throw new Error(`blob ${digest.slice(0, 12)} does not match its digest`);
    if (bytes.length !== listed.get(digest)) throw new Error(`blob ${digest.slice(0, 12)} has ${bytes.length} bytes, the entry says ${listed.get(digest)}`);
    readBlobHeader(bytes);
    verified.set(digest, { bytes, xxh64: blobChecksum(bytes) });
  }
  return verified;
}

function toRecord(stored: StoredResult): ResultRecord {
  return { key: stored.key, provenance: stored.provenance, sizeBytes: stored.sizeBytes, createdAt: stored.createdAt };
}
