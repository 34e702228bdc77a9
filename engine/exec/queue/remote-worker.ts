/**
 * `sparsegraph worker --queue URL`: takes tasks from the BullMQ queue, runs each in a worker thread of
 * a local pool (so this process stays responsive and keeps renewing the job's lock while a node
 * computes), and returns the result as a bundle. Inputs are fetched into a local cache on this
 * machine's disk the first time a task needs them (a read-through cache: the same input is never
 * fetched twice); resumable progress lives in Redis, so a task whose worker died resumes elsewhere.
 *
 * A job only names a registered kind: one this worker does not have, of another version, with
 * parameters its schema refuses, or of another protocol, fails at once without running anything.
 */
import { hostname } from 'node:os';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { NodeKey } from '../../../base/brand.js';
import type { ProgressEvent } from '../../../base/values.js';
import { openStore, type LmdbStore } from '../../../cache/lmdb-store.js';
import { checkAgainst } from '../../lang/schema-check.js';
import type { KindRegistry } from '../../registry.js';
import { DeviceSlots } from '../device-slots.js';
import { WorkerPoolRunner } from '../worker-pool.js';
import type { WorkerSetup } from '../worker-protocol.js';
import { BUNDLE_TTL_S, parseJobData, QUEUE_NAME, redisKeys, redisOptions, type JobResult } from './protocol.js';
import { quietRedis } from './coordinator.js';
import { receiveResults, sendResults } from './transfer.js';

export interface RemoteWorkerOptions {
  readonly url: string;
  /** This machine's read-through cache (LMDB on a local disk). */
  readonly cacheDir: string;
  /** Tasks at once. */
  readonly jobs: number;
  /** Accelerator slots: tasks of tensor kinds hold one each while they run (0: no limit). */
  readonly gpus?: number;
  /** The kinds this worker runs (the same the local pool's threads compose). */
  readonly registry: KindRegistry;
  readonly composer: string;
  readonly kindModules: readonly string[];
  readonly backend?: string;
  /** One line per task started and ended, and on shutdown. */
  readonly log: (line: string) => void;
  /** BullMQ's job lock: a worker silent this long is presumed dead and its job given to another (default 30 s). */
  readonly lockMs?: number;
}

export interface RemoteWorker {
  /** Stops taking jobs, lets the running ones finish, and closes everything. */
  close(): Promise<void>;
  /** Resolves once the worker is connected and waiting for jobs. */
  readonly ready: Promise<void>;
}

/** Progress is forwarded at most this often per task: BullMQ publishes each update to every listener. */
const PROGRESS_EVERY_MS = 250;

export async function startRemoteWorker(opts: RemoteWorkerOptions): Promise<RemoteWorker> {
  const connection = redisOptions(opts.url);
  const store = await openStore(opts.cacheDir);
  const redis = quietRedis(connection);
  const setup: WorkerSetup = { storeDir: opts.cacheDir, composer: opts.composer, kindModules: opts.kindModules, progressRedis: opts.url, ...(opts.backend ? { backend: opts.backend } : {}) };
  const pool = new WorkerPoolRunner(opts.jobs, setup);
  const me = `${hostname()}:${process.pid}`;
  const slots = new DeviceSlots(opts.gpus ?? 0);
  const worker = new Worker(QUEUE_NAME, (job) => processJob(job, { ...opts, store, redis, pool, me, slots }), {
    connection,
    concurrency: opts.jobs,
    autorun: false,
    ...(opts.lockMs ? { lockDuration: opts.lockMs, stalledInterval: opts.lockMs } : {}),
  });
  worker.on('error', (error) => opts.log(`worker: ${error.message}`));
  void worker.run();
  return {
    ready: worker.waitUntilReady().then(() => undefined),
    async close() {
      await worker.close();
      await pool.close();
      await redis.quit().catch(() => undefined);
      await store.close();
    },
  };
}

interface Context extends RemoteWorkerOptions {
  readonly store: LmdbStore;
  readonly redis: Redis;
  readonly pool: WorkerPoolRunner;
  readonly me: string;
  readonly slots: DeviceSlots;
}

async function processJob(job: Job, ctx: Context): Promise<JobResult> {
  const parsed = parseJobData(job.data);
  if (!parsed.ok) throw new UnrecoverableError(`refused: ${parsed.reason}`);
  const { task, inputs } = parsed.job;
  const kind = ctx.registry.get(task.kind);
  if (!kind) throw new UnrecoverableError(`refused ${task.id}: this worker has no node kind '${task.kind}'`);
  if (kind.version !== task.version) throw new UnrecoverableError(`refused ${task.id}: node kind '${task.kind}' is version ${kind.version} on this worker, the job wants version ${task.version}`);
  const problems = checkAgainst(kind.params, structuredClone(task.params), [], 'parameter');
  if (problems.length > 0) throw new UnrecoverableError(`refused ${task.id}: ${problems.map((p) => p.message).join('; ')}`);
  const slot = kind.tensorBackend ? await ctx.slots.acquire() : undefined;
  const started = Date.now();
  ctx.log(`start ${task.id} (${task.kind}, ${task.key.slice(0, 12)})`);
  try {
    for (const [key, at] of Object.entries(inputs)) if (!ctx.store.has(key as NodeKey)) await receiveResults(ctx.redis, ctx.store, at, [key as NodeKey]);
    let last = 0;
    // Computed here before (its bundle lost on the way back): send it again, do not recompute it.
    const outcome = ctx.store.has(task.key) ? ({ status: 'done' } as const) : await ctx.pool.run(task, {
      signal: new AbortController().signal,
      onProgress: (event: ProgressEvent) => {
        const now = Date.now();
        if (now - last < PROGRESS_EVERY_MS) return;
        last = now;
        void job.updateProgress(event as object).catch(() => undefined);
      },
    });
    if (outcome.status !== 'done') {
      const why = outcome.status === 'aborted' ? 'aborted' : outcome.error;
      // A kind's failure is its result: running it again elsewhere would fail the same way.
      throw outcome.status === 'failed' ? new UnrecoverableError(why) : new Error(why);
    }
    // The result was written by a worker thread; this thread's LMDB read snapshot is renewed on a 0 ms
    // timer scheduled by its last read (lmdb-js), so after one such timer the thread's write is visible.
    await new Promise((resolve) => setTimeout(resolve, 0));
    const bundle = redisKeys.output(task.key, String(job.id));
    await sendResults(ctx.redis, ctx.store, [task.key], bundle, BUNDLE_TTL_S);
    ctx.log(`done ${task.id} in ${((Date.now() - started) / 1000).toFixed(1)}s`);
    return { bundle, worker: ctx.me };
  } catch (error: unknown) {
    ctx.log(`failed ${task.id}: ${(error as Error).message}`);
    throw error;
  } finally {
    if (slot !== undefined) ctx.slots.release(slot);
  }
}
