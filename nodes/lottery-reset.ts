/** `lottery-reset`: a pruning run's own early weights under its final mask (a lottery ticket). */
import { Type } from '@sinclair/typebox';
import { defineNode } from '../core/node-def.js';

export const lotteryReset = defineNode({
  kind: 'lottery-reset',
  version: 1,
  description:
    "Applies a final mask to the pruning run's own initial (or late-reset) weights: the lottery-ticket initialisation.",
  params: Type.Object({}, { additionalProperties: false }),
  inputs: {
    weights: { type: 'Checkpoint', doc: "The pruning run's step-0 weights, or its `rewind` output for late resetting." },
    mask: { type: 'Mask', doc: 'The final mask of the pruning run.' },
  },
  outputs: {
    checkpoint: { type: 'Checkpoint', doc: 'The masked weights.' },
  },
});
