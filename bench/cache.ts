/**
 * Checkpoint throughput of the LMDB cache: writing and reading a 10 M-parameter checkpoint (four
 * float32 tensors) at 0% and 90% sparsity, against a plain memcpy of the same dense bytes, plus the
 * stored size. Throughputs are in MB/s (10^6 bytes) of the *dense* checkpoint (40 MB), so figures
 * for dense and sparse compare directly. Targets: read within 2x of memcpy; 90% sparse stored in at
 * most 15% of the dense size.
 *
 * Writes are durable (put resolves after fsync) unless named `without_fsync`. Reads are timed after a
 * warm-up read, interleaved with the memcpy they are compared with, each after a garbage collection.
 * Reads: `read_verified` is a default `load` (each blob checked against its recorded xxh64 checksum),
 * `read_sha256_verified` a `load` with `verify: 'digest'` (each blob's sha256 checked), and
 * `read_unverified` one with `verify: 'none'`. `decode_only`, `xxh64_of_stored` and `sha256_of_stored`
 * time the parts alone, over the encoded blobs in memory.
 *
 * Run: `sparsegraph bench --only cache`, or `node dist/bench/cache.js [DIR]`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { NodeKey } from '../base/brand.js';
import type { HostTensor } from '../base/values.js';
import { blobDigest, decodeTensor, encodeTensor } from '../cache/blob-codec.js';
import { blobChecksum } from '../cache/checksum.js';
import { openStore } from '../cache/lmdb-store.js';
import type { Provenance } from '../cache/store.js';

/** 4,000,000 + 4,000,000 + 1,500,000 + 500,000 = 10,000,000 parameters. */
const SHAPES: Readonly<Record<string, readonly number[]>> = {
  'fc1.weight': [1000, 4000],
  'fc2.weight': [4000, 1000],
  'fc3.weight': [1000, 1500],
  'fc4.weight': [500, 1000],
};

export interface BenchCacheOptions {
  /** Timed repetitions per figure (the median is reported). Default 7. */
  readonly repetitions?: number;
}

