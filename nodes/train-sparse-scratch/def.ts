/** `train-sparse-scratch`: training with a fixed mask (scratch or lottery), or dynamic sparse training. */
import { Type } from '@sinclair/typebox';
import { defineNode } from '../../engine/node-def.js';
import { trainingCost } from '../common/cost.js';
import { SPARSE_METHOD_DOCS } from '../../science/nn/names.js';
import { continueFromStepParam, namesUnion, trainingParams } from '../common/params.js';

export const trainSparseParams = Type.Object(
  {
    ...trainingParams,
    method: namesUnion(SPARSE_METHOD_DOCS, { default: 'static', description: 'How the mask evolves' }),
    delta: Type.Integer({ minimum: 1, default: 100, description: 'set / rigl: update the mask every this many steps.' }),
    drop_fraction: Type.Number({
      exclusiveMinimum: 0,
      maximum: 1,
      default: 0.3,
      description: 'set / rigl: fraction of each layer\'s active weights dropped at the first update, cosine-annealed to 0.',
    }),
    end_fraction: Type.Number({ exclusiveMinimum: 0, maximum: 1, default: 0.75, description: 'set / rigl: stop updating the mask at this fraction of training.' }),
    mask_seed: Type.Integer({ default: 0, description: 'set: seed of the random regrowth.' }),
    exclude: Type.Array(Type.String(), { default: [], description: 'set / rigl: weight tensors whose mask never changes.' }),
    continue_from_step: continueFromStepParam,
  },
  { additionalProperties: false },
);

export const trainSparseInputs = {
  init: { type: 'Checkpoint', doc: 'Initial weights (any mask they carry is replaced by `mask`).' },
  mask: { type: 'Mask', doc: 'The mask, usually the final mask of a pruning run; fixed for `method: static`.' },
} as const;

export const trainSparseScratch = defineNode({
  kind: 'train-sparse-scratch',
  version: 2,
  description:
    'Trains a sparse network whose mask stays fixed throughout (masked weights stay exactly zero): from a fresh initialisation ("scratch") or a lottery reset; or dynamic sparse training (SET, RigL) at constant per-layer sparsity.',
  params: trainSparseParams,
  inputs: trainSparseInputs,
  outputs: {
    checkpoint: { type: 'Checkpoint', doc: 'The trained sparse solution.' },
    mask: { type: 'Mask', doc: 'The final mask (the input mask for `method: static`).' },
    metrics: { type: 'Metrics', doc: 'Training and test loss and accuracy of the final weights, sparsity, loss curve.' },
  },
  tensorBackend: true,
  datasetParam: 'dataset',
  cost: trainingCost,
  seed: (params) => params.data_seed,
  run: async (ctx) => (await import('./run.js')).runTrainSparse(ctx),
});
