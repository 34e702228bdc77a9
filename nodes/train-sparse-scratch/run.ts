/**
 * The science of `train-sparse-scratch`: the training loop with a fixed mask or a drop-and-grow hook,
 * from step 0 or (`continue_from_step`) from the step the input checkpoint carries.
 */
import { dynamicSparseHook } from '../../science/nn/dynamic-sparse.js';
import { denseMasks } from '../../science/nn/init.js';
import { resumableTraining } from '../../science/nn/resumable.js';
import { train } from '../../science/nn/train.js';
import type { KindContext } from '../../engine/node-def.js';
import type { Checkpoint, Mask, Metrics } from '../../base/values.js';
import type { trainSparseInputs, trainSparseParams } from './def.js';
import { checkpointMetrics, fitsData, loadData, sameModel, trainOptionsOf, trainingMetrics } from '../common/run-support.js';

export async function runTrainSparse(
  ctx: KindContext<typeof trainSparseParams, typeof trainSparseInputs>,
): Promise<{ checkpoint: Checkpoint; mask: Mask; metrics: Metrics }> {
  const { params, inputs } = ctx;
  const started = Date.now();
  const data = loadData(params.dataset, ctx);
  sameModel(inputs.mask.model, inputs.init.model, 'the mask');
  fitsData(inputs.init.model, data);
  // The mask replaces the initialisation's own; the loop zeroes what it removes on upload.
  const start: Checkpoint = { ...inputs.init, masks: { ...denseMasks(inputs.init.model), ...inputs.mask.masks } };
  const names = Object.keys(start.masks).filter((n) => !params.exclude.includes(n));
  const unknown = params.exclude.filter((n) => !(n in start.masks));
  if (unknown.length > 0) throw new Error(`exclude: ${unknown.join(', ')} is not a prunable weight (prunable: ${Object.keys(start.masks).join(', ')})`);
  const hook =
    params.method === 'static'
      ? undefined
      : dynamicSparseHook({ method: params.method, delta: params.delta, dropFraction: params.drop_fraction, endFraction: params.end_fraction, seed: params.mask_seed, names });
  const result = await train(start, {
    ...trainOptionsOf(params, data),
    // IMP with rewinding: a checkpoint rewound to step k trains steps k+1..end only.
    continueFromCheckpointStep: params.continue_from_step,
    ...(hook ? { onStep: hook.onStep } : {}),
    ...(await resumableTraining(ctx)),
  });
  const extra: Record<string, number> = hook ? { mask_updates: hook.updates.length, connections_moved: hook.updates.reduce((a, u) => a + u.moved, 0) } : {};
  const metrics = trainingMetrics(result, checkpointMetrics(result.checkpoint, data), started, extra);
  return { checkpoint: result.checkpoint, mask: { model: start.model, masks: result.checkpoint.masks }, metrics };
}
