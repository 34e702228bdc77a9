/** `train-dense`: the dense baseline, trained from an initialisation with SGD. */
import { Type } from '@sinclair/typebox';
import { trainDenseProblems } from '../common/checks.js';
import { trainingCost } from '../common/cost.js';
import { defineNode } from '../../engine/node-def.js';
import { continueFromStepParam, trainingParams } from '../common/params.js';

export const trainDenseParams = Type.Object(
  {
    ...trainingParams,
    snapshot_step: Type.Integer({
      minimum: 0,
      default: 0,
      description: 'Step whose weights the `snapshot` output keeps (late resetting; the trunk of an instability analysis).',
    }),
    continue_from_step: continueFromStepParam,
  },
  { additionalProperties: false },
);

export const trainDenseInputs = {
  init: { type: 'Checkpoint', doc: 'Initial weights (any masks they carry are kept fixed; none means dense).' },
} as const;

export const trainDense = defineNode({
  kind: 'train-dense',
  version: 2,
  description: 'Trains a dense network from an initial checkpoint (the dense baseline of every comparison).',
  params: trainDenseParams,
  inputs: trainDenseInputs,
  outputs: {
    checkpoint: { type: 'Checkpoint', doc: 'Trained weights.' },
    snapshot: { type: 'Checkpoint', doc: 'Weights at `snapshot_step` of the same run (step 0: the initial weights).' },
    metrics: { type: 'Metrics', doc: 'Training and test loss and accuracy of the final weights, the loss curve, steps, wall time.' },
  },
  check: trainDenseProblems,
  cost: trainingCost,
  tensorBackend: true,
  datasetParam: 'dataset',
  seed: (params) => params.data_seed,
  run: async (ctx) => (await import('./run.js')).runTrainDense(ctx),
});
