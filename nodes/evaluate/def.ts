/** `evaluate`: loss and accuracy of a checkpoint, or along a curve. */
import { Type } from '@sinclair/typebox';
import { defineNode } from '../../engine/node-def.js';
import { evaluationCost, pathCost } from '../common/cost.js';
import { evaluationParams } from '../common/params.js';

export const evaluateParams = Type.Object(
  {
    ...evaluationParams,
    points: Type.Integer({ minimum: 2, default: 61, description: 'For a curve: number of evenly spaced t in [0, 1].' }),
    gradient_norm: Type.Boolean({
      default: false,
      description: 'For a checkpoint: also the L2 norm of the full-batch gradient of the training loss (one more pass with gradients).',
    }),
  },
  { additionalProperties: false },
);

export const evaluateInputs = {
  target: { type: ['Checkpoint', 'Curve'], doc: 'What to evaluate.' },
} as const;

export const evaluate = defineNode({
  kind: 'evaluate',
  version: 2,
  description:
    'Measures loss and accuracy of a checkpoint, or of a curve at evenly spaced t (recomputing batch-norm statistics at each t).',
  params: evaluateParams,
  inputs: evaluateInputs,
  outputs: {
    metrics: {
      type: 'Metrics',
      doc: 'For a checkpoint: `SPLIT_loss`, `SPLIT_accuracy`, sparsity per layer (`sparsity.NAME`) and overall, optionally `gradient_norm`; for a curve, its barrier heights.',
    },
    landscape: { type: 'Landscape', doc: 'For a curve, every evaluated t; for a checkpoint, one point at x = 0.' },
  },
  tensorBackend: true,
  datasetParam: 'dataset',
  // `points` only counts for a curve. The gradient norm's pass with gradients over the training set costs
  // about three forward passes.
  cost: (params, facts, inputs) =>
    inputs.target === 'Curve'
      ? pathCost(params.points, params.splits, facts)
      : evaluationCost(params.splits, facts) + (params.gradient_norm ? 3 * evaluationCost(['train'], facts) : 0),
  run: async (ctx) => (await import('./run.js')).runEvaluate(ctx),
});
