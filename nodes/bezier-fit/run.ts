/** The science of `bezier-fit`: fit the control points, then evaluate the curve at evenly spaced t. */
import { pathMetricValues } from '../../science/nn/barrier.js';
import { offMaskMass, fitCurve } from '../../science/nn/curve-fit.js';
import { bernstein, grid } from '../../science/nn/curves.js';
import type { KindContext } from '../../engine/node-def.js';
import type { Curve, Landscape, Metrics } from '../../base/values.js';
import type { bezierFitInputs, bezierFitParams } from './def.js';
import { resumableCurveFit } from '../../science/nn/resumable.js';
import { evaluationOf, fitsData, loadData, pathLandscape, sameModel, trainOptionsOf } from '../common/run-support.js';

export async function runBezierFit(ctx: KindContext<typeof bezierFitParams, typeof bezierFitInputs>): Promise<{ curve: Curve; landscape: Landscape; metrics: Metrics }> {
  const { params, inputs } = ctx;
  const started = Date.now();
  const data = loadData(params.dataset, ctx);
  fitsData(inputs.start.model, data);
  if (inputs.mask) sameModel(inputs.mask.model, inputs.start.model, 'the mask');
  const fit = await fitCurve(inputs.start, inputs.end, {
    degree: params.degree,
    subspace: params.subspace,
    ...(inputs.mask ? { masks: inputs.mask.masks } : {}),
    ...trainOptionsOf(params, data),
    tSeed: params.t_seed,
    ...(await resumableCurveFit(ctx)),
  });
  const ts = grid(0, 1, params.points);
  ctx.progress({ message: `evaluating the curve at ${ts.length} points` });
  const landscape = pathLandscape(fit.curve.points, ts, (t) => bernstein(params.degree, t), data, evaluationOf(params), 't');
  const controls = fit.curve.points.slice(1, -1);
  const off = offMaskMass(controls, inputs.mask?.masks ?? inputs.start.masks);
  const values = {
    ...pathMetricValues(landscape.points),
    ...fit.metrics.values,
    offmask_mass_fraction: off.massFraction,
    offmask_nonzero_fraction: off.nonzeroFraction,
    wall_s: (Date.now() - started) / 1000,
  };
  return { curve: fit.curve, landscape, metrics: { values, series: { ...(fit.metrics.series ?? {}) } } };
}
