/**
 * `sparsegraph cache verify`: checks every value of a store file (as `git fsck` or `restic check` do)
 * and, with `repair`, salvages every readable, verified result into a fresh store that replaces it.
 *
 * The file is read without LMDB (lmdb-check.ts), because a file with damaged pages can crash LMDB.
 * Values are told apart by what they are, not by the table that held them (which a damaged file may
 * not say): a blob is bytes whose sha256 is its key; every other value is a frame (record-codec.ts)
 * whose checksum and key must match, and whose shape says which record it is.
 *
 * Both need the store to themselves (no other handle open), as compaction does.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Digest, NodeKey } from '../base/brand.js';
import { blobDigest, BlobFormatError, readBlobHeader } from './blob-codec.js';
import { blobChecksum } from './checksum.js';
import { FILES, FORMAT_VERSION, type BlobInfo, type PinValue, type StoredLastRun, type StoredResult } from './layout.js';
import { readDataFile, refuseIrregularFiles, type RawEntry } from './lmdb-check.js';
import { openStore } from './lmdb-store.js';
import { checkRecord, unpackRecord, unpackValue } from './record-codec.js';
import { manifestDigests } from './tree-codec.js';
import { acquireCompactionLock, registerOpener } from './store-lock.js';

export interface VerifyProblem {
  /** The key of the damaged value, or undefined for damage to the file's structure. */
  readonly key?: string;
  readonly problem: string;
}

export interface VerifyReport {
  readonly location: string;
  /** Damage to the file's structure (what LMDB follows), or null: if any, the file was read page by page. */
  readonly structure: string | null;
  readonly results: number;
  /** Results whose record and every blob verify. */
  readonly soundResults: number;
  readonly blobs: number;
  readonly problems: readonly VerifyProblem[];
}

export interface RepairReport extends VerifyReport {
  /** Results copied into the fresh store (record and blobs verified). */
  readonly salvaged: number;
  readonly pins: number;
  readonly lastRuns: number;
  /** In-progress states are not carried over: their nodes start again. */
  readonly droppedProgress: number;
  /** Where the damaged file was kept. */
  readonly keptAs: string;
}

/** Raised when verify cannot start: another handle has the store open, or there is no store. */
export class VerifyError extends Error {
  override readonly name = 'VerifyError';
}

/** What the file holds, sorted into records by shape. */
interface Contents {
  readonly structure: string | undefined;
  readonly results: Map<NodeKey, StoredResult>;
  readonly progress: Map<NodeKey, { readonly blobs: StoredResult['blobs'] }>;
  /** Verified blobs: their size, and how to read them again (blobs are not all held in memory). */
  readonly blobs: Map<Digest, { readonly bytes: number; read(): Buffer }>;
  readonly infos: Map<Digest, BlobInfo>;
  readonly pins: Map<string, PinValue>;
  readonly lastRuns: Map<string, StoredLastRun>;
  readonly problems: VerifyProblem[];
}

export async function verifyStore(dir: string): Promise<VerifyReport> {
  return withStoreToItself(dir, () => {
    const contents = readContents(dir);
    return audit(dir, contents);
  });
}

/**
 * Verifies, then writes every sound result (with its blobs), the pins of those results and every sound
 * last run into a fresh store, and swaps it in; the old file stays beside it as data.mdb.damaged-TIME.
 */
