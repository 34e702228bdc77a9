/**
 * A path's landscape (landscape.ts's evaluatePath) for a fully connected network on the host kernels:
 * per batch of samples, the first layer's pre-activation of each basis point once (x W_k + b_k: dense
 * through BLAS, or through the kept weights where the basis point is sparse), each point's as the mix
 * sum_k c_k (x W_k + b_k), and the remaining, smaller layers at the point's mixed weights.
 */
import type { Checkpoint } from '../../../base/values.js';
import type { Split } from '../../data/load.js';
import { sparseRows, type SparseRows } from './csr.js';
import type { HostKernels } from './host-kernels.js';
import { sparseBelowFromEnv } from './host-mlp.js';

export interface HostPathResult {
  readonly loss: number;
  readonly accuracy: number;
  readonly n: number;
}

/** The first layer of one basis point: dense weights, or their nonzero pattern where that is sparse. */
type FirstLayer = { readonly w: Float32Array; readonly sp: SparseRows | null; readonly b: Float32Array };

function firstLayerOf(c: Checkpoint, out: number, inputs: number, sparseBelow: number): FirstLayer {
  const w = c.tensors['fc1.weight']!.data;
  const b = c.tensors['fc1.bias']!.data;
  const keep = new Uint8Array(w.length);
  let nonzero = 0;
  for (let i = 0; i < w.length; i++) if (w[i] !== 0) (keep[i] = 1), nonzero++;
  // Zeros contribute exactly nothing, so dropping them changes no number beyond summation order.
  return { w, b, sp: nonzero / w.length <= sparseBelow ? sparseRows(w, keep, out, inputs) : null };
}

/** Loss and accuracy of each point sum_k coefficients[j][k] basis[k] on `split`. */
export function evaluatePathOnHost(
  kernels: HostKernels,
  sizes: readonly number[],
  basis: readonly Checkpoint[],
  coefficients: readonly ArrayLike<number>[],
  split: Split,
  opts: { readonly batchSize?: number; readonly limit?: number } = {},
): HostPathResult[] {
  const k = kernels;
  const L = sizes.length - 1;
  const [d, h1] = [sizes[0]!, sizes[1]!];
  const classes = sizes[L]!;
  const n = Math.min(opts.limit ?? split.n, split.n);
  const batch = Math.min(opts.batchSize ?? 2000, Math.max(n, 1));
  const firsts = basis.map((c) => firstLayerOf(c, h1, d, sparseBelowFromEnv()));
  // Each point's mixed weights and biases of layers 2..L, computed once for the whole split.
  const mixedRest = coefficients.map((c) => {
    const layers: { w: Float32Array; b: Float32Array }[] = [];
    for (let l = 2; l <= L; l++) {
      const w = new Float32Array(sizes[l]! * sizes[l - 1]!);
      const b = new Float32Array(sizes[l]!);
      basis.forEach((p, j) => {
        if (c[j] === 0) return;
        k.axpby(w.length, c[j]!, p.tensors[`fc${l}.weight`]!.data, 1, w);
        k.axpby(b.length, c[j]!, p.tensors[`fc${l}.bias`]!.data, 1, b);
      });
      layers.push({ w, b });
    }
    return layers;
  });
  const P = firsts.map(() => new Float32Array(h1 * batch));
  const xT = new Float32Array(d * batch);
  const acts = sizes.slice(1).map((s) => new Float32Array(s * batch));
  const right = new Int32Array(1);
  const noBias = new Float32Array(h1);
  const loss = new Float64Array(coefficients.length);
  const hits = new Float64Array(coefficients.length);
  for (let s = 0; s < n; s += batch) {
    const b = Math.min(batch, n - s);
    const x = split.x.subarray(s * d, (s + b) * d);
    const y = split.y.subarray(s, s + b);
    if (firsts.some((f) => f.sp)) k.transpose(x, b, d, xT);
    firsts.forEach((f, j) => {
      const p = P[j]!.subarray(0, h1 * b);
      if (f.sp) k.csrForward(h1, b, f.sp, xT, p);
      else k.gemm(false, true, h1, b, d, 1, f.w, x, 0, p);
      k.biasAct(p, f.b, h1, b, false);
    });
    coefficients.forEach((c, j) => {
      const z1 = acts[0]!.subarray(0, h1 * b);
      z1.fill(0);
      for (let q = 0; q < basis.length; q++) if (c[q] !== 0) k.axpby(z1.length, c[q]!, P[q]!.subarray(0, h1 * b), 1, z1);
      let a = z1;
      if (L > 1) k.biasAct(z1, noBias, h1, b, true);
      mixedRest[j]!.forEach((layer, i) => {
        const l = i + 2;
        const z = acts[l - 1]!.subarray(0, sizes[l]! * b);
        k.gemm(false, false, sizes[l]!, b, sizes[l - 1]!, 1, layer.w, a, 0, z);
        k.biasAct(z, layer.b, sizes[l]!, b, l < L);
        a = z;
      });
      loss[j]! += k.softmaxXent(a, y, classes, b, 0, null, right) * b;
      hits[j]! += right[0]!;
    });
  }
  return coefficients.map((_, j) => ({ loss: loss[j]! / n, accuracy: hits[j]! / n, n }));
}
