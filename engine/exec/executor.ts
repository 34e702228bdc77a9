/**
 * Runs a planned graph: instances in dependency order on a p-queue, the ready one with the longest
 * estimated path of work after it first (critical-path.ts), each key computed at most once
 * (even when several instances share it, or another process is computing it), failures isolated to
 * their downstream cone, Ctrl-C stopping cleanly with every finished result kept.
 */
import { resolve } from 'node:path';
import PQueue from 'p-queue';
import { inputKeys } from '../../cache/reachability.js';
import type { ResultStore } from '../../cache/store.js';
import type { NodeKey } from '../../base/brand.js';
import type { KeyedInstance, ValidGraph } from '../lang/analyze.js';
import { upstreamIds } from '../lang/expand.js';
import type { ProgressEvent } from '../../base/values.js';
import { lastRunOf, type PlanEntry } from '../plan.js';
import { startPriorities } from './critical-path.js';
import { DeviceSlots } from './device-slots.js';
import { inputKeyMap } from './run-task.js';
import type { Outcome, RunHooks, Runner, Task } from './runner.js';

export type ExecutionEvent =
  | { readonly type: 'start'; readonly id: string; readonly key: NodeKey }
  | { readonly type: 'progress'; readonly id: string; readonly event: ProgressEvent }
  | { readonly type: 'finish'; readonly id: string; readonly status: FinishStatus; readonly error?: string; readonly ms: number };

export type FinishStatus = 'executed' | 'cached' | 'failed' | 'skipped' | 'aborted';

export interface ExecutionReport {
  readonly executed: string[];
  readonly cached: string[];
  readonly failed: { id: string; error: string }[];
  readonly skipped: string[];
  /** Cached inputs found damaged or missing while a consumer ran, and computed again. */
  readonly recomputed: string[];
  readonly aborted: boolean;
}

export interface ExecuteOptions {
  readonly store: ResultStore;
  readonly runner: Runner;
  readonly signal?: AbortSignal;
  readonly onEvent?: (event: ExecutionEvent) => void;
  /** Accelerator slots; nodes computing with tensors hold one while they run (0: no limit). */
  readonly gpus?: number;
  readonly gitCommit?: string;
}

type Result = { ok: true } | { ok: false; error: string };

export async function execute(graph: ValidGraph, plan: readonly PlanEntry[], options: ExecuteOptions): Promise<ExecutionReport> {
  const execution = new Execution(graph, plan, options);
  const instances = execution.plannedInstances();
  // Until every node has ended and recorded its last run, gc (in any process) keeps what this run reads
  // and writes: its fresh results are named by no kept pipeline yet.
  const endRun = await options.store.beginRun(instances.flatMap((i) => [i.key, ...inputKeys(inputKeyMap(i.components.inputs))]));
  try {
    // On abort, queued tasks are not cleared (p-queue would leave their promises pending forever): they
    // start, see the signal and return at once.
    await Promise.all([...execution.byPriority(instances).map((i) => execution.visit(i)), execution.startWhenQueued()]);
    await execution.idle();
  } finally {
    endRun();
  }
  return execution.finalReport();
}

/**
 * One call of `execute`: the queue and accelerator slots its instances share, the work per key and per
 * instance (each computed once), and the report they add to.
 */
class Execution {
  private readonly store: ResultStore;
  private readonly runner: Runner;
  private readonly signal: AbortSignal;
  private readonly emit: (event: ExecutionEvent) => void;
  private readonly queue: PQueue;
  private readonly devices: DeviceSlots;
  private readonly report: ExecutionReport = { executed: [], cached: [], failed: [], skipped: [], recomputed: [], aborted: false };
  private readonly planned: Map<string, PlanEntry>;
  /** Planned instances by key: several when identical nodes share one (two imports of a piece). */
  private readonly byKey = new Map<NodeKey, KeyedInstance[]>();
  /** One recovery per lost input, however many consumers find it lost. */
  private readonly recovering = new Map<NodeKey, Promise<boolean>>();
  /** One promise per key: instances sharing a key (identical nodes in two imports) share the work. */
  private readonly work = new Map<NodeKey, Promise<Result>>();
  private readonly done = new Map<string, Promise<Result>>();
  /** Queue priority per key: higher starts first. */
  private readonly priority: ReadonlyMap<NodeKey, number>;

