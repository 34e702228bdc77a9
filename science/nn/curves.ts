/**
 * Paths through weight space as coefficients over a set of points (as dnn-mode-connectivity's
 * curves.py): a curve family only says which coefficients a position t has; mixing them into weights
 * is done elsewhere (on the host here, on the device in landscape.ts and curve-fit.ts), so a new family
 * touches no model.
 *
 *   Bezier of degree n:  w(t) = sum_k C(n,k) t^k (1-t)^(n-k) theta_k,   theta_0 and theta_n the end points
 *   straight line:       w(a) = (1-a) theta_0 + a theta_1               (any real a, also outside [0, 1])
 */
import type { Checkpoint, HostTensor } from '../../base/values.js';

function binomial(n: number, k: number): number {
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return r;
}

/** The Bernstein coefficients of degree n at t: they sum to 1, and are (1,0..0) at t=0, (0..0,1) at t=1. */
export function bernstein(degree: number, t: number): Float64Array {
  const out = new Float64Array(degree + 1);
  for (let k = 0; k <= degree; k++) out[k] = binomial(degree, k) * t ** k * (1 - t) ** (degree - k);
  return out;
}

/** Coefficients of the line at alpha: [1 - alpha, alpha]. */
export const lineCoefficients = (alpha: number): Float64Array => Float64Array.of(1 - alpha, alpha);

/** n evenly spaced positions from `from` to `to`, ends included (exact ends, no accumulated error). */
export function grid(from: number, to: number, n: number): number[] {
  if (n === 1) return [from];
  return Array.from({ length: n }, (_, i) => (i === n - 1 ? to : from + ((to - from) * i) / (n - 1)));
}

/** sum_k c_k * tensors_k, computed in float64 and rounded once. */
function mixTensors(tensors: readonly HostTensor<'float32'>[], coefficients: ArrayLike<number>): HostTensor<'float32'> {
  const first = tensors[0]!;
  const out = new Float32Array(first.data.length);
  for (let i = 0; i < out.length; i++) {
    let v = 0;
    for (let k = 0; k < tensors.length; k++) {
      const c = coefficients[k]!;
      if (c !== 0) v += c * tensors[k]!.data[i]!;
    }
    out[i] = v;
  }
  return { dtype: 'float32', shape: [...first.shape], data: out };
}

/**
 * The checkpoint at coefficients c over `points`: every tensor mixed (batch-norm statistics too; a
 * landscape recomputes them). Masks are the union of the points' masks, since the point's weights can
 * be nonzero wherever any point's are.
 */
export function mixCheckpoints(points: readonly Checkpoint[], coefficients: ArrayLike<number>): Checkpoint {
  const first = points[0]!;
  const tensors: Record<string, HostTensor<'float32'>> = {};
  for (const name of Object.keys(first.tensors)) tensors[name] = mixTensors(points.map((p) => tensorOf(p, name)), coefficients);
  const masks: Record<string, HostTensor<'uint8'>> = {};
  for (const [name, m] of Object.entries(first.masks)) {
    const data = m.data.slice();
    for (const p of points.slice(1)) {
      const other = p.masks[name];
      if (!other) data.fill(1);
      else for (let i = 0; i < data.length; i++) data[i] = data[i]! | other.data[i]!;
    }
    masks[name] = { dtype: 'uint8', shape: [...m.shape], data };
  }
  return { model: first.model, tensors, masks, step: 0 };
}

function tensorOf(p: Checkpoint, name: string): HostTensor<'float32'> {
  const t = p.tensors[name];
  if (!t) throw new Error(`checkpoint of ${p.model.arch} lacks tensor ${name}`);
  return t;
}

/**
 * The initial control points of a Bezier curve of degree n: evenly spaced on the straight line,
 * theta_k = (1 - k/n) theta_0 + (k/n) theta_n, so the untrained curve is the line itself.
 */
export function lineControlPoints(start: Checkpoint, end: Checkpoint, degree: number): Checkpoint[] {
  const out: Checkpoint[] = [];
  for (let k = 1; k < degree; k++) {
    const a = k / degree;
    const p = mixCheckpoints([start, end], [1 - a, a]);
    out.push({ ...p, masks: start.masks });
  }
  return out;
}

/** Checks that two checkpoints can be the ends of one path: the same model and the same tensor shapes. */
export function assertSameModel(a: Checkpoint, b: Checkpoint, what: string): void {
  const spec = (c: Checkpoint) => JSON.stringify([c.model.arch, c.model.inputShape, c.model.numClasses, c.model.options ?? {}]);
  if (spec(a) !== spec(b)) throw new Error(`${what}: the end points are different models (${a.model.arch} and ${b.model.arch})`);
  for (const [name, t] of Object.entries(a.tensors)) {
    const u = b.tensors[name];
    if (!u || u.shape.join('x') !== t.shape.join('x')) throw new Error(`${what}: tensor ${name} differs in shape between the end points`);
  }
}
