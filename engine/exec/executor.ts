/**
 * Runs a planned graph: instances in dependency order on a p-queue, each key computed at most once
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
import { DeviceSlots } from './device-slots.js';
import { inputKeyMap } from './run-task.js';
import type { RunHooks, Runner, Task } from './runner.js';

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
  const { store, runner } = options;
  const signal = options.signal ?? new AbortController().signal;
  const emit = options.onEvent ?? (() => {});
  const queue = new PQueue({ concurrency: Math.max(1, runner.slots) });
  const devices = new DeviceSlots(options.gpus ?? 0);
  const report: ExecutionReport = { executed: [], cached: [], failed: [], skipped: [], recomputed: [], aborted: false };
  const planned = new Map(plan.map((e) => [e.id, e]));
  /** Planned instances by key: several when identical nodes share one (two imports of a piece). */
  const byKey = new Map<NodeKey, KeyedInstance[]>();
  for (const i of graph.instances) {
    if (!planned.has(i.id)) continue;
    const list = byKey.get(i.key);
    if (list) list.push(i);
    else byKey.set(i.key, [i]);
  }
  /** One recovery per lost input, however many consumers find it lost. */
  const recovering = new Map<NodeKey, Promise<boolean>>();
  /** One promise per key: instances sharing a key (identical nodes in two imports) share the work. */
  const work = new Map<NodeKey, Promise<Result>>();
  const done = new Map<string, Promise<Result>>();

  const finish = (id: string, status: FinishStatus, started: number, error?: string) => {
    emit({ type: 'finish', id, status, ms: Date.now() - started, ...(error ? { error } : {}) });
    if (status === 'executed') report.executed.push(id);
    else if (status === 'cached') report.cached.push(id);
    else if (status === 'failed') report.failed.push({ id, error: error ?? 'failed' });
    else if (status === 'skipped') report.skipped.push(id);
  };

  const compute = async (instance: KeyedInstance, force: boolean): Promise<Result> => {
    const shared = work.get(instance.key);
    if (shared) {
      // Another instance with the same key (an identical node elsewhere in the graph) does the work.
      const result = await shared;
      if (result.ok) finish(instance.id, 'cached', Date.now());
      else if (result.error !== 'aborted') finish(instance.id, 'failed', Date.now(), result.error);
      return result;
    }
    const pending = computeOnce(instance, force);
    work.set(instance.key, pending);
    return pending;
  };

  const computeOnce = async (instance: KeyedInstance, force: boolean): Promise<Result> => {
    if (!force && store.has(instance.key)) {
      finish(instance.id, 'cached', Date.now());
      return { ok: true };
    }
    // The accelerator slot is taken before a queue slot, so nodes waiting for a GPU never hold up the
    // CPU-only nodes behind them in the queue.
    const device = instance.kind.tensorBackend ? await devices.acquire() : undefined;
    try {
      return await queue.add(() => runClaimed(instance, force), { throwOnTimeout: true });
    } finally {
      if (device !== undefined) devices.release(device);
    }
  };

  /**
   * Computes a lost input again (its blobs were damaged, or a gc removed it after the plan), under the
   * claim of its key, so that neither several consumers here nor another process compute it twice. It
   * runs in the slots of the consumer that found it lost.
   */
  const recover = (key: NodeKey, hooks: RunHooks): Promise<boolean> => {
    let pending = recovering.get(key);
    if (!pending) {
      pending = (async () => {
        const producer = byKey.get(key)?.[0];
        if (!producer) return false;
        const claim = await store.claim(key, { signal });
        if (claim.status === 'done') return true;
        try {
          const outcome = await runner.run(taskOf(producer, graph, options.gitCommit), hooks);
          if (outcome.status !== 'done') return false;
          report.recomputed.push(producer.id);
          return true;
        } finally {
          claim.release();
        }
      })();
      recovering.set(key, pending);
    }
    return pending;
  };

  const runClaimed = async (instance: KeyedInstance, force: boolean): Promise<Result> => {
    if (signal.aborted) return { ok: false, error: 'aborted' };
    const started = Date.now();
    // The claim is this thread's, on behalf of whichever runner computes: a pool worker that crashes
    // fails its task and the claim is released below; with the inline runner the task blocks this very
    // thread, whose liveness (not its stalled heartbeat) keeps the claim (stillHolds in liveness.ts).
    const claim = await store.claim(instance.key, { signal });
    if (claim.status === 'done' && !force) {
      finish(instance.id, 'cached', started);
      return { ok: true };
    }
    // A forced node keeps its old result until the new one replaces it: a failed re-run loses nothing.
    const release = claim.status === 'owner' ? claim.release : () => {};
    emit({ type: 'start', id: instance.id, key: instance.key });
    try {
      const hooks = { signal, onProgress: (event: ProgressEvent) => emit({ type: 'progress', id: instance.id, event }) };
      let outcome = await runner.run(taskOf(instance, graph, options.gitCommit), hooks);
      if (outcome.status === 'input-lost') {
        // An input vanished: compute it again, then retry this node once.
        emit({ type: 'progress', id: instance.id, event: { message: `an input was lost (${outcome.error}); recomputing it` } });
        if (await recover(outcome.key, hooks)) outcome = await runner.run(taskOf(instance, graph, options.gitCommit), hooks);
      }
      switch (outcome.status) {
        case 'done':
          // Every instance with this key now has this result: each remembers it for `plan`'s reasons.
          for (const same of byKey.get(instance.key) ?? [instance]) await store.setLastRun(graph.name, same.id, lastRunOf(same));
          finish(instance.id, 'executed', started);
          return { ok: true };
        case 'aborted':
          finish(instance.id, 'aborted', started);
          return { ok: false, error: 'aborted' };
        case 'failed':
        case 'input-lost':
          finish(instance.id, 'failed', started, outcome.error);
          return { ok: false, error: outcome.error };
      }
    } finally {
      release();
    }
  };

  const visit = (instance: KeyedInstance): Promise<Result> => {
    let pending = done.get(instance.id);
    if (pending) return pending;
    pending = (async (): Promise<Result> => {
      const upstream = upstreamIds(instance).filter((id) => planned.has(id));
      const results = await Promise.all(upstream.map((id) => visit(graph.byId.get(id)!)));
      if (results.some((r) => !r.ok)) {
        if (!signal.aborted) finish(instance.id, 'skipped', Date.now(), 'an input failed');
        return { ok: false, error: 'an input failed' };
      }
      const entry = planned.get(instance.id)!;
      return compute(instance, entry.status === 'run' && entry.reason === 'forced');
    })();
    done.set(instance.id, pending);
    return pending;
  };

  const instances = graph.instances.filter((i) => planned.has(i.id));
  // Until every node has ended and recorded its last run, gc (in any process) keeps what this run reads
  // and writes: its fresh results are named by no kept pipeline yet.
  const endRun = await store.beginRun(instances.flatMap((i) => [i.key, ...inputKeys(inputKeyMap(i.components.inputs))]));
  try {
    // On abort, queued tasks are not cleared (p-queue would leave their promises pending forever): they
    // start, see the signal and return at once.
    await Promise.all(instances.map(visit));
    await queue.onIdle();
  } finally {
    endRun();
  }
  return { ...report, aborted: signal.aborted };
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