  constructor(
    private readonly graph: ValidGraph,
    plan: readonly PlanEntry[],
    private readonly options: ExecuteOptions,
  ) {
    this.store = options.store;
    this.runner = options.runner;
    this.signal = options.signal ?? new AbortController().signal;
    const onEvent = options.onEvent ?? (() => {});
    this.emit = (event) => onEvent(event);
    // Started once every task ready at the start is queued: p-queue starts a task the moment it is added
    // to a free slot, so the first ones added would run whatever their priority.
    this.queue = new PQueue({ concurrency: Math.max(1, this.runner.slots), autoStart: false });
    this.devices = new DeviceSlots(options.gpus ?? 0);
    this.planned = new Map(plan.map((e) => [e.id, e]));
    this.priority = startPriorities(graph, this.planned);
    for (const i of graph.instances) {
      if (!this.planned.has(i.id)) continue;
      const list = this.byKey.get(i.key);
      if (list) list.push(i);
      else this.byKey.set(i.key, [i]);
    }
  }

  plannedInstances(): KeyedInstance[] {
    return this.graph.instances.filter((i) => this.planned.has(i.id));
  }

  /**
   * Tensor nodes take accelerator slots as they become ready, before they are queued: visited in this
   * order, those ready at the start ask in order of priority.
   */
  byPriority(instances: readonly KeyedInstance[]): KeyedInstance[] {
    return [...instances].sort((a, b) => this.priorityOf(b) - this.priorityOf(a));
  }

  /** Starts the queue after one turn of the event loop, in which every task ready at the start is queued. */
  async startWhenQueued(): Promise<void> {
    await nextTurn();
    this.queue.start();
  }

  /** Resolves once every task the queue was given has ended. */
  idle(): Promise<void> {
    return this.queue.onIdle();
  }

  finalReport(): ExecutionReport {
    return { ...this.report, aborted: this.signal.aborted };
  }

  /** Runs an instance once its planned inputs have ended: skipped when one of them failed. */
  visit(instance: KeyedInstance): Promise<Result> {
    let pending = this.done.get(instance.id);
    if (pending) return pending;
    pending = (async (): Promise<Result> => {
      const upstream = upstreamIds(instance).filter((id) => this.planned.has(id));
      const results = await Promise.all(upstream.map((id) => this.visit(this.graph.byId.get(id)!)));
      if (results.some((r) => !r.ok)) {
        if (!this.signal.aborted) this.finish(instance.id, 'skipped', Date.now(), 'an input failed');
        return { ok: false, error: 'an input failed' };
      }
      const entry = this.planned.get(instance.id)!;
      return this.compute(instance, entry.status === 'run' && entry.reason === 'forced');
    })();
    this.done.set(instance.id, pending);
    return pending;
  }

  private finish(id: string, status: FinishStatus, started: number, error?: string): void {
    this.emit({ type: 'finish', id, status, ms: Date.now() - started, ...(error ? { error } : {}) });
    if (status === 'executed') this.report.executed.push(id);
    else if (status === 'cached') this.report.cached.push(id);
    else if (status === 'failed') this.report.failed.push({ id, error: error ?? 'failed' });
    else if (status === 'skipped') this.report.skipped.push(id);
  }

  private async compute(instance: KeyedInstance, force: boolean): Promise<Result> {
    const shared = this.work.get(instance.key);
    if (shared) {
      // Another instance with the same key (an identical node elsewhere in the graph) does the work.
      const result = await shared;
      if (result.ok) this.finish(instance.id, 'cached', Date.now());
      else if (result.error !== 'aborted') this.finish(instance.id, 'failed', Date.now(), result.error);
      return result;
    }
    const pending = this.computeOnce(instance, force);
    this.work.set(instance.key, pending);
    return pending;
  }

  private async computeOnce(instance: KeyedInstance, force: boolean): Promise<Result> {
    if (!force && this.store.has(instance.key)) {
      this.finish(instance.id, 'cached', Date.now());
      return { ok: true };
    }
    const priority = this.priorityOf(instance);
    // The accelerator slot is taken before a queue slot, so nodes waiting for a GPU never hold up the
    // CPU-only nodes behind them in the queue.
    const device = instance.kind.tensorBackend ? await this.devices.acquire(priority) : undefined;
    return new Promise<Result>((resolve, reject) => {
      void this.queue.add(
        async () => {
          try {
            resolve(await this.runClaimed(instance, force));
          } catch (e) {
            reject(e);
          } finally {
            if (device !== undefined) this.devices.release(device);
          }
          // The slot is held one more turn of the event loop, in which the consumers this result made
          // ready are queued: p-queue hands a freed slot to the best task queued at that moment, so a
          // chain's next node would otherwise lose it to a short leaf that was waiting.
          await nextTurn();
        },
        { priority },
      );
    });
  }

