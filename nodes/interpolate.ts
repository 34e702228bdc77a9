/** `interpolate`: the loss along the straight line between two checkpoints. */
import { Type } from '@sinclair/typebox';
import { defineNode } from '../core/node-def.js';
import { evaluationParams } from './common.js';

export const interpolate = defineNode({
  kind: 'interpolate',
  version: 1,
  description:
    'Evaluates (1-a)*start + a*end for a grid of a: loss and accuracy along the straight line between two checkpoints.',
  params: Type.Object(
    {
      ...evaluationParams,
      from: Type.Number({ default: -0.2, description: 'First alpha of the grid.' }),
      to: Type.Number({ default: 1.2, description: 'Last alpha of the grid.' }),
      points: Type.Integer({ minimum: 2, default: 29, description: 'Number of evenly spaced alphas, ends included.' }),
    },
    { additionalProperties: false },
  ),
  inputs: {
    start: { type: 'Checkpoint', doc: 'The path at alpha = 0.' },
    end: { type: 'Checkpoint', doc: 'The path at alpha = 1.' },
  },
  outputs: {
    landscape: { type: 'Landscape', doc: 'Loss and accuracy at every alpha and split.' },
    metrics: { type: 'Metrics', doc: 'Barrier height (max minus larger end, and minus mean of ends), monotonicity.' },
  },
  tensorBackend: true,
  datasetParam: 'dataset',
});
