/** The science of `lottery-reset`: mask * weights, the mask of the pruning run on its own early weights. */
import type { Checkpoint } from '../../base/values.js';
import type { KindContext } from '../../engine/node-def.js';
import { applyMasks } from '../../science/nn/pruning.js';
import { sameModel } from '../common/run-support.js';
import type { lotteryResetInputs, lotteryResetParams } from './def.js';

export function runLotteryReset({ inputs }: KindContext<typeof lotteryResetParams, typeof lotteryResetInputs>): Promise<{ checkpoint: Checkpoint }> {
  sameModel(inputs.mask.model, inputs.weights.model, 'the mask');
  const w = inputs.weights;
  const masks = { ...w.masks, ...inputs.mask.masks };
  return Promise.resolve({ checkpoint: { ...w, tensors: applyMasks(w.tensors, masks), masks, meta: { ...(w.meta ?? {}), reset_from_step: w.step } } });
}
