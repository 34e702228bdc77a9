/**
 * What a path's landscape says, per split (no tensor library: figures and reports use it too):
 *
 *   barrier height       = max_{x in [0,1]} L(x) - max(L(0), L(1))
 *   barrier (mean ends)  = max_{x in [0,1]} L(x) - (L(0) + L(1)) / 2      (linear-mode-connectivity work)
 *
 * for the loss and for the error (1 - accuracy), and whether the loss never rises from x=0 to x=1.
 * Points outside [0, 1] (a line's grid may extend past its ends) are shown but not part of the path.
 */
import type { LandscapePoint } from '../../base/values.js';

export interface PathSummary {
  readonly lossStart: number;
  readonly lossEnd: number;
  readonly lossMax: number;
  /** Where on [0, 1] the loss is largest. */
  readonly argmax: number;
  readonly barrierLoss: number;
  readonly barrierLossMean: number;
  readonly barrierError: number;
  readonly barrierErrorMean: number;
  /** The loss never increases between consecutive points from x=0 to x=1. */
  readonly monotone: boolean;
  /** The largest increase of the loss between consecutive points on [0, 1] (0 when monotone). */
  readonly maxRise: number;
}

/** Summary of one split's points; the points at x=0 and x=1 must be present. */
export function summarisePath(points: readonly LandscapePoint[]): PathSummary {
  const on = points.filter((p) => p.x >= 0 && p.x <= 1).sort((a, b) => a.x - b.x);
  const first = on[0];
  const last = on[on.length - 1];
  if (!first || !last || first.x !== 0 || last.x !== 1) throw new Error('a path summary needs the points at 0 and 1');
  let lossMax = -Infinity;
  let argmax = 0;
  let errorMax = -Infinity;
  let maxRise = 0;
  on.forEach((p, i) => {
    if (p.loss > lossMax) {
      lossMax = p.loss;
      argmax = p.x;
    }
    errorMax = Math.max(errorMax, 1 - p.accuracy);
    if (i > 0) maxRise = Math.max(maxRise, p.loss - on[i - 1]!.loss);
  });
  const [e0, e1] = [1 - first.accuracy, 1 - last.accuracy];
  return {
    lossStart: first.loss,
    lossEnd: last.loss,
    lossMax,
    argmax,
    barrierLoss: lossMax - Math.max(first.loss, last.loss),
    barrierLossMean: lossMax - (first.loss + last.loss) / 2,
    barrierError: errorMax - Math.max(e0, e1),
    barrierErrorMean: errorMax - (e0 + e1) / 2,
    monotone: maxRise <= 0,
    maxRise,
  };
}

/** The summaries of every split as Metrics values, `SPLIT_NAME` (e.g. `train_barrier_loss`). */
export function pathMetricValues(points: readonly LandscapePoint[]): Record<string, number> {
  const values: Record<string, number> = {};
  const splits = [...new Set(points.map((p) => p.split))];
  for (const split of splits) {
    const s = summarisePath(points.filter((p) => p.split === split));
    const put = (name: string, v: number) => (values[`${split}_${name}`] = v);
    put('loss_start', s.lossStart);
    put('loss_end', s.lossEnd);
    put('loss_max', s.lossMax);
    put('loss_argmax', s.argmax);
    put('barrier_loss', s.barrierLoss);
    put('barrier_loss_mean', s.barrierLossMean);
    put('barrier_error', s.barrierError);
    put('barrier_error_mean', s.barrierErrorMean);
    put('monotone', s.monotone ? 1 : 0);
    put('max_rise', s.maxRise);
  }
  return values;
}