  private priorityOf(instance: KeyedInstance): number {
    return this.priority.get(instance.key) ?? 0;
  }

  /**
   * Computes a lost input again (its blobs were damaged, or a gc removed it after the plan), under the
   * claim of its key, so that neither several consumers here nor another process compute it twice. It
   * runs in the slots of the consumer that found it lost.
   */
  private recover(key: NodeKey, hooks: RunHooks): Promise<boolean> {
    let pending = this.recovering.get(key);
    if (!pending) {
      pending = (async () => {
        const producer = this.byKey.get(key)?.[0];
        if (!producer) return false;
        const claim = await this.store.claim(key, { signal: this.signal });
        if (claim.status === 'done') return true;
        try {
          const outcome = await this.runner.run(this.taskOf(producer), hooks);
          if (outcome.status !== 'done') return false;
          this.report.recomputed.push(producer.id);
          return true;
        } finally {
          claim.release();
        }
      })();
      this.recovering.set(key, pending);
    }
    return pending;
  }

  /** Computes an instance in its queue slot, under the claim of its key. */
  private async runClaimed(instance: KeyedInstance, force: boolean): Promise<Result> {
    if (this.signal.aborted) return { ok: false, error: 'aborted' };
    const started = Date.now();
    // The claim is this thread's, on behalf of whichever runner computes: a pool worker that crashes
    // fails its task and the claim is released below; with the inline runner the task blocks this very
    // thread, whose liveness (not its stalled heartbeat) keeps the claim (stillHolds in liveness.ts).
    const claim = await this.store.claim(instance.key, { signal: this.signal });
    if (claim.status === 'done' && !force) {
      this.finish(instance.id, 'cached', started);
      return { ok: true };
    }
    // A forced node keeps its old result until the new one replaces it: a failed re-run loses nothing.
    const release = claim.status === 'owner' ? claim.release : () => {};
    this.emit({ type: 'start', id: instance.id, key: instance.key });
    try {
      const hooks = { signal: this.signal, onProgress: (event: ProgressEvent) => this.emit({ type: 'progress', id: instance.id, event }) };
      let outcome = await this.runner.run(this.taskOf(instance), hooks);
      if (outcome.status === 'input-lost') {
        // An input vanished: compute it again, then retry this node once.
        this.emit({ type: 'progress', id: instance.id, event: { message: `an input was lost (${outcome.error}); recomputing it` } });
        if (await this.recover(outcome.key, hooks)) outcome = await this.runner.run(this.taskOf(instance), hooks);
      }
      if (outcome.status === 'done') {
        // Every instance with this key now has this result: each remembers it for `plan`'s reasons.
        for (const same of this.byKey.get(instance.key) ?? [instance]) await this.store.setLastRun(this.graph.name, same.id, lastRunOf(same));
      }
      return this.settle(instance, outcome, started);
    } finally {
      release();
    }
  }

  /** Reports how a run of the instance ended (its last runs already stored when it is done). */
  private settle(instance: KeyedInstance, outcome: Outcome, started: number): Result {
    switch (outcome.status) {
      case 'done':
        this.finish(instance.id, 'executed', started);
        return { ok: true };
      case 'aborted':
        this.finish(instance.id, 'aborted', started);
        return { ok: false, error: 'aborted' };
      case 'failed':
      case 'input-lost':
        this.finish(instance.id, 'failed', started, outcome.error);
        return { ok: false, error: outcome.error };
    }
  }

  private taskOf(instance: KeyedInstance): Task {
    return taskOf(instance, this.graph, this.options.gitCommit);
  }
}

/** After the microtasks queued now, and the ones they queue: promise chains that need no I/O have settled. */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function taskOf(instance: KeyedInstance, graph: ValidGraph, gitCommit: string | undefined): Task {
  return {
    key: instance.key,
    id: instance.id,
    kind: instance.kind.kind,
    version: instance.kind.version,
    params: instance.runParams,
    inputs: instance.components.inputs,
    ...(instance.components.data === undefined ? {} : { datasetFingerprint: instance.components.data }),
    pipeline: resolve(graph.file),
    ...(gitCommit ? { gitCommit } : {}),
  };
}
