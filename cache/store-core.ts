/**
 * The cache's logic over any Backend: results, blobs with reference counts, claims, progress, last runs,
 * pins, sweeps. Invariants kept by doing every related change in one write transaction:
 * - a result record exists only together with every blob it references (put, import);
 * - BlobInfo.refs counts the results and progress states listing a blob, and a blob whose count drops
 *   to 0 is deleted in the same transaction (so per-epoch progress does not pile up garbage);
 * - BlobInfo.xxh64, when present, is the checksum of the blob's correct bytes (computed from bytes whose
 *   sha256 is the digest: freshly encoded, imported and verified, or verified on load);
 * - every value except a blob is a checksummed frame that names its key (record-codec.ts), read only by
 *   #get (and `has`, which checks without decoding): a damaged value reads as absent, is listed by
 *   `damage()` and removed, so what it held is computed again and nothing reads a wrong value.
 */
import type { Digest, NodeKey } from '../base/brand.js';
import type { HostTensor } from '../base/values.js';
import type { Backend, RawTable } from './backend.js';
import { blobDigest, BlobFormatError, decodeTensor, readBlobHeader, type EncodeOptions } from './blob-codec.js';
import { blobChecksum, checksumWhileCopying } from './checksum.js';
import {
  FORMAT_VERSION,
  lastRunKey,
  pinKey,
  TABLES,
  type BlobInfo,
  type ClaimRecord,
  type PinValue,
  type RunKeys,
  type RunRecord,
  type StoredLastRun,
  type StoredProgress,
  type StoredResult,
  type TableName,
} from './layout.js';
import { defaultClaimStaleMs, holderRecord, newHolderId, sleep, stillHolds } from './liveness.js';
import { checkRecord, packRecord, unpackRecord } from './record-codec.js';
import {
  CorruptEntryError,
  MissingResultError,
  StoreClosedError,
  type BlobRef,
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
  type VerifyMode,
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

/** A claim or run this handle holds, with the timer of its heartbeat. */
interface Held {
  readonly owner: string;
  readonly timer: NodeJS.Timeout;
}

type BlobRead =
  /** `checksums`: verified checksums to record, for blobs whose BlobInfo lacks one or holds a wrong one. */
  | { readonly tensors: Map<Digest, HostTensor>; readonly checksums: Map<Digest, string> }
  | { readonly bad: Digest; readonly detail: string };

/** A blob about to be stored, with its checksum (computed before the write transaction starts). */
interface NewBlob {
  readonly bytes: Uint8Array;
  readonly xxh64: string;
}

export class StoreCore implements CacheStore {
  readonly #backend: Backend;
  readonly #heartbeatMs: number;
  readonly #staleMs: number;
  readonly #pollMs: number;
  readonly #encoding: EncodeOptions;
  readonly #durable: boolean;
  #state: 'open' | 'compacting' | 'closed' = 'open';
  readonly #owned = new Map<NodeKey, Held>();
  /** Runs in progress registered through this handle, by holder id (`beginRun`). */
  readonly #runs = new Map<string, Held>();
  readonly #pending = new Set<Promise<unknown>>();
  /** Damaged values found by this handle, by table and key (see #get). */
  readonly #damage = new Map<string, DamagedEntry>();

  protected constructor(backend: Backend, options: StoreOptions = {}) {
    this.#backend = backend;
    this.#staleMs = options.claimStaleMs ?? defaultClaimStaleMs();
    // Several beats per stale period, so that one late beat never makes a live claim look abandoned.
    this.#heartbeatMs = options.claimHeartbeatMs ?? Math.min(2000, Math.ceil(this.#staleMs / 10));
    this.#pollMs = options.claimPollMs ?? 100;
    this.#encoding = options.encoding ?? {};
    this.#durable = options.durable ?? true;
  }

  /** Where the store keeps its data (a directory, or a description for in-memory stores). */
  get location(): string {
    return this.#backend.location;
  }

  // ------------------------------------------------------------------------------------- results

  /** True only for a sound record: a damaged one is absent (and removed), so its key is computed again. */
  has(key: NodeKey): boolean {
    const table = this.#table(TABLES.results);
    const problem = table.use(key, (bytes) => checkRecord(key, bytes) ?? null);
    if (problem === undefined) return false;
    if (problem === null) return true;
    this.#damaged(TABLES.results, key, table.get(key), problem);
    return false;
  }

  record(key: NodeKey): ResultRecord | undefined {
    const stored = this.#get<StoredResult>(TABLES.results, key);
    return stored && toRecord(stored);
  }

  async load(key: NodeKey, options: LoadOptions = {}): Promise<Record<string, unknown>> {
    const stored = this.#get<StoredResult>(TABLES.results, key);
    if (stored === undefined) {
      const damaged = this.#damage.get(damageId(TABLES.results, key));
      throw damaged === undefined ? new MissingResultError(key) : new CorruptEntryError(key, undefined, damaged.detail);
    }
    const read = this.#readBlobs(stored.blobs, options.verify ?? 'checksum');
    if ('bad' in read) {
      await this.#write(() => {
        const current = this.#get<StoredResult>(TABLES.results, key);
        if (current?.blobs.some((b) => b.digest === read.bad)) this.#removeResult(key, current);
        this.#dropBlob(read.bad);
      }, true);
      throw new CorruptEntryError(key, read.bad, read.detail);
    }
    await this.#recordChecksums(read.checksums);
    return joinTree(stored.outputs, read.tensors);
  }

  async put(key: NodeKey, outputs: Record<string, unknown>, provenance: Provenance): Promise<void> {
    this.#assertOpen();
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
    await this.#write(() => {
      this.#storeBlobs(fresh);
      this.#retain(refs);
      const previous = this.#get<StoredResult>(TABLES.results, key);
      if (previous !== undefined) this.#release(previous.blobs);
      this.#table(TABLES.results).put(key, packed);
      // The result supersedes both the claim (waiters now see it) and any in-progress state.
      this.#table(TABLES.claims).remove(key);
      this.#removeProgress(key);
    });
    this.#forgetClaim(key);
  }

  async remove(key: NodeKey): Promise<void> {
    await this.#write(() => {
      const stored = this.#get<StoredResult>(TABLES.results, key);
      if (stored !== undefined) this.#removeResult(key, stored);
    });
  }

  keys(): NodeKey[] {
    return this.#table(TABLES.results).keys() as NodeKey[];
  }

  // -------------------------------------------------------------------------------------- claims

  async claim(key: NodeKey, options: { signal?: AbortSignal; pollMs?: number } = {}): Promise<Claim> {
    const pollMs = options.pollMs ?? this.#pollMs;
    for (;;) {
      options.signal?.throwIfAborted();
      this.#assertOpen();
      if (this.has(key)) return { status: 'done' };
      const current = this.#get<ClaimRecord>(TABLES.claims, key);
      if (current === undefined || !this.#claimLive(current)) {
        const owner = newHolderId();
        const outcome = await this.#write(() => {
          if (this.has(key)) return 'done' as const;
          const existing = this.#get<ClaimRecord>(TABLES.claims, key);
          if (existing !== undefined && this.#claimLive(existing)) return 'busy' as const;
          const now = Date.now();
          const record: ClaimRecord = { ...holderRecord(owner, now), claimedAt: now };
          this.#table(TABLES.claims).put(key, packRecord(key, record));
          return 'owner' as const;
        }, false);
        if (outcome === 'done') return { status: 'done' };
        if (outcome === 'owner') return { status: 'owner', release: this.#own(key, owner) };
      }
      await sleep(pollMs, options.signal);
    }
  }

  #claimLive(claim: ClaimRecord): boolean {
    return stillHolds(claim, this.#staleMs, Date.now());
  }

  /** Starts the heartbeat of a claim this handle now owns; returns its release function. */
  #own(key: NodeKey, owner: string): () => void {
    this.#owned.set(key, { owner, timer: this.#heartbeat(TABLES.claims, key, owner) });
    return () => {
      if (this.#owned.get(key)?.owner !== owner) return;
      this.#forgetClaim(key);
      if (this.#state !== 'closed') this.#removeHeld(TABLES.claims, key, owner);
    };
  }

  /**
   * Refreshes `heartbeatAt` of the record `key` in `table` (a claim or run) while `owner` holds it. It
   * runs on the holder's event loop, so a long synchronous step stops it: on this host liveness is judged
   * by the holder's thread instead (`stillHolds`), and the heartbeat only serves readers that cannot.
   */
  #heartbeat(table: typeof TABLES.claims | typeof TABLES.runs, key: string, owner: string): NodeJS.Timeout {
    const timer = setInterval(() => {
      if (this.#state !== 'open') return;
      this.#track(this.#backend.write(() => {
        const current = this.#get<ClaimRecord | RunRecord>(table, key);
        if (current?.owner === owner) this.#table(table).put(key, packRecord(key, { ...current, heartbeatAt: Date.now() }));
      }, { durable: false })).catch(() => undefined);
    }, this.#heartbeatMs);
    timer.unref();
    return timer;
  }

  /** Removes a claim or run record (a run with its keys) if `owner` still holds it (not waited for: close() waits). */
  #removeHeld(table: typeof TABLES.claims | typeof TABLES.runs, key: string, owner: string): void {
    this.#track(this.#backend.write(() => {
      if (this.#get<ClaimRecord | RunRecord>(table, key)?.owner !== owner) return;
      this.#table(table).remove(key);
      if (table === TABLES.runs) this.#table(TABLES.runKeys).remove(key);
    }, { durable: false })).catch(() => undefined);
  }

  #forgetClaim(key: NodeKey): void {
    const owned = this.#owned.get(key);
    if (owned === undefined) return;
    clearInterval(owned.timer);
    this.#owned.delete(key);
  }

  // ---------------------------------------------------------------------------------------- runs

  async beginRun(keys: readonly NodeKey[]): Promise<() => void> {
    const owner = newHolderId();
    const now = Date.now();
    const record = packRecord(owner, { ...holderRecord(owner, now), startedAt: now } satisfies RunRecord);
    // Apart from the record, so that a heartbeat rewrites a few bytes however large the plan.
    const runKeys = packRecord(owner, { keys: [...new Set(keys)] } satisfies RunKeys);
    // Committed before any result of the run exists: a sweep that sees one of them sees the run too.
    await this.#write(() => {
      this.#table(TABLES.runKeys).put(owner, runKeys);
      this.#table(TABLES.runs).put(owner, record);
    }, false);
    this.#runs.set(owner, { owner, timer: this.#heartbeat(TABLES.runs, owner, owner) });
    return () => this.#endRun(owner);
  }

  #endRun(owner: string): void {
    const run = this.#runs.get(owner);
    if (run === undefined) return;
    clearInterval(run.timer);
    this.#runs.delete(owner);
    if (this.#state !== 'closed') this.#removeHeld(TABLES.runs, owner, owner);
  }

  // ------------------------------------------------------------------------------------ progress

  async saveProgress(key: NodeKey, state: Record<string, unknown>): Promise<void> {
    this.#assertOpen();
    const { manifest, blobs } = splitTree(state, this.#encoding);
    const refs = [...blobs].map(([digest, bytes]) => ({ digest, bytes: bytes.length }));
    const fresh = withChecksums(blobs);
    const stored: StoredProgress = { format: FORMAT_VERSION, key, savedAt: new Date().toISOString(), state: manifest, blobs: refs };
    const packed = packRecord(key, stored);
    await this.#write(() => {
      this.#storeBlobs(fresh);
      this.#retain(refs);
      this.#removeProgress(key);
      this.#table(TABLES.progress).put(key, packed);
    });
  }

  /** Rejects with CorruptEntryError (after removing the state) when a blob of the state is damaged. */
  async loadProgress(key: NodeKey, options: LoadOptions = {}): Promise<Record<string, unknown> | undefined> {
    const stored = this.#get<StoredProgress>(TABLES.progress, key);
    if (stored === undefined) return undefined;
    const read = this.#readBlobs(stored.blobs, options.verify ?? 'checksum');
    if ('bad' in read) {
      await this.#write(() => {
        this.#removeProgress(key);
        this.#dropBlob(read.bad);
      });
      throw new CorruptEntryError(key, read.bad, `${read.detail} (in-progress state)`);
    }
    await this.#recordChecksums(read.checksums);
    return joinTree(stored.state, read.tensors);
  }

  async clearProgress(key: NodeKey): Promise<void> {
    await this.#write(() => this.#removeProgress(key));
  }

  // ----------------------------------------------------------------------------------- last runs

  lastRun(scope: string, nodeId: string): LastRun | undefined {
    return this.#get<StoredLastRun>(TABLES.lastRuns, lastRunKey(scope, nodeId))?.run;
  }

  async setLastRun(scope: string, nodeId: string, run: LastRun): Promise<void> {
    const key = lastRunKey(scope, nodeId);
    const packed = packRecord(key, { scope, nodeId, run } satisfies StoredLastRun);
    await this.#write(() => this.#table(TABLES.lastRuns).put(key, packed));
  }

  // ---------------------------------------------------------------------------------------- pins

  async pin(key: NodeKey, label: string): Promise<void> {
    if (label.length === 0 || label.length > 200) throw new RangeError('a pin label has 1 to 200 characters');
    const value: PinValue = { key, label, pinnedAt: new Date().toISOString() };
    await this.#write(() => {
      const table = this.#table(TABLES.pins);
      const at = pinKey(key, label);
      if (this.#get<PinValue>(TABLES.pins, at) === undefined) table.put(at, packRecord(at, value));
    });
  }

  async unpin(key: NodeKey, label?: string): Promise<number> {
    return this.#write(() => {
      const table = this.#table(TABLES.pins);
      let removed = 0;
      for (const k of table.keys()) {
        const pin = this.#get<PinValue>(TABLES.pins, k);
        if (pin?.key === key && (label === undefined || pin.label === label)) {
          table.remove(k);
          removed++;
        }
      }
      return removed;
    });
  }

  pins(): PinRecord[] {
    const table = this.#table(TABLES.pins);
    const pins = table.keys().flatMap((k) => {
      const pin = this.#get<PinValue>(TABLES.pins, k);
      return pin === undefined ? [] : [pin];
    });
    return pins.sort((a, b) => (a.key === b.key ? compare(a.label, b.label) : compare(a.key, b.key)));
  }

  // ------------------------------------------------------------------------------- maintenance

  stats(): StoreStats {
    let blobBytes = 0;
    const info = this.#table(TABLES.blobInfo);
    for (const digest of info.keys()) blobBytes += this.blobInfo(digest as Digest)?.bytes ?? 0;
    const fileBytes = this.#backend.fileBytes();
    return {
      results: this.#table(TABLES.results).count(),
      progress: this.#table(TABLES.progress).count(),
      blobs: this.#table(TABLES.blobs).count(),
      blobBytes,
      ...(fileBytes === undefined ? {} : { fileBytes }),
    };
  }

  entry(key: NodeKey): StoredEntry | undefined {
    const stored = this.#get<StoredResult>(TABLES.results, key);
    return stored && { record: toRecord(stored), outputs: stored.outputs, blobs: stored.blobs };
  }

  hasBlob(digest: Digest): boolean {
    return this.#table(TABLES.blobs).has(digest);
  }

  blob(digest: Digest): Uint8Array | undefined {
    return this.#table(TABLES.blobs).get(digest);
  }

  blobInfo(digest: Digest): BlobInfo | undefined {
    const bytes = this.#table(TABLES.blobInfo).get(digest);
    if (bytes === undefined) return undefined;
    const read = unpackRecord<unknown>(digest, bytes);
    return read.ok && isBlobInfo(read.value) ? read.value : undefined;
  }

  damage(): readonly DamagedEntry[] {
    return [...this.#damage.values()];
  }

  async importEntry(entry: StoredEntry, blobs: ReadonlyMap<Digest, Uint8Array>): Promise<ImportOutcome> {
    this.#assertOpen();
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
    return this.#write(() => {
      if (this.has(key)) return 'present' as const;
      const table = this.#table(TABLES.blobs);
      for (const ref of entry.blobs) {
        if (table.has(ref.digest)) continue;
        const blob = verified.get(ref.digest);
        if (blob === undefined) throw new Error(`entry ${key.slice(0, 12)}: blob ${ref.digest.slice(0, 12)} is neither given nor stored`);
        this.#storeBlobs(new Map([[ref.digest, blob]]));
      }
      this.#retain(entry.blobs);
      this.#table(TABLES.results).put(key, packed);
      return 'imported' as const;
    });
  }

  async sweep(select: (view: SweepView) => SweepPlan, options: { readonly dryRun?: boolean } = {}): Promise<SweepOutcome> {
    const run = (apply: boolean): SweepOutcome => {
      const results = new Map<NodeKey, StoredResult>();
      for (const k of this.keys()) {
        const stored = this.#get<StoredResult>(TABLES.results, k);
        if (stored !== undefined) results.set(k, stored);
      }
      const progress = new Map<NodeKey, StoredProgress>();
      for (const k of this.#table(TABLES.progress).keys() as NodeKey[]) {
        const stored = this.#get<StoredProgress>(TABLES.progress, k);
        if (stored !== undefined) progress.set(k, stored);
      }
      const liveClaims = (this.#table(TABLES.claims).keys() as NodeKey[]).filter((k) => {
        const claim = this.#get<ClaimRecord>(TABLES.claims, k);
        return claim !== undefined && this.#claimLive(claim);
      });
      const running = new Set<NodeKey>();
      const deadRuns: string[] = [];
      for (const id of this.#table(TABLES.runs).keys()) {
        const run = this.#get<RunRecord>(TABLES.runs, id);
        if (run !== undefined && stillHolds(run, this.#staleMs, Date.now())) this.#get<RunKeys>(TABLES.runKeys, id)?.keys.forEach((k) => running.add(k));
        else deadRuns.push(id);
      }
      const plan = select({
        results: [...results.values()].map((r) => ({ key: r.key, createdAt: r.createdAt, inputs: r.provenance.inputs })),
        progress: [...progress.values()].map((p) => ({ key: p.key, savedAt: p.savedAt })),
        pins: this.pins(),
        liveClaims,
        running: [...running],
      });
      const removeResults = new Set(plan.removeResults.filter((k) => results.has(k)));
      const removeProgress = new Set(plan.removeProgress.filter((k) => progress.has(k)));
      const referenced = new Map<Digest, number>();
      const count = (refs: readonly BlobRef[]): void => refs.forEach((r) => referenced.set(r.digest, (referenced.get(r.digest) ?? 0) + 1));
      for (const [k, r] of results) if (!removeResults.has(k)) count(r.blobs);
      for (const [k, p] of progress) if (!removeProgress.has(k)) count(p.blobs);

      const blobTable = this.#table(TABLES.blobs);
      const infoTable = this.#table(TABLES.blobInfo);
      const stored = new Set<string>([...blobTable.keys(), ...infoTable.keys()]);
      let removedBlobs = 0;
      let bytesFreed = 0;
      for (const digest of stored as Set<Digest>) {
        if (referenced.has(digest)) continue;
        const info = this.blobInfo(digest);
        const size = info?.bytes ?? blobTable.get(digest)?.length ?? 0;
        if (blobTable.has(digest)) {
          removedBlobs++;
          bytesFreed += size;
        }
        if (apply) this.#dropBlob(digest);
      }
      if (apply) {
        // A run whose holder died (kill -9) never ends: its record goes here.
        for (const id of deadRuns) {
          this.#table(TABLES.runs).remove(id);
          this.#table(TABLES.runKeys).remove(id);
        }
        for (const k of removeResults) this.#table(TABLES.results).remove(k);
        for (const k of removeProgress) this.#table(TABLES.progress).remove(k);
        // Repair reference counts (they only drift if a bug or a foreign tool wrote the store).
        for (const [digest, refs] of referenced) {
          const info = this.blobInfo(digest);
          const bytes = info?.bytes ?? blobTable.get(digest)?.length;
          if (bytes !== undefined && info?.refs !== refs) infoTable.put(digest, packRecord(digest, blobInfoOf(refs, bytes, info?.xxh64)));
        }
      }
      return { removedResults: [...removeResults], removedProgress: [...removeProgress], removedBlobs, bytesFreed };
    };
    this.#assertOpen();
    return options.dryRun === true ? run(false) : this.#write(() => run(true));
  }

  async compact(): Promise<CompactOutcome> {
    this.#assertOpen();
    if (this.#owned.size > 0) return { compacted: false, reason: `this store handle owns ${this.#owned.size} claim(s)` };
    if (this.#runs.size > 0) return { compacted: false, reason: `this store handle has ${this.#runs.size} run(s) in progress` };
    await this.#idle();
    this.#state = 'compacting';
    try {
      return await this.#backend.compact();
    } finally {
      this.#state = 'open';
    }
  }

  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    for (const key of [...this.#owned.keys()]) {
      const owner = this.#owned.get(key)!.owner;
      this.#forgetClaim(key);
      this.#removeHeld(TABLES.claims, key, owner);
    }
    for (const owner of [...this.#runs.keys()]) this.#endRun(owner);
    await this.#idle();
    this.#state = 'closed';
    await this.#backend.close();
  }

  // ------------------------------------------------------------------------------------ helpers

  #assertOpen(): void {
    if (this.#state !== 'open') throw new StoreClosedError(this.#state === 'closed' ? 'closed' : 'being compacted');
  }

  #table(name: TableName): RawTable {
    this.#assertOpen();
    return this.#backend.table(name);
  }

  /**
   * The one reader of stored values. A damaged value (checksum, key or decoding, record-codec.ts) is
   * treated as absent, so no caller ever sees a wrong value: it is reported through `damage()` and
   * removed (see #damaged), and whatever it held is computed again.
   */
  #get<T>(table: TableName, key: string): T | undefined {
    const bytes = this.#table(table).get(key);
    if (bytes === undefined) return undefined;
    const read = unpackRecord<T>(key, bytes);
    if (read.ok) return read.value;
    this.#damaged(table, key, bytes, read.detail);
    return undefined;
  }

  /**
   * Records a damaged value and removes it, in a write of its own once the current call returns (reads
   * happen inside other writes too, and a store read may not write). The removal only happens while the
   * same bytes are stored: a sound value written meanwhile is kept. A damaged BlobInfo is not removed
   * here: `load` repairs it from the blob's sha256 (see #readBlobs).
   */
  #damaged(table: TableName, key: string, bytes: Uint8Array | undefined, detail: string): void {
    const id = damageId(table, key);
    if (this.#damage.has(id)) return;
    this.#damage.set(id, { table, key, detail });
    if (bytes === undefined || table === TABLES.blobInfo) return;
    this.#track(Promise.resolve().then(async () => {
      if (this.#state !== 'open') return;
      await this.#backend.write(() => {
        const raw = this.#backend.table(table);
        const now = raw.get(key);
        if (now !== undefined && Buffer.from(now).equals(bytes)) raw.remove(key);
      }, { durable: false });
    })).catch(() => undefined);
  }

  #write<T>(fn: () => T, durable = this.#durable): Promise<T> {
    this.#assertOpen();
    return this.#track(this.#backend.write(fn, { durable }));
  }

  #track<T>(promise: Promise<T>): Promise<T> {
    this.#pending.add(promise);
    const forget = (): void => void this.#pending.delete(promise);
    promise.then(forget, forget);
    return promise;
  }

  async #idle(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }

  /**
   * Verifies each blob as `verify` says (LoadOptions) and decodes it straight from the stored bytes into
   * fresh arrays: one copy per tensor, the minimum for data the caller owns. Reports the first damaged
   * or missing blob instead.
   *
   * With `checksum`, a blob passes when its bytes match BlobInfo.xxh64. A mismatch means that the blob
   * or the checksum record is damaged; the sha256 tells which. Only bytes whose sha256 is their digest
   * are ever decoded without a checksum match, so a damaged checksum record can cost a sha256 but can
   * neither let a damaged blob through nor condemn a sound one.
   */
  #readBlobs(refs: readonly BlobRef[], verify: VerifyMode): BlobRead {
    const table = this.#table(TABLES.blobs);
    const tensors = new Map<Digest, HostTensor>();
    const checksums = new Map<Digest, string>();
    for (const { digest } of refs) {
      // Read before `use`: nothing may read the store while `use` lends its bytes.
      const info = verify === 'checksum' ? this.#table(TABLES.blobInfo).get(digest) : undefined;
      const expected = info === undefined ? undefined : recordedChecksum(digest, info);
      const outcome = table.use(digest, (bytes): HostTensor | string => {
        // With a recorded checksum, it is computed during the decode (see below); otherwise the bytes
        // are verified first, as they are in `digest` mode.
        const fused = verify === 'checksum' && typeof expected === 'string';
        if (verify === 'checksum' && !fused) {
          if (blobDigest(bytes) !== digest) {
            return expected === null ? 'content matches neither its xxh64 checksum nor its sha256' : 'content does not match its sha256';
          }
          // Sound bytes whose checksum is missing (older store) or whose record is damaged.
          if (info !== undefined) checksums.set(digest, blobChecksum(bytes));
        } else if (verify === 'digest' && blobDigest(bytes) !== digest) {
          return 'content does not match its sha256';
        }
        // Decoding before the checksum is checked is safe: decodeTensor validates every length against
        // the bytes it has, and a tensor whose bytes fail the check below is dropped unseen.
        const sum: { actual?: string } = {};
        let tensor: HostTensor;
        try {
          tensor = decodeTensor(bytes, fused
            ? { copy: true, copyDense: (whole, from, into) => void (sum.actual = checksumWhileCopying(whole, from, into)) }
            : { copy: true });
        } catch (error: unknown) {
          if (error instanceof BlobFormatError) return error.message;
          throw error;
        }
        if (fused) {
          const actual = sum.actual ?? blobChecksum(bytes);
          if (actual !== expected) {
            // The blob or its checksum record is damaged: the sha256 tells which.
            if (blobDigest(bytes) !== digest) return 'content matches neither its xxh64 checksum nor its sha256';
            checksums.set(digest, actual);
          }
        }
        return tensor;
      });
      if (outcome === undefined) return { bad: digest, detail: 'blob is missing' };
      if (typeof outcome === 'string') return { bad: digest, detail: outcome };
      tensors.set(digest, outcome);
    }
    return { tensors, checksums };
  }

  /**
   * Writes verified checksums into BlobInfo records that lack them or hold wrong ones. Only an
   * optimisation for later loads, so it is not flushed, and a failure leaves the load successful.
   */
  async #recordChecksums(checksums: ReadonlyMap<Digest, string>): Promise<void> {
    if (checksums.size === 0) return;
    try {
      await this.#write(() => {
        for (const [digest, xxh64] of checksums) {
          const info = this.blobInfo(digest);
          if (info !== undefined && info.xxh64 !== xxh64) {
            this.#table(TABLES.blobInfo).put(digest, packRecord(digest, blobInfoOf(info.refs, info.bytes, xxh64)));
          }
        }
      }, false);
    } catch {
      // The data was verified; the next load checks the sha256 again.
    }
  }

  // The following run inside a write transaction only.

  /**
   * Stores blobs not yet stored, and records the checksum of each given blob where its BlobInfo lacks
   * one (a blob stored by an older build). `blobs` hold correct bytes: their sha256 is their digest.
   */
  #storeBlobs(blobs: ReadonlyMap<Digest, NewBlob>): void {
    const table = this.#table(TABLES.blobs);
    const infos = this.#table(TABLES.blobInfo);
    for (const [digest, { bytes, xxh64 }] of blobs) {
      if (!table.has(digest)) table.put(digest, bytes);
      const info = this.blobInfo(digest);
      if (info === undefined) infos.put(digest, packRecord(digest, blobInfoOf(0, bytes.length, xxh64)));
      else if (info.xxh64 !== xxh64) infos.put(digest, packRecord(digest, blobInfoOf(info.refs, info.bytes, xxh64)));
    }
  }

  #retain(refs: readonly BlobRef[]): void {
    const table = this.#table(TABLES.blobInfo);
    for (const { digest, bytes } of refs) {
      const info = this.blobInfo(digest);
      table.put(digest, packRecord(digest, blobInfoOf((info?.refs ?? 0) + 1, info?.bytes ?? bytes, info?.xxh64)));
    }
  }

  #release(refs: readonly BlobRef[]): void {
    for (const { digest } of refs) {
      const info = this.blobInfo(digest);
      if (info === undefined) continue;
      if (info.refs <= 1) this.#dropBlob(digest);
      else this.#table(TABLES.blobInfo).put(digest, packRecord(digest, blobInfoOf(info.refs - 1, info.bytes, info.xxh64)));
    }
  }

  #dropBlob(digest: Digest): void {
    this.#table(TABLES.blobs).remove(digest);
    this.#table(TABLES.blobInfo).remove(digest);
  }

  #removeResult(key: NodeKey, stored: StoredResult): void {
    this.#release(stored.blobs);
    this.#table(TABLES.results).remove(key);
  }

  #removeProgress(key: NodeKey): void {
    const stored = this.#get<StoredProgress>(TABLES.progress, key);
    if (stored === undefined) return;
    this.#release(stored.blobs);
    this.#table(TABLES.progress).remove(key);
  }
}

