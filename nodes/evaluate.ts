/** `evaluate`: loss and accuracy of a checkpoint, or along a curve. */
import { Type } from '@sinclair/typebox';
import { defineNode } from '../core/node-def.js';
import { evaluationParams } from './common.js';

export const evaluate = defineNode({
  kind: 'evaluate',
  version: 1,
  description:
    'Measures loss and accuracy of a checkpoint, or of a curve at evenly spaced t (recomputing batch-norm statistics at each t).',
  params: Type.Object(
    {
      ...evaluationParams,
      points: Type.Integer({ minimum: 2, default: 61, description: 'For a curve: number of evenly spaced t in [0, 1].' }),
    },
    { additionalProperties: false },
  ),
  inputs: {
    target: { type: ['Checkpoint', 'Curve'], doc: 'What to evaluate.' },
  },
  outputs: {
    metrics: { type: 'Metrics', doc: 'Loss and accuracy per split; for a curve, its barrier heights.' },
    landscape: { type: 'Landscape', doc: 'For a curve, every evaluated t; for a checkpoint, one point.' },
  },
  tensorBackend: true,
  datasetParam: 'dataset',
});
