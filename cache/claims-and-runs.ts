/**
 * The claims and runs a store handle holds: taking a claim (or waiting for the result), registering a
 * run in progress, the heartbeat of each, and their release. Who counts as a live holder is decided by
 * `stillHolds` in liveness.ts.
 */
import type { NodeKey } from '../base/brand.js';
import { TABLES, type ClaimRecord, type RunKeys, type RunRecord } from './layout.js';
import { holderRecord, newHolderId, sleep, stillHolds } from './liveness.js';
import { packRecord } from './record-codec.js';
import type { StoreAccess } from './store-access.js';
import type { Claim } from './store.js';

/** How claims and runs are timed (resolved StoreOptions). */
export interface HoldTiming {
  readonly heartbeatMs: number;
  readonly staleMs: number;
  readonly pollMs: number;
}

/** A claim or run this handle holds, with the timer of its heartbeat. */
interface Held {
  readonly owner: string;
  readonly timer: NodeJS.Timeout;
}

type HeldTable = typeof TABLES.claims | typeof TABLES.runs;

export class HeldRecords {
  readonly #access: StoreAccess;
  readonly #timing: HoldTiming;
  /** Whether a sound result exists (the store's `has`, called through the store). */
  readonly #has: (key: NodeKey) => boolean;
  readonly #owned = new Map<NodeKey, Held>();
  /** Runs in progress registered through this handle, by holder id (`beginRun`). */
  readonly #runs = new Map<string, Held>();

  constructor(access: StoreAccess, timing: HoldTiming, has: (key: NodeKey) => boolean) {
    this.#access = access;
    this.#timing = timing;
    this.#has = has;
  }

  /** How many claims this handle owns. */
  get claimCount(): number {
    return this.#owned.size;
  }

  /** How many runs registered through this handle are in progress. */
  get runCount(): number {
    return this.#runs.size;
  }

  // -------------------------------------------------------------------------------------- claims

  async claim(key: NodeKey, options: { signal?: AbortSignal; pollMs?: number } = {}): Promise<Claim> {
    const access = this.#access;
    const pollMs = options.pollMs ?? this.#timing.pollMs;
    for (;;) {
      options.signal?.throwIfAborted();
      access.assertOpen();
      if (this.#has(key)) return { status: 'done' };
      const current = access.get<ClaimRecord>(TABLES.claims, key);
      if (current === undefined || !this.isLive(current)) {
        const owner = newHolderId();
        const outcome = await access.write(() => {
          if (this.#has(key)) return 'done' as const;
          const existing = access.get<ClaimRecord>(TABLES.claims, key);
          if (existing !== undefined && this.isLive(existing)) return 'busy' as const;
          const now = Date.now();
          const record: ClaimRecord = { ...holderRecord(owner, now), claimedAt: now };
          access.table(TABLES.claims).put(key, packRecord(key, record));
          return 'owner' as const;
        }, false);
        if (outcome === 'done') return { status: 'done' };
        if (outcome === 'owner') return { status: 'owner', release: this.#own(key, owner) };
      }
      await sleep(pollMs, options.signal);
    }
  }

  /** Whether the holder of a claim or run still holds it (`stillHolds`, judged now). */
  isLive(record: ClaimRecord | RunRecord): boolean {
    return stillHolds(record, this.#timing.staleMs, Date.now());
  }

  /** Starts the heartbeat of a claim this handle now owns; returns its release function. */
  #own(key: NodeKey, owner: string): () => void {
    this.#owned.set(key, { owner, timer: this.#heartbeat(TABLES.claims, key, owner) });
    return () => {
      if (this.#owned.get(key)?.owner !== owner) return;
      this.forgetClaim(key);
      if (this.#access.state !== 'closed') this.#removeHeld(TABLES.claims, key, owner);
    };
  }

  /** Stops the heartbeat of a claim this handle owns and forgets it (its record is left as it is). */
  forgetClaim(key: NodeKey): void {
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
    await this.#access.write(() => {
      this.#access.table(TABLES.runKeys).put(owner, runKeys);
      this.#access.table(TABLES.runs).put(owner, record);
    }, false);
    this.#runs.set(owner, { owner, timer: this.#heartbeat(TABLES.runs, owner, owner) });
    return () => this.#endRun(owner);
  }

  #endRun(owner: string): void {
    const run = this.#runs.get(owner);
    if (run === undefined) return;
    clearInterval(run.timer);
    this.#runs.delete(owner);
    if (this.#access.state !== 'closed') this.#removeHeld(TABLES.runs, owner, owner);
  }

  // ------------------------------------------------------------------------------------- release

  /** Releases every claim and run this handle holds (on close; the removals are tracked writes). */
  releaseAll(): void {
    for (const key of [...this.#owned.keys()]) {
      const owner = this.#owned.get(key)!.owner;
      this.forgetClaim(key);
      this.#removeHeld(TABLES.claims, key, owner);
    }
    for (const owner of [...this.#runs.keys()]) this.#endRun(owner);
  }

  /**
   * Refreshes `heartbeatAt` of the record `key` in `table` (a claim or run) while `owner` holds it. It
   * runs on the holder's event loop, so a long synchronous step stops it: on this host liveness is judged
   * by the holder's thread instead (`stillHolds`), and the heartbeat only serves readers that cannot.
   */
  #heartbeat(table: HeldTable, key: string, owner: string): NodeJS.Timeout {
    const access = this.#access;
    const timer = setInterval(() => {
      if (access.state !== 'open') return;
      access.track(access.backend.write(() => {
        const current = access.get<ClaimRecord | RunRecord>(table, key);
        if (current?.owner === owner) access.table(table).put(key, packRecord(key, { ...current, heartbeatAt: Date.now() }));
      }, { durable: false })).catch(() => undefined);
    }, this.#timing.heartbeatMs);
    timer.unref();
    return timer;
  }

  /** Removes a claim or run record (a run with its keys) if `owner` still holds it (not waited for: close() waits). */
  #removeHeld(table: HeldTable, key: string, owner: string): void {
    const access = this.#access;
    access.track(access.backend.write(() => {
      if (access.get<ClaimRecord | RunRecord>(table, key)?.owner !== owner) return;
      access.table(table).remove(key);
      if (table === TABLES.runs) access.table(TABLES.runKeys).remove(key);
    }, { durable: false })).catch(() => undefined);
  }
}
