/**
 * Differentiable layer ops whose gradients take each backend's fast path. On wasm, autodiff of matMul
 * passes transpose flags (7-10x slower there) and the Conv2DBackpropFilter kernel is missing, so these
 * ops define their own gradients from transpose-free matMuls and plain convolutions. All synchronous:
 * call them inside tf.tidy (or a gradient function).
 */
import { kernelPreferences } from './backend.js';
import { tf, type Tensor } from './tf.js';

/** a @ b^T where b is given as [n, k]: transpose-free on backends where flags are slow. */
export function matMulBT(a: Tensor, b: Tensor): Tensor {
  return kernelPreferences().explicitTranspose ? tf.matMul(a, tf.transpose(b)) : tf.matMul(a, b, false, true);
}

/** a^T @ b where a is given as [k, m]. */
export function matMulAT(a: Tensor, b: Tensor): Tensor {
  return kernelPreferences().explicitTranspose ? tf.matMul(tf.transpose(a), b) : tf.matMul(a, b, true, false);
}

/** x [B, in] @ w [in, out] + bias; gradients through matMulAT/matMulBT. */
export function dense(x: Tensor, w: Tensor, bias: Tensor | undefined): Tensor {
  if (!kernelPreferences().explicitTranspose) {
    return bias ? tf.add(tf.matMul(x, w), bias) : tf.matMul(x, w);
  }
  // customGrad passes the inputs followed by a `save` callback. Inputs must go through `save`: autodiff
  // tidies the forward pass, so tensors merely captured by the closure are gone by the backward pass.
  const op = tf.customGrad((...args: unknown[]) => {
    const inputs = args.filter((a): a is Tensor => a instanceof tf.Tensor);
    const save = args[args.length - 1] as (t: Tensor[]) => void;
    const [xi, wi, bi] = [inputs[0]!, inputs[1]!, inputs[2]];
    save([xi, wi]);
    const value = bi ? tf.add(tf.matMul(xi, wi), bi) : tf.matMul(xi, wi);
    return {
      value,
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        const [xs, ws] = [saved[0]!, saved[1]!];
        const grads = [matMulBT(dy, ws), matMulAT(xs, dy)];
        if (bi) grads.push(tf.sum(dy, 0));
        return grads;
      },
    };
  });
  return bias ? op(x, w, bias) : op(x, w);
}

/** Whether this backend lacks the filter-gradient kernel of conv2d (true on wasm). */
function needsConvFilterGrad(): boolean {
  return tf.getKernel('Conv2DBackpropFilter', tf.getBackend()) === undefined;
}

/**
 * The filter gradient of conv2d(x, w, stride, pad) as a convolution of the padded input with dy
 * dilated by the stride: dW[i,j,c,o] = sum_{n,h,w} xpad[n, h*s+i, w*s+j, c] * dy[n, h, w, o].
 */
export function conv2dFilterGrad(x: Tensor, dy: Tensor, filterShape: readonly number[], stride: number, pad: number): Tensor {
  const [kh, kw] = [filterShape[0]!, filterShape[1]!];
  const xpad = pad > 0 ? tf.pad(x, [[0, 0], [pad, pad], [pad, pad], [0, 0]]) : x;
  const xt = tf.transpose(xpad, [3, 1, 2, 0]) as tf.Tensor4D; // [c, H, W, n]: channels become the batch
  const ft = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D; // [oh, ow, n, o]: dy becomes the filter
  const full = tf.conv2d(xt, ft, 1, 'valid', 'NHWC', stride); // [c, >=kh, >=kw, o]
  const cropped = tf.slice(full, [0, 0, 0, 0], [full.shape[0], kh, kw, full.shape[3]]);
  return tf.transpose(cropped, [1, 2, 0, 3]);
}

/** conv2d with symmetric zero padding `pad` (PyTorch's semantics), NHWC input, [kh, kw, in, out] filter. */
export function conv2d(x: Tensor, w: Tensor, stride: number, pad: number, forceFilterGradTrick = false): Tensor {
  const x4 = x as tf.Tensor4D;
  const w4 = w as tf.Tensor4D;
  const run = (xi: tf.Tensor4D, wi: tf.Tensor4D): tf.Tensor4D =>
    pad > 0 && stride === 1 ? tf.conv2d(xi, wi, stride, pad) : tf.conv2d(pad > 0 ? tf.pad(xi, [[0, 0], [pad, pad], [pad, pad], [0, 0]]) : xi, wi, stride, 'valid');
  if (!forceFilterGradTrick && !needsConvFilterGrad()) return run(x4, w4);
  const op = tf.customGrad((...args: unknown[]) => {
    const [xi, wi, save] = args as [Tensor, Tensor, (t: Tensor[]) => void];
    save([xi, wi]);
    const value = run(xi as tf.Tensor4D, wi as tf.Tensor4D);
    return {
      value,
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        const g = dy as tf.Tensor4D;
        const [xi, wi] = [saved[0]!, saved[1]!];
        const xs = xi.shape as [number, number, number, number];
        const padded: [number, number, number, number] = [xs[0], xs[1] + 2 * pad, xs[2] + 2 * pad, xs[3]];
        let dx = tf.conv2dTranspose(g, wi as tf.Tensor4D, padded, stride, 'valid') as Tensor;
        if (pad > 0) dx = tf.slice(dx, [0, pad, pad, 0], xs);
        return [dx, conv2dFilterGrad(xi, g, wi.shape, stride, pad)];
      },
    };
  });
  return op(x4, w4);
}

/** Running statistics' update factor (PyTorch's default momentum). */
export const BN_MOMENTUM = 0.1;
export const BN_EPSILON = 1e-5;

/**
 * Batch norm over all axes but the last. In training mode it normalises with the batch statistics and
 * returns the updated running statistics (as PyTorch: unbiased variance in the running estimate).
 */
export function batchNorm(
  x: Tensor,
  p: { weight: Tensor; bias: Tensor; mean: Tensor; variance: Tensor },
  training: boolean,
): { y: Tensor; mean?: Tensor; variance?: Tensor; batchMean?: Tensor; batchVariance?: Tensor } {
  if (!training) {
    return { y: tf.add(tf.mul(tf.div(tf.sub(x, p.mean), tf.sqrt(tf.add(p.variance, BN_EPSILON))), p.weight), p.bias) };
  }
  const axes = x.shape.slice(0, -1).map((_, i) => i);
  const { mean, variance } = tf.moments(x, axes);
  const y = tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, BN_EPSILON))), p.weight), p.bias);
  const count = x.size / x.shape[x.shape.length - 1]!;
  const newMean = tf.add(tf.mul(p.mean, 1 - BN_MOMENTUM), tf.mul(mean, BN_MOMENTUM));
  const unbiased = tf.mul(variance, count / Math.max(count - 1, 1));
  const newVar = tf.add(tf.mul(p.variance, 1 - BN_MOMENTUM), tf.mul(unbiased, BN_MOMENTUM));
  return { y, mean: newMean, variance: newVar, batchMean: mean, batchVariance: unbiased };
}
