/**
 * The kernel interface of training and evaluating fully connected networks on host memory: dense
 * products, the element-wise steps around them, and the sparse kernels of masked layers. Weights are
 * [out, in] (checkpoint layout); activations are feature-major [features, batch]. Implementations
 * (native/kernels.c through koffi; the tfjs path in models/mlp.ts computes the same step) are held to
 * the same numbers by test/nn/host-kernels.test.ts. Every call works in place on its arguments.
 */
import type { SparseRows } from './csr.js';

export interface SgdSettings {
  readonly momentum: number;
  readonly weightDecay: number;
  readonly nesterov: boolean;
}

export interface HostKernels {
  /** Which implementation, for provenance (`native`). */
  readonly name: string;
  /** The implementation and the library under it (OpenBLAS's configuration string). */
  readonly description: string;
  /** c[m, n] = alpha op(a) op(b) + beta c, row-major; op transposes where its flag is set. */
  gemm(transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number, a: Float32Array, b: Float32Array, beta: number, c: Float32Array): void;
  /** dst[cols, rows] = src[rows, cols]^T. */
  transpose(src: Float32Array, rows: number, cols: number, dst: Float32Array): void;
  /** z[o, :] += bias[o], then ReLU where `relu`. */
  biasAct(z: Float32Array, bias: Float32Array, out: number, batch: number, relu: boolean): void;
  /** dz = 0 where a <= 0 (ReLU's derivative from its output). */
  reluBackward(dz: Float32Array, a: Float32Array, n: number): void;
  /** db[o] = sum over the batch of dz[o, :]. */
  biasGrad(dz: Float32Array, out: number, batch: number, db: Float32Array): void;
  /**
   * Mean cross-entropy of logits [K, B] against smoothed targets; writes (softmax - target) / B into
   * `dlogits` and the number of correct argmax predictions into `correct[0]` where given.
   */
  softmaxXent(logits: Float32Array, labels: Int32Array, classes: number, batch: number, smoothing: number, dlogits: Float32Array | null, correct: Int32Array | null): number;
  /** SGD with momentum and coupled weight decay over n entries; `mask` zeroes masked entries' gradients. */
  sgd(w: Float32Array, v: Float32Array, g: Float32Array, mask: Uint8Array | null, n: number, lr: number, opts: SgdSettings): void;
  /** y = a x + b y over n entries (b = 0 overwrites y). */
  axpby(n: number, a: number, x: Float32Array, b: number, y: Float32Array): void;
  /** z[out, B] = W a through W's kept weights. */
  csrForward(out: number, batch: number, w: SparseRows, a: Float32Array, z: Float32Array): void;
  /** da[in, B] = W^T dz through the transpose of W's pattern. */
  cscBackward(inputs: number, batch: number, w: SparseRows, dz: Float32Array, da: Float32Array): void;
  /** g[j] = (dz a^T) at W's kept position j only. */
  csrGrad(out: number, batch: number, w: SparseRows, dz: Float32Array, a: Float32Array, g: Float32Array): void;
}