function withChecksums(blobs: ReadonlyMap<Digest, Uint8Array>): Map<Digest, NewBlob> {
  return new Map([...blobs].map(([digest, bytes]) => [digest, { bytes, xxh64: blobChecksum(bytes) }]));
}

/** A BlobInfo value; the checksum is left out when unknown (never stored as undefined or null). */
function blobInfoOf(refs: number, bytes: number, xxh64: string | undefined): BlobInfo {
  return xxh64 === undefined ? { refs, bytes } : { refs, bytes, xxh64 };
}

function isBlobInfo(value: unknown): value is BlobInfo {
  if (typeof value !== 'object' || value === null) return false;
  const { refs, bytes, xxh64 } = value as Record<string, unknown>;
  return typeof refs === 'number' && typeof bytes === 'number' && (xxh64 === undefined || typeof xxh64 === 'string');
}

/**
 * The checksum a stored BlobInfo records: its `xxh64` when that is present, `null` when the record is
 * damaged (does not decode, or holds something else), so that it is checked and repaired like a wrong
 * checksum; undefined when the record has no checksum (written by an older build).
 */
function recordedChecksum(digest: Digest, bytes: Uint8Array): string | null | undefined {
  const read = unpackRecord<unknown>(digest, bytes);
  if (!read.ok || !isBlobInfo(read.value)) return null;
  return read.value.xxh64;
}

function damageId(table: TableName, key: string): string {
  return JSON.stringify([table, key]);
}

function toRecord(stored: StoredResult): ResultRecord {
  return { key: stored.key, provenance: stored.provenance, sizeBytes: stored.sizeBytes, createdAt: stored.createdAt };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
