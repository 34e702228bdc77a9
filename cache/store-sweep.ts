/**
 * The store's sweep (`CacheStore.sweep`, used by gc.ts): reads what the store holds, lets the caller's
 * policy choose what goes, then removes it with every blob nothing lists any more, drops the records of
 * dead runs and repairs reference counts. Runs inside one write transaction (or reads only, on a dry run).
 */
import type { Digest, NodeKey } from '../base/brand.js';
import { blobInfoOf, dropBlob, readBlobInfo } from './blob-refs.js';
import { TABLES, type ClaimRecord, type RunKeys, type RunRecord, type StoredProgress, type StoredResult } from './layout.js';
import { listPins } from './pins.js';
import { packRecord } from './record-codec.js';
import type { StoreAccess } from './store-access.js';
import type { BlobRef, PinRecord, SweepOutcome, SweepPlan, SweepView } from './store.js';

/** Whether the holder of a claim or run still holds it. */
type IsLive = (record: ClaimRecord | RunRecord) => boolean;

/** What a sweep found stored, before the policy chose. */
interface Found {
  readonly results: ReadonlyMap<NodeKey, StoredResult>;
  readonly progress: ReadonlyMap<NodeKey, StoredProgress>;
  readonly liveClaims: readonly NodeKey[];
  /** Keys that runs with a live holder may read or write. */
  readonly running: ReadonlySet<NodeKey>;
  /** Runs whose holder died (kill -9): they never end. */
  readonly deadRuns: readonly string[];
}

/** Sweeps as `select` says; with `apply` false, only counts what would go. */
export function sweepTables(access: StoreAccess, isLive: IsLive, select: (view: SweepView) => SweepPlan, apply: boolean): SweepOutcome {
  const found = readStored(access, isLive);
  const plan = select(viewOf(found, listPins(access)));
  const removeResults = new Set(plan.removeResults.filter((k) => found.results.has(k)));
  const removeProgress = new Set(plan.removeProgress.filter((k) => found.progress.has(k)));
  const referenced = new Map<Digest, number>();
  const count = (refs: readonly BlobRef[]): void => refs.forEach((r) => referenced.set(r.digest, (referenced.get(r.digest) ?? 0) + 1));
  for (const [k, r] of found.results) if (!removeResults.has(k)) count(r.blobs);
  for (const [k, p] of found.progress) if (!removeProgress.has(k)) count(p.blobs);

  const { removedBlobs, bytesFreed } = sweepBlobs(access, referenced, apply);
  if (apply) {
    // A run whose holder died (kill -9) never ends: its record goes here.
    for (const id of found.deadRuns) {
      access.table(TABLES.runs).remove(id);
      access.table(TABLES.runKeys).remove(id);
    }
    for (const k of removeResults) access.table(TABLES.results).remove(k);
    for (const k of removeProgress) access.table(TABLES.progress).remove(k);
    repairCounts(access, referenced);
  }
  return { removedResults: [...removeResults], removedProgress: [...removeProgress], removedBlobs, bytesFreed };
}

function readStored(access: StoreAccess, isLive: IsLive): Found {
  const results = new Map<NodeKey, StoredResult>();
  for (const k of access.table(TABLES.results).keys() as NodeKey[]) {
    const stored = access.get<StoredResult>(TABLES.results, k);
    if (stored !== undefined) results.set(k, stored);
  }
  const progress = new Map<NodeKey, StoredProgress>();
  for (const k of access.table(TABLES.progress).keys() as NodeKey[]) {
    const stored = access.get<StoredProgress>(TABLES.progress, k);
    if (stored !== undefined) progress.set(k, stored);
  }
  const liveClaims = (access.table(TABLES.claims).keys() as NodeKey[]).filter((k) => {
    const claim = access.get<ClaimRecord>(TABLES.claims, k);
    return claim !== undefined && isLive(claim);
  });
  const running = new Set<NodeKey>();
  const deadRuns: string[] = [];
  for (const id of access.table(TABLES.runs).keys()) {
    const run = access.get<RunRecord>(TABLES.runs, id);
    if (run !== undefined && isLive(run)) access.get<RunKeys>(TABLES.runKeys, id)?.keys.forEach((k) => running.add(k));
    else deadRuns.push(id);
  }
  return { results, progress, liveClaims, running, deadRuns };
}

function viewOf(found: Found, pins: PinRecord[]): SweepView {
  return {
    results: [...found.results.values()].map((r) => ({ key: r.key, createdAt: r.createdAt, inputs: r.provenance.inputs })),
    progress: [...found.progress.values()].map((p) => ({ key: p.key, savedAt: p.savedAt })),
    pins,
    liveClaims: found.liveClaims,
    running: [...found.running],
  };
}

/** Counts (and with `apply`, deletes) every stored blob or BlobInfo that nothing kept references. */
function sweepBlobs(access: StoreAccess, referenced: ReadonlyMap<Digest, number>, apply: boolean): { removedBlobs: number; bytesFreed: number } {
  const blobTable = access.table(TABLES.blobs);
  const infoTable = access.table(TABLES.blobInfo);
  const stored = new Set<string>([...blobTable.keys(), ...infoTable.keys()]);
  let removedBlobs = 0;
  let bytesFreed = 0;
  for (const digest of stored as Set<Digest>) {
    if (referenced.has(digest)) continue;
    const info = readBlobInfo(access, digest);
    const size = info?.bytes ?? blobTable.get(digest)?.length ?? 0;
    if (blobTable.has(digest)) {
      removedBlobs++;
      bytesFreed += size;
    }
    if (apply) dropBlob(access, digest);
  }
  return { removedBlobs, bytesFreed };
}

/** Repair reference counts (they only drift if a bug or a foreign tool wrote the store). */
function repairCounts(access: StoreAccess, referenced: ReadonlyMap<Digest, number>): void {
  const blobTable = access.table(TABLES.blobs);
  const infoTable = access.table(TABLES.blobInfo);
  for (const [digest, refs] of referenced) {
    const info = readBlobInfo(access, digest);
    const bytes = info?.bytes ?? blobTable.get(digest)?.length;
    if (bytes !== undefined && info?.refs !== refs) infoTable.put(digest, packRecord(digest, blobInfoOf(refs, bytes, info?.xxh64)));
  }
}
