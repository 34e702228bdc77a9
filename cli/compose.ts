/**
 * What a sparsegraph process is made of: the built-in node kinds of `nodes/` (plus kinds modules) and
 * the science layer's tensor-backend chooser. The CLI composes them and hands them to the engine, which
 * imports neither; the worker pool's threads import this module by its URL to compose the same.
 */
import type { KindRegistry } from '../engine/registry.js';
import { loadRegistry } from '../engine/exec/kinds-modules.js';
import type { TensorBackendChoice, TensorBackendInfo } from '../engine/exec/run-task.js';
import { builtinKinds } from '../nodes/index.js';

/** This module, for worker threads (WorkerSetup.composer). */
export const composerUrl = import.meta.url;

/** The built-in kinds and those of `modules` (checked as they load). */
export function loadKinds(modules: readonly string[]): Promise<KindRegistry> {
  return loadRegistry(builtinKinds, modules);
}

/** Loads the tensor library only when a kind needs it: validating and planning never pay for it. */
export async function selectBackend(requested?: string): Promise<TensorBackendInfo> {
  const { selectBackend: select } = await import('../science/nn/backend.js');
  return select(requested);
}

/** The tensor backend as the engine takes it: `--backend` (or the best available) chosen by the science layer. */
export function tensorsFor(requested: string | undefined): TensorBackendChoice {
  return { select: selectBackend, ...(requested ? { requested } : {}) };
}

/** The line saying which kernels a run computes with (and how to get the fast ones), or undefined. */
export async function computePathLine(requested: string | undefined): Promise<string | undefined> {
  const [{ computePathLine: line }, { checkBackendInstalled }] = await Promise.all([import('../science/nn/kernels/native.js'), import('../science/nn/backend-names.js')]);
  let tensorflow = false;
  try {
    tensorflow = checkBackendInstalled('tensorflow') === 'tensorflow';
  } catch {
    // tfjs-node is optional and absent here: auto picks native or wasm.
  }
  return line(requested, tensorflow);
}
