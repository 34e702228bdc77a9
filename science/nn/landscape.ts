/**
 * Loss and accuracy along a path through weight space, w_j = sum_k c_jk theta_k for a few basis points
 * theta_k (the ends of a line, or a Bezier curve's end and control points).
 *
 * A landscape is many evaluations of nearby weights, so it shares what its points have in common: where
 * the network's first operation is linear in its weight (Network.firstLinear), x W(t) = sum_k c_k (x W_k),
 * so each batch pays K products with the large first layer instead of one per point, and each point only
 * the rest of the network. With batch norm, the statistics at each point are recomputed on a training
 * split first (Garipov et al.: the mixed running statistics mean nothing).
 *
 * A checkpoint's evaluation (evaluate.ts) is the one-point path, so it and a path's end points are
 * computed by the same arithmetic and agree exactly.
 */
import type { Split } from '../data/load.js';
import type { Checkpoint } from '../../base/values.js';
import { hostKernels } from './backend.js';
import { addInto, uploadCheckpoint } from './device.js';
import { evaluatePathOnHost } from './kernels/host-path.js';
import type { Network, Params } from './network.js';
import { tf, type Tensor } from './tf.js';

/** Loss and accuracy of one point on a split. */
export interface EvalResult {
  /** Mean cross-entropy (no regulariser, no label smoothing). */
  readonly loss: number;
  readonly accuracy: number;
  readonly n: number;
}

export interface PathEvalOptions {
  /** Samples per forward pass (default 2000: the path's per-point products stay in cache). */
  readonly batchSize?: number;
  /** Evaluate only the first n samples. */
  readonly limit?: number;
  /** Where batch-norm statistics are recomputed at each point (networks with batch norm only). */
  readonly statsSplit?: Split;
  /**
   * Points mixed and evaluated together; bounds device memory. Default: every point on the fast path
   * (each chunk pays the first-layer products again, and its points hold only the smaller layers), 16
   * otherwise.
   */
  readonly chunk?: number;
  /** Use the mixed batch-norm statistics as they are (a single checkpoint's own statistics). */
  readonly keepStatistics?: boolean;
}

/** sum_k c_k t_k, skipping zero coefficients; exact when one coefficient is 1 and the rest 0. */
function mix(tensors: readonly Tensor[], c: ArrayLike<number>): Tensor {
  let out: Tensor | undefined;
  for (let k = 0; k < tensors.length; k++) {
    const ck = c[k]!;
    if (ck === 0) continue;
    const term = ck === 1 ? tensors[k]! : tf.mul(tensors[k]!, ck);
    out = out ? tf.add(out, term) : term;
  }
  if (!out) return tf.zerosLike(tensors[0]!);
  // A lone unit coefficient would hand back the basis tensor itself, which its owner disposes.
  return tensors.includes(out) ? tf.clone(out) : out;
}

const hasBatchNorm = (net: Network): boolean => net.params.some((p) => p.role === 'bn-mean');

/**
 * Batch-norm running statistics of `p` recomputed on `split`: each layer's batch means and unbiased
 * variances averaged over the batches, each weighted by its size (as dnn-mode-connectivity's update_bn).
 */
function recomputeStatistics(net: Network, p: Record<string, Tensor>, split: Split, batchSize: number): void {
  if (!net.batchStatistics) throw new Error(`${net.spec.arch} has batch norm but no batchStatistics`);
  const d = split.x.length / split.n;
  const sums: Record<string, Tensor> = {};
  for (let start = 0; start < split.n; start += batchSize) {
    const b = Math.min(batchSize, split.n - start);
    addInto(
      sums,
      tf.tidy(() => {
        const moments = net.batchStatistics!(p, tf.tensor2d(split.x.subarray(start * d, (start + b) * d), [b, d]));
        const weighted: Record<string, Tensor> = {};
        for (const [name, m] of Object.entries(moments)) weighted[name] = tf.mul(m, b / split.n);
        return weighted;
      }),
    );
  }
  for (const [name, s] of Object.entries(sums)) {
    p[name]?.dispose();
    p[name] = s;
  }
}

