/** `train-dense`: the dense baseline, trained from an initialisation with SGD. */
import { Type } from '@sinclair/typebox';
import { defineNode } from '../core/node-def.js';
import { trainingParams } from './common.js';

export const trainDense = defineNode({
  kind: 'train-dense',
  version: 1,
  description: 'Trains a dense network from an initial checkpoint (the dense baseline of every comparison).',
  params: Type.Object(
    {
      ...trainingParams,
      snapshot_steps: Type.Array(Type.Integer({ minimum: 0 }), {
        default: [],
        description: 'Steps at which to keep a snapshot (for late resetting and instability analysis).',
      }),
    },
    { additionalProperties: false },
  ),
  inputs: {
    init: { type: 'Checkpoint', doc: 'Initial weights.' },
  },
  outputs: {
    checkpoint: { type: 'Checkpoint', doc: 'Trained weights.' },
    metrics: { type: 'Metrics', doc: 'Final training loss and accuracy, test accuracy, loss curve.' },
  },
  tensorBackend: true,
  datasetParam: 'dataset',
  seed: (params) => params.data_seed,
});
