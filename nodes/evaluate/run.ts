/** The science of `evaluate`: a checkpoint on each split, or a curve at evenly spaced t. */
import { pathMetricValues } from '../../science/nn/barrier.js';
import { bernstein, grid } from '../../science/nn/curves.js';
import { gradientNorm } from '../../science/nn/evaluate.js';
import type { KindContext } from '../../engine/node-def.js';
import type { Checkpoint, Curve, Landscape, Metrics } from '../../base/values.js';
import type { evaluateInputs, evaluateParams } from './def.js';
import { checkpointMetrics, evaluationOf, fitsData, loadData, pathLandscape } from '../common/run-support.js';

const isCurve = (v: Checkpoint | Curve): v is Curve => 'points' in v && Array.isArray((v as Curve).points);

export async function runEvaluate(ctx: KindContext<typeof evaluateParams, typeof evaluateInputs>): Promise<{ metrics: Metrics; landscape: Landscape }> {
  const { params, inputs } = ctx;
  const data = loadData(params.dataset, ctx);
  const target = inputs.target;
  const ev = evaluationOf(params);
  if (isCurve(target)) {
    fitsData(target.points[0]!.model, data);
    const ts = grid(0, 1, params.points);
    const coefficients = target.family === 'bezier' ? (t: number) => bernstein(target.degree, t) : polychain(target.points.length);
    const landscape = pathLandscape(target.points, ts, coefficients, data, ev, 't');
    return { landscape, metrics: { values: { ...pathMetricValues(landscape.points), points: ts.length } } };
  }
  fitsData(target.model, data);
  const values = checkpointMetrics(target, data, ev.splits, ev.batchSize);
  if (params.gradient_norm) {
    const g = gradientNorm(target, data.train, { batchSize: ev.batchSize });
    values['gradient_norm'] = g.dense;
    values['gradient_norm_masked'] = g.masked;
  }
  const points = ev.splits.map((split) => ({ x: 0, split, loss: values[`${split}_loss`]!, accuracy: values[`${split}_accuracy`]! }));
  return { metrics: { values }, landscape: { axis: 't', points } };
}

/** A polygonal chain through its points at t = 0, 1/(m-1), ..., 1: coefficients of the two neighbours. */
function polychain(m: number): (t: number) => Float64Array {
  return (t) => {
    const c = new Float64Array(m);
    const s = Math.min(t * (m - 1), m - 1);
    const i = Math.min(Math.floor(s), m - 2);
    c[i] = 1 - (s - i);
    c[i + 1] = s - i;
    return c;
  };
}
