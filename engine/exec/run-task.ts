/**
 * Runs one task where it lands (a worker thread, or inline in tests): loads its inputs from the store,
 * calls the kind's `run`, and stores the outputs with provenance under the task's key.
 */
import { hostname } from 'node:os';
import { CorruptEntryError, MissingResultError, type Provenance, type ResultStore } from '../../cache/store.js';
import type { NodeKey } from '../../base/brand.js';
import type { GatheredRef, OutputRef } from '../keys.js';
import type { AnyNodeDefinition } from '../node-def.js';
import type { GatheredValue } from '../../base/values.js';
import type { KindRegistry } from '../registry.js';
import { checkPortValue } from '../values-check.js';
import { packageVersion } from '../../base/version.js';
import type { Outcome, RunHooks, Task } from './runner.js';
import { thrownMessage } from '../../base/thrown.js';

export interface TaskEnvironment {
  readonly store: ResultStore;
  readonly registry: KindRegistry;
  /** How this thread gets a tensor backend for kinds that compute with tensors; without it they fail. */
  readonly tensors?: TensorBackendChoice;
}

/** The tensor backend chosen for a thread, as provenance records it. */
export interface TensorBackendInfo {
  readonly name: string;
  readonly version: string;
}

/**
 * How a process picks its tensor backend. The engine knows no tensor library: the composer (the CLI)
 * hands in the science layer's `selectBackend`, so planning and the executor never load one.
 */
export interface TensorBackendChoice {
  /** `--backend`, or undefined to pick the best available. */
  readonly requested?: string;
  readonly select: (requested?: string) => Promise<TensorBackendInfo>;
}

let backendInfo: Promise<TensorBackendInfo> | undefined;

/** Selects the tensor backend once per thread, only for kinds that compute with tensors. */
async function ensureBackend(choice: TensorBackendChoice | undefined, kind: string): Promise<TensorBackendInfo> {
  if (!choice) throw new Error(`node kind '${kind}' computes with tensors, and this runner was given no tensor backend`);
  backendInfo ??= choice.select(choice.requested);
  return backendInfo;
}

export async function runTask(task: Task, env: TaskEnvironment, hooks: RunHooks): Promise<Outcome> {
  const kind = env.registry.get(task.kind);
  if (!kind) return { status: 'failed', error: `unknown node kind '${task.kind}'` };
  if (!kind.run) return { status: 'failed', error: `node kind '${task.kind}' cannot run yet: only its declaration exists` };
  const started = Date.now();
  try {
    // Aborted before it started (Ctrl-C while the worker was loading): nothing runs, nothing is stored.
    hooks.signal.throwIfAborted();
    const backend = kind.tensorBackend ? await ensureBackend(env.tensors, task.kind) : undefined;
    const inputs = await loadInputs(task, kind, env.store);
    const outputs = await kind.run({
      params: task.params,
      inputs: inputs as never,
      signal: hooks.signal,
      progress: hooks.onProgress,
      saveProgress: (state) => env.store.saveProgress(task.key, state),
      loadProgress: () => env.store.loadProgress(task.key),
      backend: backend?.name,
      ...(task.datasetFingerprint === undefined ? {} : { datasetFingerprint: task.datasetFingerprint }),
    });
    // A kind that ignores the signal and returns normally after an abort must not leave a result.
    hooks.signal.throwIfAborted();
    for (const [port, spec] of Object.entries(kind.outputs)) {
      if (!(port in outputs)) return { status: 'failed', error: `node kind '${task.kind}' returned no '${port}' output` };
      // Caught here, the kind's bug fails its own node, not whichever node loads the value later.
      const problem = checkPortValue(spec.type, (outputs as Record<string, unknown>)[port]);
      if (problem) return { status: 'failed', error: `node kind '${task.kind}': output '${port}' is not a ${spec.type}: ${problem}` };
    }
    const ended = Date.now();
    const seed = kind.seed?.(task.params as never);
    const provenance: Provenance = {
      pipeline: task.pipeline,
      nodeId: task.id,
      kind: task.kind,
      version: task.version,
      params: task.params,
      inputs: inputKeyMap(task.inputs),
      ...(backend ? { backend } : {}),
      libraries: { node: process.version, sparsegraph: packageVersion(), ...(backend ? { tfjs: backend.version } : {}) },
      ...(seed === undefined ? {} : { seed }),
      startedAt: new Date(started).toISOString(),
      endedAt: new Date(ended).toISOString(),
      durationMs: ended - started,
      host: hostname(),
      ...(task.gitCommit ? { gitCommit: task.gitCommit } : {}),
    };
    await env.store.put(task.key, outputs as Record<string, unknown>, provenance);
    await env.store.clearProgress(task.key);
    return { status: 'done' };
  } catch (e) {
    if (hooks.signal.aborted) return { status: 'aborted' };
    if (e instanceof CorruptEntryError || e instanceof MissingResultError) return { status: 'input-lost', key: e.key, error: e.message };
    return { status: 'failed', error: thrownMessage(e) };
  }
}

/** The keys of a task's inputs by port, as provenance records them. */
export function inputKeyMap(inputs: Task['inputs']): Record<string, NodeKey | NodeKey[]> {
  const out: Record<string, NodeKey | NodeKey[]> = {};
  for (const [port, ref] of Object.entries(inputs)) out[port] = Array.isArray(ref) ? ref.map((r: GatheredRef) => r.key) : (ref as OutputRef).key;
  return out;
}

async function loadInputs(task: Task, kind: AnyNodeDefinition, store: ResultStore): Promise<Record<string, unknown>> {
  const loaded = new Map<NodeKey, Promise<Record<string, unknown>>>();
  const output = async (ref: OutputRef): Promise<unknown> => {
    let result = loaded.get(ref.key);
    if (!result) loaded.set(ref.key, (result = store.load(ref.key)));
    const value = (await result)[ref.port];
    if (value === undefined) throw new Error(`input result ${ref.key.slice(0, 12)} has no output '${ref.port}'`);
    return value;
  };
  const inputs: Record<string, unknown> = {};
  for (const port of Object.keys(kind.inputs)) {
    const ref = task.inputs[port];
    if (ref === undefined) continue;
    if (Array.isArray(ref)) {
      const gathered: GatheredValue[] = [];
      for (const r of ref as GatheredRef[]) gathered.push({ label: r.label, coords: r.coords, value: (await output(r)) as never });
      inputs[port] = gathered;
    } else {
      inputs[port] = await output(ref as OutputRef);
    }
  }
  return inputs;
}
