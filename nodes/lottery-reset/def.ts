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
  run: async (ctx) => (await import('./run.js')).runLotteryReset(ctx),
});
