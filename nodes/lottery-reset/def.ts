/** `lottery-reset`: a pruning run's own early weights under its final mask (a lottery ticket). */
import { Type } from '@sinclair/typebox';
import { defineNode } from '../../engine/node-def.js';

export const lotteryResetInputs = {
  weights: { type: 'Checkpoint', doc: "The pruning run's step-0 weights, or its `rewind` output for late resetting." },
  mask: { type: 'Mask', doc: 'The final mask of the pruning run.' },
} as const;

export const lotteryResetParams = Type.Object({}, { additionalProperties: false });

export const lotteryReset = defineNode({
  kind: 'lottery-reset',
  version: 2,
  description:
    "Applies a final mask to the pruning run's own initial (or late-reset) weights: the lottery-ticket initialisation, exactly mask * weights.",
  params: lotteryResetParams,
  inputs: lotteryResetInputs,
  outputs: {
    checkpoint: { type: 'Checkpoint', doc: 'The masked weights, carrying the mask; its step is the step the weights were taken at.' },
  },
  run: async ({ inputs }) => {
    const [{ applyMasks }, { sameModel }] = await Promise.all([import('../../science/nn/pruning.js'), import('../common/run-support.js')]);
    sameModel(inputs.mask.model, inputs.weights.model, 'the mask');
    const w = inputs.weights;
    const masks = { ...w.masks, ...inputs.mask.masks };
    return { checkpoint: { ...w, tensors: applyMasks(w.tensors, masks), masks, meta: { ...(w.meta ?? {}), reset_from_step: w.step } } };
  },
});
