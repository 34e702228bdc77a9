/** `prune`: magnitude pruning, gradual during training (Zhu & Gupta) or one-shot of a trained model. */
import { Type } from '@sinclair/typebox';
import { pruneProblems } from '../common/checks.js';
import { trainingCost } from '../common/cost.js';
import { defineNode } from '../../engine/node-def.js';
import { trainingParams } from '../common/params.js';

export const pruneParams = Type.Object(
  {
    ...trainingParams,
    sparsity: Type.Number({ minimum: 0, exclusiveMaximum: 1, description: 'Final fraction of pruned weights.' }),
    method: Type.Union([Type.Literal('gradual'), Type.Literal('one-shot')], {
      default: 'gradual',
      description: 'gradual: prune during training on the cubic schedule; one-shot: prune the input once.',
    }),
    scope: Type.Union([Type.Literal('layerwise'), Type.Literal('global')], {
      default: 'layerwise',
      description: 'layerwise: every layer reaches the sparsity; global: one magnitude threshold across layers.',
    }),
    initial_sparsity: Type.Number({ minimum: 0, exclusiveMaximum: 1, default: 0, description: 'Sparsity s_i at begin_step.' }),
    begin_step: Type.Integer({ minimum: 0, default: 3000, description: 'First pruning step t0.' }),
    end_step: Type.Integer({ minimum: 0, default: 7000, description: 'Last pruning step t_end.' }),
    frequency: Type.Integer({ minimum: 1, default: 100, description: 'Prune every k steps.' }),
    exclude: Type.Array(Type.String(), {
      default: [],
      description: 'Weight tensors never pruned, by name (e.g. fc3.weight to keep the output layer dense).',
    }),
    rewind_step: Type.Integer({ minimum: 0, default: 0, description: 'gradual: step whose weights the `rewind` output keeps (late resetting).' }),
    finetune: Type.Boolean({
      default: false,
      description: 'one-shot: train the pruned model with its mask fixed for `epochs` (or `steps`) with the training parameters.',
    }),
  },
  { additionalProperties: false },
);

export const pruneInputs = {
  init: { type: 'Checkpoint', doc: 'Initial weights (gradual) or the trained model (one-shot).' },
} as const;

export const prune = defineNode({
  kind: 'prune',
  version: 2,
  description:
    'Magnitude pruning: gradual pruning while training from an initialisation (Zhu & Gupta 2017), or one-shot pruning of a trained checkpoint, optionally fine-tuned.',
  params: pruneParams,
  inputs: pruneInputs,
  outputs: {
    checkpoint: { type: 'Checkpoint', doc: 'The pruned solution, with its mask.' },
    mask: { type: 'Mask', doc: 'The final mask.' },
    rewind: { type: 'Checkpoint', doc: 'gradual: weights at `rewind_step` of the same run (step 0: the initialisation); one-shot: the input.' },
    metrics: { type: 'Metrics', doc: 'Final loss and accuracy, sparsity per layer, loss curve.' },
  },
  check: pruneProblems,
  // One-shot pruning without fine-tuning is one pass over the weights, no training.
  cost: (params, facts) => (params.method === 'gradual' || params.finetune ? trainingCost(params, facts) : 1),
  tensorBackend: true,
  datasetParam: 'dataset',
  seed: (params) => params.data_seed,
  run: async (ctx) => (await import('./run.js')).runPrune(ctx),
});
