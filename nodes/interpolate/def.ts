/** `interpolate`: the loss along the straight line between two checkpoints. */
import { Type } from '@sinclair/typebox';
import { defineNode } from '../../engine/node-def.js';
import { pathCost } from '../common/cost.js';
import { evaluationParams } from '../common/params.js';

export const interpolateParams = Type.Object(
  {
    ...evaluationParams,
    from: Type.Number({ default: -0.2, description: 'First alpha of the grid.' }),
    to: Type.Number({ default: 1.2, description: 'Last alpha of the grid.' }),
    points: Type.Integer({ minimum: 2, default: 29, description: 'Number of evenly spaced alphas, ends included (0 and 1 are added when the grid misses them).' }),
  },
  { additionalProperties: false },
);

export const interpolateInputs = {
  start: { type: 'Checkpoint', doc: 'The path at alpha = 0.' },
  end: { type: 'Checkpoint', doc: 'The path at alpha = 1.' },
} as const;

export const interpolate = defineNode({
  kind: 'interpolate',
  version: 2,
  description:
    'Evaluates (1-a)*start + a*end for a grid of a: loss and accuracy along the straight line between two checkpoints.',
  params: interpolateParams,
  inputs: interpolateInputs,
  outputs: {
    landscape: { type: 'Landscape', doc: 'Loss and accuracy at every alpha and split.' },
    metrics: {
      type: 'Metrics',
      doc: 'Per split (`train_...`, `test_...`): barrier height of the loss and the error (max minus larger end, and minus mean of ends), monotonicity on [0, 1].',
    },
  },
  tensorBackend: true,
  datasetParam: 'dataset',
  cost: (params, facts) => pathCost(params.points, params.splits, facts),
  run: async (ctx) => (await import('./run.js')).runInterpolate(ctx),
});
