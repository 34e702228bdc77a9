/** The science of `interpolate`: the straight line between two checkpoints, evaluated as one path. */
import { pathMetricValues } from '../../science/nn/barrier.js';
import { assertSameModel, lineCoefficients } from '../../science/nn/curves.js';
import type { KindContext } from '../../engine/node-def.js';
import type { Landscape, Metrics } from '../../base/values.js';
import type { interpolateInputs, interpolateParams } from './def.js';
import { evaluationOf, fitsData, loadData, pathGrid, pathLandscape } from '../common/run-support.js';

export async function runInterpolate(ctx: KindContext<typeof interpolateParams, typeof interpolateInputs>): Promise<{ landscape: Landscape; metrics: Metrics }> {
  const { params, inputs } = ctx;
  const started = Date.now();
  assertSameModel(inputs.start, inputs.end, 'interpolate');
  const data = loadData(params.dataset, ctx);
  fitsData(inputs.start.model, data);
  const alphas = pathGrid(params.from, params.to, params.points);
  ctx.progress({ message: `evaluating ${alphas.length} points on ${params.splits.join(' and ')}` });
  const landscape = pathLandscape([inputs.start, inputs.end], alphas, lineCoefficients, data, evaluationOf(params), 'alpha');
  return { landscape, metrics: { values: { ...pathMetricValues(landscape.points), points: alphas.length, wall_s: (Date.now() - started) / 1000 } } };
}