/** Evaluates every point of a path on `split`; results in the order of `coefficients`. */
export function evaluatePath(net: Network, basis: readonly Checkpoint[], coefficients: readonly ArrayLike<number>[], split: Split, opts: PathEvalOptions = {}): EvalResult[] {
  for (const c of coefficients) if (c.length !== basis.length) throw new Error(`a path point has ${c.length} coefficients for ${basis.length} basis points`);
  const bn = hasBatchNorm(net) && !opts.keepStatistics;
  if (bn && !opts.statsSplit) throw new Error(`${net.spec.arch} has batch norm: a path needs a split to recompute its statistics on`);
  const kernels = hostKernels();
  if (kernels && net.denseLayerSizes) return evaluatePathOnHost(kernels, net.denseLayerSizes, basis, coefficients, split, opts);
  const fast = hasBatchNorm(net) ? undefined : net.firstLinear;
  const uploaded = basis.map((b) => uploadCheckpoint(net, b));
  const chunk = Math.max(1, opts.chunk ?? (fast ? coefficients.length : 16));
  const results: EvalResult[] = [];
  try {
    for (let from = 0; from < coefficients.length; from += chunk) {
      const points = coefficients.slice(from, from + chunk);
      // Each point's weights, except the first layer's on the fast path.
      const mixed: Record<string, Tensor>[] = points.map((c) =>
        tf.tidy(() => {
          const p: Record<string, Tensor> = {};
          for (const q of net.params) {
            if (fast && (q.name === fast.weight || q.name === fast.bias)) continue;
            p[q.name] = mix(uploaded.map((u) => u[q.name]!), c);
          }
          return p;
        }),
      );
      try {
        if (bn) for (const p of mixed) recomputeStatistics(net, p, opts.statsSplit!, opts.batchSize ?? 2000);
        const evalChunk = fast
          ? (x: Tensor): Tensor[] => {
              // x W_k + b_k for each basis point, flattened as the rows of one [K, B*H] matrix: since
              // the first layer is linear, the pre-activation at a point is c @ P (one thin GEMM, with
              // the activation fused), instead of a product with the large first weight per point.
              const P = tf.stack(uploaded.map((u) => tf.reshape(fast.project(x, u[fast.weight]!, u[fast.bias]!), [-1])));
              const hidden = P.shape[1]! / x.shape[0]!;
              return points.map((c, j) => {
                const z = tf.fused.matMul({ a: tf.tensor2d(Array.from(c), [1, c.length]), b: P as tf.Tensor2D, activation: fast.activation });
                return fast.rest(mixed[j]!, tf.reshape(z, [x.shape[0]!, hidden]));
              });
            }
          : (x: Tensor): Tensor[] => mixed.map((p) => net.logits(p as Params, x));
        for (const r of evaluateLogits(evalChunk, points.length, split, net.spec.numClasses, opts)) results.push(r);
      } finally {
        for (const p of mixed) tf.dispose(Object.values(p));
      }
    }
  } finally {
    for (const u of uploaded) tf.dispose(Object.values(u));
  }
  return results;
}

/**
 * Loss and accuracy of `m` models on a split, in batches: `logitsOf(x)` gives each model's logits for a
 * batch; losses and hits of all models are reduced together and read back once per batch.
 */
function evaluateLogits(logitsOf: (x: Tensor) => Tensor[], m: number, split: Split, numClasses: number, opts: PathEvalOptions): EvalResult[] {
  const n = Math.min(opts.limit ?? split.n, split.n);
  const batch = opts.batchSize ?? 2000;
  const d = split.x.length / split.n;
  const sums = new Float64Array(2 * m);
  for (let start = 0; start < n; start += batch) {
    const b = Math.min(batch, n - start);
    const values = tf.tidy(() => {
      const x = tf.tensor2d(split.x.subarray(start * d, (start + b) * d), [b, d]);
      const y = tf.tensor1d(split.y.subarray(start, start + b), 'int32');
      const logits = tf.stack(logitsOf(x)); // [m, B, K]
      const logp = tf.logSoftmax(logits);
      const oneHot = tf.cast(tf.oneHot(y, numClasses), 'float32');
      const picked = tf.sum(tf.mul(logp, oneHot), [1, 2]);
      const hits = tf.sum(tf.cast(tf.equal(tf.argMax(logits, 2), y), 'float32'), 1);
      return tf.stack([tf.neg(picked), hits], 1);
    });
    const v = values.dataSync();
    values.dispose();
    for (let i = 0; i < 2 * m; i++) sums[i]! += v[i]!;
  }
  return Array.from({ length: m }, (_, j) => ({ loss: sums[2 * j]! / n, accuracy: sums[2 * j + 1]! / n, n }));
}