export async function repairStore(dir: string): Promise<RepairReport> {
  return withStoreToItself(dir, async () => {
    const contents = readContents(dir);
    const report = audit(dir, contents);
    const sound = soundResults(contents);
    const tmp = path.join(dir, 'repair-tmp');
    fs.rmSync(tmp, { recursive: true, force: true });
    const fresh = await openStore(tmp);
    let pins = 0;
    let lastRuns = 0;
    try {
      for (const stored of sound) {
        const blobs = new Map(stored.blobs.map((ref) => [ref.digest, contents.blobs.get(ref.digest)!.read()]));
        await fresh.importEntry(
          { record: { key: stored.key, provenance: stored.provenance, sizeBytes: stored.sizeBytes, createdAt: stored.createdAt }, outputs: stored.outputs, blobs: stored.blobs },
          blobs,
        );
      }
      const kept = new Set(sound.map((r) => r.key));
      for (const pin of contents.pins.values()) {
        if (!kept.has(pin.key)) continue;
        await fresh.pin(pin.key, pin.label);
        pins++;
      }
      for (const run of contents.lastRuns.values()) {
        await fresh.setLastRun(run.scope, run.nodeId, run.run);
        lastRuns++;
      }
    } finally {
      await fresh.close();
    }
    const keptAs = `${FILES.data}.damaged-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    fs.renameSync(path.join(dir, FILES.data), path.join(dir, keptAs));
    fs.renameSync(path.join(tmp, FILES.data), path.join(dir, FILES.data));
    // The reader table belongs to the old file; LMDB rebuilds it.
    fs.rmSync(path.join(dir, FILES.lock), { force: true });
    fs.rmSync(tmp, { recursive: true, force: true });
    return { ...report, salvaged: sound.length, pins, lastRuns, droppedProgress: contents.progress.size, keptAs: path.join(dir, keptAs) };
  });
}

async function withStoreToItself<T>(dir: string, fn: () => T | Promise<T>): Promise<T> {
  refuseIrregularFiles(dir);
  if (!fs.existsSync(path.join(dir, FILES.data))) throw new VerifyError(`there is no cache at ${dir}`);
  const opener = await registerOpener(dir, { timeoutMs: 10_000 });
  try {
    const lock = acquireCompactionLock(dir, opener.id);
    if (!lock.ok) throw new VerifyError(`cannot verify the cache at ${dir} now: ${lock.reason}`);
    try {
      return await fn();
    } finally {
      lock.release();
    }
  } finally {
    opener.unregister();
  }
}

function readContents(dir: string): Contents {
  const { problem, entries } = readDataFile(path.join(dir, FILES.data));
  const contents: Contents = {
    structure: problem,
    results: new Map(),
    progress: new Map(),
    blobs: new Map(),
    infos: new Map(),
    pins: new Map(),
    lastRuns: new Map(),
    problems: problem === undefined ? [] : [{ problem: `the file's structure is damaged (${problem}); it was read page by page` }],
  };
  const legacy = entries.some((e) => e.key.toString('utf8') === 'format' && legacyVersion(e.value()) === 1);
  for (const entry of entries) sort(entry, contents, legacy);
  return contents;
}

/** Files one value into `contents` by what it is; records a value that is neither blob nor sound frame. */
function sort(entry: RawEntry, contents: Contents, legacy: boolean): void {
  // Without checksums (version 1), only what sound pages hold is believed.
  if (legacy && !entry.sound) return;
  const key = entry.key.toString('utf8');
  const bytes = entry.value();
  if (/^[0-9a-f]{64}$/.test(key) && checkRecord(key, bytes) !== undefined && !(legacy && looksPacked(bytes))) {
    if (blobDigest(bytes) === key) contents.blobs.set(key as Digest, { bytes: bytes.length, read: entry.value });
    else if (entry.sound) contents.problems.push({ key, problem: 'blob (or its record) is damaged: it matches neither its sha256 nor a record checksum' });
    return;
  }
  let value: unknown;
  const read = unpackRecord<unknown>(key, bytes);
  if (read.ok) value = read.value;
  else if (legacy) {
    try {
      value = unpackValue<unknown>(bytes);
    } catch {
      if (entry.sound) contents.problems.push({ key, problem: 'record does not decode' });
      return;
    }
  } else {
    if (entry.sound) contents.problems.push({ key, problem: `record is damaged (${read.detail})` });
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  const v = value as Record<string, unknown>;
  if ('provenance' in v && 'outputs' in v) keepLatest(contents.results, key as NodeKey, v as unknown as StoredResult, (r) => r.createdAt);
  else if ('savedAt' in v && 'state' in v) contents.progress.set(key as NodeKey, v as unknown as { blobs: StoredResult['blobs'] });
  else if ('refs' in v && 'bytes' in v) contents.infos.set(key as Digest, v as unknown as BlobInfo);
  else if ('label' in v && 'pinnedAt' in v) keepLatest(contents.pins, key, v as unknown as PinValue, (p) => p.pinnedAt);
  else if ('scope' in v && 'nodeId' in v && 'run' in v) contents.lastRuns.set(key, v as unknown as StoredLastRun);
  // Claims and the format record are not carried over.
}

function keepLatest<K, V>(map: Map<K, V>, key: K, value: V, at: (v: V) => string): void {
  const current = map.get(key);
  if (current === undefined || at(value) > at(current)) map.set(key, value);
}

/** The results whose every blob is present and verified, and whose outputs reference only those. */
function soundResults(contents: Contents): StoredResult[] {
  return [...contents.results.values()].filter((r) => resultProblem(r, contents) === undefined);
}

function resultProblem(result: StoredResult, contents: Contents): string | undefined {
  const listed = new Set(result.blobs.map((b) => b.digest));
  for (const digest of manifestDigests(result.outputs)) if (!listed.has(digest)) return `its outputs reference blob ${digest.slice(0, 12)}, which it does not list`;
  for (const ref of result.blobs) {
    const blob = contents.blobs.get(ref.digest);
    if (blob === undefined) return `blob ${ref.digest.slice(0, 12)} is missing or damaged`;
    if (blob.bytes !== ref.bytes) return `blob ${ref.digest.slice(0, 12)} has ${blob.bytes} bytes, the record says ${ref.bytes}`;
    try {
      readBlobHeader(blob.read());
    } catch (error: unknown) {
      if (error instanceof BlobFormatError) return `blob ${ref.digest.slice(0, 12)}: ${error.message}`;
      throw error;
    }
  }
  return undefined;
}

function audit(dir: string, contents: Contents): VerifyReport {
  const problems = [...contents.problems];
  let sound = 0;
  for (const result of contents.results.values()) {
    const problem = resultProblem(result, contents);
    if (problem === undefined) sound++;
    else problems.push({ key: result.key, problem: `result: ${problem}` });
  }
  // Reference counts and checksums, as the store keeps them (blob-refs.ts).
  const refs = new Map<Digest, number>();
  for (const holder of [...contents.results.values(), ...contents.progress.values()]) {
    for (const ref of holder.blobs) refs.set(ref.digest, (refs.get(ref.digest) ?? 0) + 1);
  }
  for (const [digest, blob] of contents.blobs) {
    const info = contents.infos.get(digest);
    const count = refs.get(digest) ?? 0;
    if (count === 0) problems.push({ key: digest, problem: 'blob is referenced by no result (gc removes it)' });
    if (info === undefined) problems.push({ key: digest, problem: 'blob has no readable metadata record (gc rebuilds it)' });
    else if (info.refs !== count) problems.push({ key: digest, problem: `blob metadata counts ${info.refs} reference(s), there are ${count} (gc repairs it)` });
    else if (info.xxh64 !== undefined && info.xxh64 !== blobChecksum(blob.read())) problems.push({ key: digest, problem: 'blob metadata holds a wrong checksum' });
  }
  for (const digest of contents.infos.keys()) if (!contents.blobs.has(digest)) problems.push({ key: digest, problem: 'blob metadata without its blob' });
  return {
    location: dir,
    structure: contents.structure ?? null,
    results: contents.results.size,
    soundResults: sound,
    blobs: contents.blobs.size,
    problems,
  };
}

function legacyVersion(bytes: Buffer): number | undefined {
  try {
    const value = unpackValue<{ version?: unknown }>(bytes);
    return typeof value?.version === 'number' && value.version < FORMAT_VERSION ? value.version : undefined;
  } catch {
    return undefined;
  }
}

/** In a version 1 store, records under digest-like keys (results, BlobInfo) are bare MessagePack maps. */
function looksPacked(bytes: Buffer): boolean {
  try {
    const value = unpackValue<unknown>(bytes);
    return typeof value === 'object' && value !== null;
  } catch {
    return false;
  }
}
