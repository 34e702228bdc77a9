/** `train-sparse-scratch`: training with a fixed mask, from a new or a lottery initialisation. */
import { Type } from '@sinclair/typebox';
import { defineNode } from '../core/node-def.js';
import { trainingParams } from './common.js';

export const trainSparseScratch = defineNode({
  kind: 'train-sparse-scratch',
  version: 1,
  description:
    'Trains a sparse network whose mask stays fixed throughout (masked weights stay exactly zero): from a fresh initialisation ("scratch") or a lottery reset.',
  params: Type.Object({ ...trainingParams }, { additionalProperties: false }),
  inputs: {
    init: { type: 'Checkpoint', doc: 'Initial weights (any mask they carry is replaced by `mask`).' },
    mask: { type: 'Mask', doc: 'The fixed mask, usually the final mask of a pruning run.' },
  },
  outputs: {
    checkpoint: { type: 'Checkpoint', doc: 'The trained sparse solution.' },
    metrics: { type: 'Metrics', doc: 'Final loss and accuracy, loss curve.' },
  },
  tensorBackend: true,
  datasetParam: 'dataset',
  seed: (params) => params.data_seed,
});