export async function benchCache(dir: string, options: BenchCacheOptions = {}): Promise<Record<string, number>> {
  const reps = options.repetitions ?? 7;
  const store = await openStore(join(dir, 'durable'));
  // Puts that do not wait for fsync: what the disk's flush costs on top.
  const unsynced = await openStore(join(dir, 'unsynced'), { durable: false });
  const figures: Record<string, number> = {};
  try {
    for (const sparsity of [0, 0.9]) {
      const name = `cache.sparse${Math.round(sparsity * 100)}`;
      const tensors = checkpoint(sparsity);
      const denseBytes = Object.values(tensors).reduce((s, t) => s + t.data.byteLength, 0);
      const mbps = (ms: number): number => denseBytes / 1e6 / (ms / 1000);

      // Every write stores new content (one element changed per tensor): otherwise deduplication
      // would turn the second write into a no-op.
      const writes: number[] = [];
      const unsyncedWrites: number[] = [];
      const keys: NodeKey[] = [];
      for (let i = 0; i < reps; i++) {
        for (const t of Object.values(tensors)) t.data[i] = i + 1;
        const key = `${name}-${i}`.padEnd(64, '0') as NodeKey;
        const outputs = { checkpoint: { tensors, masks: {}, step: i } };
        const started = performance.now();
        await store.put(key, outputs, provenance(name));
        writes.push(performance.now() - started);
        keys.push(key);
        const unsyncedStarted = performance.now();
        await unsynced.put(key, outputs, provenance(name));
        unsyncedWrites.push(performance.now() - unsyncedStarted);
      }
      const key = keys[keys.length - 1]!;
      const sources = Object.values(tensors);
      const encoded = sources.map((t) => encodeTensor(t));
      // The contenders run interleaved, each after a full collection, so that they meet the same
      // allocator state: fresh memory costs page faults, and that cost is part of a real load.
      const contenders = {
        memcpy: async () => {
          for (const t of sources) new Float32Array(t.data.length).set(t.data);
        },
        readVerified: async () => void (await store.load(key)),
        readSha256: async () => void (await store.load(key, { verify: 'digest' })),
        readUnverified: async () => void (await store.load(key, { verify: 'none' })),
        decode: async () => {
          for (const bytes of encoded) decodeTensor(bytes, { copy: true });
        },
        sha: async () => {
          for (const bytes of encoded) blobDigest(bytes);
        },
        xxh64: async () => {
          for (const bytes of encoded) blobChecksum(bytes);
        },
      };
      const times = Object.fromEntries(Object.keys(contenders).map((k) => [k, [] as number[]])) as Record<keyof typeof contenders, number[]>;
      for (let i = 0; i <= reps; i++) {
        for (const [k, run] of Object.entries(contenders) as [keyof typeof contenders, () => Promise<void>][]) {
          collect();
          const started = performance.now();
          await run();
          // The first round warms up (maps the store's pages, grows lmdb's read buffer).
          if (i > 0) times[k].push(performance.now() - started);
        }
      }
      const memcpy = median(times.memcpy);
      const readVerified = median(times.readVerified);
      const readSha256 = median(times.readSha256);
      const readUnverified = median(times.readUnverified);
      const decode = median(times.decode);
      const sha = median(times.sha);
      const xxh64 = median(times.xxh64);
      const stored = store.record(key)!.sizeBytes;

      figures[`${name}.write_MBps`] = mbps(median(writes));
      figures[`${name}.write_without_fsync_MBps`] = mbps(median(unsyncedWrites));
      figures[`${name}.read_verified_MBps`] = mbps(readVerified);
      figures[`${name}.read_sha256_verified_MBps`] = mbps(readSha256);
      figures[`${name}.read_unverified_MBps`] = mbps(readUnverified);
      figures[`${name}.memcpy_MBps`] = mbps(memcpy);
      figures[`${name}.read_verified_vs_memcpy_x`] = readVerified / memcpy;
      figures[`${name}.read_sha256_verified_vs_memcpy_x`] = readSha256 / memcpy;
      figures[`${name}.read_unverified_vs_memcpy_x`] = readUnverified / memcpy;
      figures[`${name}.decode_only_MBps`] = mbps(decode);
      figures[`${name}.xxh64_of_stored_MBps`] = mbps(xxh64);
      figures[`${name}.sha256_of_stored_MBps`] = mbps(sha);
      figures[`${name}.stored_bytes`] = stored;
      figures[`${name}.stored_vs_dense`] = stored / denseBytes;
    }
  } finally {
    await store.close();
    await unsynced.close();
  }
  return figures;
}

/** A full garbage collection where the runtime allows one (bench timings only). */
const collect: () => void = (() => {
  v8.setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as unknown;
  return typeof gc === 'function' ? (gc as () => void) : () => undefined;
})();

function checkpoint(sparsity: number): Record<string, HostTensor<'float32'>> {
  let seed = 12345;
  const random = (): number => {
    // xorshift32: fast enough to fill 10 M values without dominating the bench's run time.
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 4294967296;
  };
  const out: Record<string, HostTensor<'float32'>> = {};
  for (const [name, shape] of Object.entries(SHAPES)) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = random() < sparsity ? 0 : random() * 0.2 - 0.1;
    out[name] = { dtype: 'float32', shape, data };
  }
  return out;
}

function provenance(nodeId: string): Provenance {
  const now = new Date().toISOString();
  return { nodeId, kind: 'bench', version: 1, params: {}, inputs: {}, libraries: {}, startedAt: now, endedAt: now, durationMs: 0, host: 'bench' };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const dir = process.argv[2] ?? mkdtempSync(join(tmpdir(), 'sparsegraph-bench-cache-'));
  benchCache(dir)
    .then((figures) => {
      for (const [k, v] of Object.entries(figures)) process.stdout.write(`${k.padEnd(44)} ${v < 10 ? v.toFixed(3) : v.toFixed(0)}\n`);
    })
    .finally(() => {
      if (process.argv[2] === undefined) rmSync(dir, { recursive: true, force: true });
    });
}
