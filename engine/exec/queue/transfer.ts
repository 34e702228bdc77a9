/**
 * Results shipped through Redis as bundles (cache/bundle.ts: a header with its sha256, every blob's
 * sha256 checked on import, each entry stored atomically). A receiver checks that a bundle holds exactly
 * the keys it expects before importing anything, so a worker can deliver only the result it was asked for.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Redis } from 'ioredis';
import type { NodeKey } from '../../../base/brand.js';
import { exportBundle, importBundle, readBundleHeader } from '../../../cache/bundle.js';
import type { CacheStore } from '../../../cache/store.js';

function scratchFile(): { file: string; dispose: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sparsegraph-transfer-'));
  return { file: path.join(dir, 'bundle'), dispose: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Stores the results `keys` (without what they were computed from) under `redisKey`; returns its bytes. */
export async function sendResults(redis: Redis, store: CacheStore, keys: readonly NodeKey[], redisKey: string, ttlSeconds: number): Promise<number> {
  const scratch = scratchFile();
  try {
    const report = await exportBundle(store, keys, scratch.file, { closure: false });
    if (report.missing.length > 0) throw new Error(`cannot ship ${report.missing.map((k) => k.slice(0, 12)).join(', ')}: not in the cache`);
    const bytes = fs.readFileSync(scratch.file);
    await redis.set(redisKey, bytes, 'EX', ttlSeconds);
    return bytes.length;
  } finally {
    scratch.dispose();
  }
}

/**
 * Imports the bundle under `redisKey` into `store` if it holds exactly the results `expected`; throws
 * with the reason otherwise (missing, damaged, or carrying other keys), having stored nothing.
 */
export async function receiveResults(redis: Redis, store: CacheStore, redisKey: string, expected: readonly NodeKey[]): Promise<void> {
  const bytes = await redis.getBuffer(redisKey);
  if (bytes === null) throw new Error(`the bundle ${redisKey} is not in Redis (expired, or Redis lost it)`);
  const scratch = scratchFile();
  try {
    fs.writeFileSync(scratch.file, bytes);
    const header = await readBundleHeader(scratch.file);
    const got = header.entries.map((e) => e.record.key).sort();
    const want = [...expected].sort();
    if (got.length !== want.length || got.some((k, i) => k !== want[i])) {
      throw new Error(`the bundle ${redisKey} holds ${got.map((k) => k.slice(0, 12)).join(', ') || 'nothing'}, expected ${want.map((k) => k.slice(0, 12)).join(', ')}`);
    }
    await importBundle(store, scratch.file);
  } finally {
    scratch.dispose();
  }
}
