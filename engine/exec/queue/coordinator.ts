/**
 * The coordinator's runner (`run FILE --queue URL`): every task becomes a BullMQ job on Redis, run by
 * whichever `sparsegraph worker` takes it. This process executes nothing: it ships each task's input
 * results as bundles (once per key), waits for the job, checks and imports the returned bundle into
 * its own cache, and forwards progress. The LMDB cache stays on this machine.
 *
 * A job's id is its task's key, so a coordinator restarted mid-run finds the job it had queued (waiting,
 * running, or finished with its bundle still in Redis) instead of queueing the work again; BullMQ's
 * stalled-job check hands the job of a killed worker to another one.
 */
import { Job, Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import type { NodeKey } from '../../../base/brand.js';
import { inputKeys } from '../../../cache/reachability.js';
import type { CacheStore } from '../../../cache/store.js';
import { thrownMessage } from '../../../base/thrown.js';
import { inputKeyMap } from '../run-task.js';
import type { Outcome, RunHooks, Runner, Task } from '../runner.js';
import { BUNDLE_TTL_S, PROTOCOL_VERSION, QUEUE_NAME, redisKeys, redisOptions, type JobData, type JobResult } from './protocol.js';
import { receiveResults, sendResults } from './transfer.js';


/** A command connection whose errors (Redis restarting) are retried by ioredis, not thrown at the process. */
export function quietRedis(connection: ReturnType<typeof redisOptions>): Redis {
  const redis = new Redis(connection);
  redis.on('error', () => {});
  return redis;
}

/** How often an awaited job is checked for still being in Redis. */
const LOST_CHECK_MS = 3000;

/** How long the coordinator waits for Redis to answer when it starts. */
const CONNECT_TIMEOUT_MS = 10_000;

export class QueueRunner implements Runner {
  private readonly shipped = new Set<NodeKey>();
  private readonly listening = new Map<string, RunHooks>();
  private closed = false;

  private constructor(
    readonly slots: number,
    private readonly store: CacheStore,
    private readonly redis: Redis,
    private readonly queue: Queue,
    private readonly events: QueueEvents,
  ) {
    // Every awaited job listens on these emitters (waitUntilFinished): hundreds at once is expected.
    queue.setMaxListeners(0);
    events.setMaxListeners(0);
    events.on('progress', ({ jobId, data }) => {
      const hooks = this.listening.get(jobId);
      if (hooks && typeof data === 'object' && data !== null) hooks.onProgress(data as never);
    });
  }

  /** Connects to Redis and listens for job events before any job is queued (none is missed). */
  static async open(url: string, store: CacheStore, slots: number): Promise<QueueRunner> {
    const connection = redisOptions(url);
    const redis = quietRedis(connection);
    // ioredis retries a dead server for ever (BullMQ needs it to, mid-run); at the start, say so instead,
    // before BullMQ opens connections of its own (which cannot be closed before they have connected).
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${CONNECT_TIMEOUT_MS / 1000} s`)), CONNECT_TIMEOUT_MS)));
    try {
      await Promise.race([redis.ping(), late]);
    } catch (error: unknown) {
      redis.disconnect();
      throw error;
    } finally {
      clearTimeout(timer);
    }
    const queue = new Queue(QUEUE_NAME, { connection });
    const events = new QueueEvents(QUEUE_NAME, { connection });
    // Connection errors while Redis restarts are retried by ioredis; what they cost is handled in run().
    queue.on('error', () => {});
    events.on('error', () => {});
    await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);
    return new QueueRunner(slots, store, redis, queue, events);
  }

  async run(task: Task, hooks: RunHooks): Promise<Outcome> {
    if (hooks.signal.aborted) return { status: 'aborted' };
    try {
      let job = await this.jobFor(task);
      this.listening.set(job.id!, hooks);
      const aborted = new Promise<'aborted'>((resolve) => hooks.signal.addEventListener('abort', () => resolve('aborted'), { once: true }));
      try {
        for (;;) {
          const watch = { done: false };
          const result = await Promise.race([job.waitUntilFinished(this.events) as Promise<JobResult>, aborted, this.lost(job, watch)]).finally(() => (watch.done = true));
          if (result === 'aborted') {
            await job.remove().catch(() => undefined); // a running job cannot be removed; it finishes unheard
            return { status: 'aborted' };
          }
          // Redis lost the job (restarted without persistence, or flushed): queue it again, inputs too.
          if (result === 'lost') {
            job = await this.jobFor(task);
            continue;
          }
          return await this.collect(task, result);
        }
      } finally {
        this.listening.delete(task.key);
      }
    } catch (error: unknown) {
      if (hooks.signal.aborted) return { status: 'aborted' };
      return { status: 'failed', error: thrownMessage(error) };
    }
  }

  /**
   * Resolves 'lost' once the job is no longer in Redis, checked every LOST_CHECK_MS until `watch.done`
   * (then it never resolves).
   */
  private async lost(job: Job, watch: { done: boolean }): Promise<'lost'> {
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, LOST_CHECK_MS).unref());
      if (this.closed || watch.done) return new Promise<never>(() => {});
      const found = await Job.fromId(this.queue, job.id!).catch(() => null);
      if (found === undefined) return 'lost';
    }
  }

  /** The task's job: the one already queued under its key (a restarted coordinator), or a new one. */
  private async jobFor(task: Task): Promise<Job> {
    const existing = await Job.fromId(this.queue, task.key);
    if (existing) {
      const state = await existing.getState();
      if (state === 'completed' && existing.returnvalue && (await this.redis.exists((existing.returnvalue as JobResult).bundle))) return existing;
      if (state === 'waiting' || state === 'active' || state === 'delayed' || state === 'prioritized' || state === 'waiting-children') return existing;
      await existing.remove();
    }
    const inputs: Record<string, string> = {};
    for (const key of inputKeys(inputKeyMap(task.inputs))) inputs[key] = await this.ship(key);
    const data: JobData = { protocol: PROTOCOL_VERSION, task, inputs };
    return this.queue.add(task.kind, data, { jobId: task.key, removeOnComplete: { age: BUNDLE_TTL_S }, removeOnFail: { age: BUNDLE_TTL_S } });
  }

  /** An input's bundle in Redis, shipped once per key and run. */
  private async ship(key: NodeKey): Promise<string> {
    const at = redisKeys.input(key);
    // Shipped before and still there (a restarted Redis has lost it): refresh its lifetime only.
    if (this.shipped.has(key) && (await this.redis.expire(at, BUNDLE_TTL_S)) === 1) return at;
    await sendResults(this.redis, this.store, [key], at, BUNDLE_TTL_S);
    this.shipped.add(key);
    return at;
  }

  /** Imports the worker's bundle: exactly the task's key, every blob's sha256 checked. */
  private async collect(task: Task, result: JobResult): Promise<Outcome> {
    if (typeof result?.bundle !== 'string' || !result.bundle.startsWith(redisKeys.output(task.key, ''))) {
      return { status: 'failed', error: `the worker returned no result bundle for ${task.id}` };
    }
    await receiveResults(this.redis, this.store, result.bundle, [task.key]);
    await this.redis.del(result.bundle);
    return { status: 'done' };
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.shipped.size > 0) await this.redis.del(...[...this.shipped].map(redisKeys.input)).catch(() => undefined);
    await Promise.allSettled([this.events.close(), this.queue.close()]);
    await this.redis.quit().catch(() => undefined);
  }
}
