/**
 * Garbage collection: keep what the given pipelines need (their keys, computed by the executor), what
 * people pinned, what runs still in progress may read or write, and everything those were computed
 * from; remove every other result, stale in-progress state and unreferenced blob; then compact the
 * store so that its file shrinks on disk.
 *
 * Runs in progress count as roots because nothing else names their fresh results: a result a run has
 * just stored is in no kept pipeline and in no last-run record yet (those are written as each node ends,
 * and gc never reads them anyway), so without this a gc in another process would delete it under the
 * run, which would then compute it again for its consumers.
 */
import type { NodeKey } from '../base/brand.js';
import { reachableFrom } from './reachability.js';
import type { CacheStore, CompactOutcome, StoreStats, SweepPlan, SweepView } from './store.js';

export interface GcOptions {
  /** Keys to keep with everything they came from (the executor computes the keys of the kept pipelines). */
  readonly roots: readonly NodeKey[];
  /**
   * Only results (and in-progress states) older than this many ms may go; younger ones are kept with
   * what they came from. (Runs in progress need no cut-off: their keys are kept while they run.)
   */
  readonly olderThan?: number;
  /** Report what would go and how many bytes, change nothing. */
  readonly dryRun?: boolean;
  /** Compact the store afterwards (default true; never on a dry run). */
  readonly compact?: boolean;
  /** The current time in ms since the epoch (tests). */
  readonly now?: number;
}

export interface GcReport {
  readonly dryRun: boolean;
  readonly removedResults: readonly NodeKey[];
  readonly removedProgress: readonly NodeKey[];
  readonly removedBlobs: number;
  /** Encoded bytes of the removed blobs (the file shrinks by about this much after compaction). */
  readonly bytesFreed: number;
  readonly before: StoreStats;
  /** After the sweep and compaction; on a dry run, the projection (without fileBytes). */
  readonly after: StoreStats;
  /** What compaction did; undefined when not attempted (dry run, or `compact: false`). */
  readonly compaction: CompactOutcome | undefined;
}

/**
 * Runs gc on `store`. Compaction needs the store open in no other handle (thread or process); when it
 * is, the sweep still happens and `compaction` says why the file was not rewritten.
 */
export async function collectGarbage(store: CacheStore, options: GcOptions): Promise<GcReport> {
  const dryRun = options.dryRun === true;
  const now = options.now ?? Date.now();
  const before = store.stats();
  const outcome = await store.sweep((view) => planSweep(view, options, now), { dryRun });
  if (dryRun) {
    const { fileBytes: _, ...logical } = before;
    const after: StoreStats = {
      ...logical,
      results: before.results - outcome.removedResults.length,
      progress: before.progress - outcome.removedProgress.length,
      blobs: before.blobs - outcome.removedBlobs,
      blobBytes: before.blobBytes - outcome.bytesFreed,
    };
    return { dryRun, ...outcome, before, after, compaction: undefined };
  }
  const compaction = options.compact === false ? undefined : await store.compact();
  return { dryRun, ...outcome, before, after: store.stats(), compaction };
}

/** The gc policy, a pure function of a sweep snapshot. */
export function planSweep(view: SweepView, options: Pick<GcOptions, 'roots' | 'olderThan'>, now: number): SweepPlan {
  const young = (at: string): boolean => options.olderThan !== undefined && now - Date.parse(at) < options.olderThan;
  const inputs = new Map(view.results.map((r) => [r.key, r.inputs]));
  const seeds = [
    ...options.roots,
    ...view.pins.map((p) => p.key),
    ...view.running,
    ...view.results.filter((r) => young(r.createdAt)).map((r) => r.key),
  ];
  const keep = reachableFrom(seeds, (key) => inputs.get(key));
  const claimed = new Set(view.liveClaims);
  return {
    removeResults: view.results.filter((r) => !keep.has(r.key)).map((r) => r.key),
    removeProgress: view.progress
      .filter((p) => !keep.has(p.key) && !claimed.has(p.key) && !young(p.savedAt))
      .map((p) => p.key),
  };
}
