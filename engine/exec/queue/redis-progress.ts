/**
 * Resumable progress of a task run by a queue worker, kept in Redis instead of the worker's own cache:
 * when a worker is killed mid-task, the worker BullMQ gives the job to next resumes from the state the
 * first one saved. The state is the store's own encoding (cache/tree-codec.ts: tensors as blobs), each
 * blob checked against its sha256 on load; a damaged or unreadable state counts as none.
 */
import { Redis } from 'ioredis';
import { pack, unpack } from 'msgpackr';
import type { Digest, NodeKey } from '../../../base/brand.js';
import type { HostTensor } from '../../../base/values.js';
import { blobDigest, decodeTensor } from '../../../cache/blob-codec.js';
import type { ResultStore } from '../../../cache/store.js';
import { joinTree, splitTree } from '../../../cache/tree-codec.js';
import { BUNDLE_TTL_S, redisKeys, redisOptions } from './protocol.js';

interface PackedProgress {
  readonly manifest: Record<string, unknown>;
  readonly blobs: readonly (readonly [string, Uint8Array])[];
}

export class RedisProgress {
  private readonly redis: Redis;

  constructor(url: string) {
    this.redis = new Redis(redisOptions(url));
    // Redis restarting: ioredis reconnects; a save lost meanwhile only costs a resumed run some steps.
    this.redis.on('error', () => {});
  }

  async save(key: NodeKey, state: Record<string, unknown>): Promise<void> {
    const { manifest, blobs } = splitTree(state);
    const packed: PackedProgress = { manifest, blobs: [...blobs] };
    await this.redis.set(redisKeys.progress(key), pack(packed), 'EX', BUNDLE_TTL_S);
  }

  async load(key: NodeKey): Promise<Record<string, unknown> | undefined> {
    const bytes = await this.redis.getBuffer(redisKeys.progress(key));
    if (bytes === null) return undefined;
    try {
      const packed = unpack(bytes) as PackedProgress;
      const tensors = new Map<Digest, HostTensor>();
      for (const [digest, blob] of packed.blobs) {
        if (blobDigest(blob) !== digest) return undefined;
        tensors.set(digest as Digest, decodeTensor(blob));
      }
      return joinTree(packed.manifest, tensors);
    } catch {
      return undefined;
    }
  }

  async clear(key: NodeKey): Promise<void> {
    await this.redis.del(redisKeys.progress(key));
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => undefined);
  }
}

/** `store` with its progress methods served by Redis; every other method is the store's own. */
export function withRedisProgress<S extends ResultStore>(store: S, progress: RedisProgress): S {
  const overrides: Partial<ResultStore> = {
    saveProgress: (key, state) => progress.save(key, state),
    loadProgress: (key) => progress.load(key),
    clearProgress: (key) => progress.clear(key),
  };
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop in overrides) return overrides[prop as keyof ResultStore];
      const value: unknown = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
