/** `bezier-fit`: a low-loss Bezier curve between two solutions (Garipov et al. 2018). */
import { Type } from '@sinclair/typebox';
import { defineNode } from '../../engine/node-def.js';
import { pathCost, trainingCost } from '../common/cost.js';
import { SCHEDULE_DOCS } from '../../science/nn/names.js';
import { evaluationParams, namesUnion, trainingParams } from '../common/params.js';

export const bezierFitParams = Type.Object(
  {
    ...trainingParams,
    ...evaluationParams,
    degree: Type.Union([Type.Literal(2), Type.Literal(3)], { default: 2, description: '2: quadratic (one control point), 3: cubic (two).' }),
    subspace: Type.Union([Type.Literal('sparse'), Type.Literal('dense')], {
      default: 'sparse',
      description: 'sparse: control points restricted to the mask; dense: every weight of the control points trains.',
    }),
    schedule: namesUnion(SCHEDULE_DOCS, { default: 'mode-connectivity', description: 'Learning-rate schedule of the curve fit' }),
    lr: Type.Number({ exclusiveMinimum: 0, default: 0.05, description: 'Base learning rate of the curve fit.' }),
    epochs: Type.Number({ exclusiveMinimum: 0, default: 10, description: 'Training length of the curve fit in epochs.' }),
    t_seed: Type.Integer({
      default: 0,
      description: 'Seed of the t drawn for each minibatch (the minibatches follow `data_seed`). In a seed sweep write `t_seed: "${item.seed}"` on the node.',
    }),
    points: Type.Integer({ minimum: 2, default: 61, description: 'Number of evenly spaced t in [0, 1] to evaluate.' }),
  },
  { additionalProperties: false },
);

export const bezierFitInputs = {
  start: { type: 'Checkpoint', doc: 'End point at t = 0 (e.g. the scratch solution).' },
  end: { type: 'Checkpoint', doc: 'End point at t = 1 (e.g. the pruned solution).' },
  mask: { type: 'Mask', optional: true, doc: 'Mask of the sparse subspace; by default the start point’s masks.' },
} as const;

export const bezierFit = defineNode({
  kind: 'bezier-fit',
  version: 2,
  description:
    'Fits the control points of a quadratic or cubic Bezier curve between two fixed end points by SGD on the loss at a random t per minibatch, then evaluates the curve.',
  params: bezierFitParams,
  inputs: bezierFitInputs,
  outputs: {
    curve: { type: 'Curve', doc: 'End points and fitted control points.' },
    landscape: { type: 'Landscape', doc: 'Loss and accuracy along the curve.' },
    metrics: {
      type: 'Metrics',
      doc: 'Barrier heights per split as for `interpolate`, the fit’s loss curve, and how much of the control points’ mass left the mask.',
    },
  },
  tensorBackend: true,
  datasetParam: 'dataset',
  cost: (params, facts) => trainingCost(params, facts) + pathCost(params.points, params.splits, facts),
  seed: (params) => params.t_seed,
  run: async (ctx) => (await import('./run.js')).runBezierFit(ctx),
});
