/**
 * What a model architecture provides to the trainer: its named parameters (PyTorch names and layout in
 * checkpoints) and synchronous forward / loss-and-gradient functions over *effective* weight tensors.
 * Taking weights as arguments (rather than owning variables) lets a caller make them a function of other
 * trainables, e.g. a Bezier curve's control points, and chain the returned gradients itself.
 */
import type { ModelSpec } from '../../base/values.js';
import type { WeightLayout } from './layout.js';
import { tf, type Scalar, type Tensor } from './tf.js';

export type ParamRole = 'weight' | 'bias' | 'bn-weight' | 'bn-bias' | 'bn-mean' | 'bn-var';

export interface ParamInfo {
  /** PyTorch-style name, e.g. `fc1.weight`, `layer1.0.bn1.running_mean`. */
  readonly name: string;
  /** Shape in checkpoints (PyTorch layout: Linear [out, in], Conv2d [out, in, kh, kw]). */
  readonly shape: readonly number[];
  /** How the device layout differs from the checkpoint layout. */
  readonly layout: WeightLayout;
  /** `weight`s of Linear/Conv layers are prunable and masked; others never are. */
  readonly role: ParamRole;
}

export const isTrainable = (p: ParamInfo): boolean => p.role !== 'bn-mean' && p.role !== 'bn-var';
export const isPrunable = (p: ParamInfo): boolean => p.role === 'weight';

/** Tensors by parameter name, in device layout. */
export type Params = Readonly<Record<string, Tensor>>;

export interface LossOptions {
  /** Label smoothing epsilon: targets are (1-eps) one-hot + eps/K. Default 0. */
  readonly labelSmoothing?: number;
}

export interface LossAndGrads {
  /** Mean cross-entropy of the batch (no regulariser). */
  readonly loss: Scalar;
  /** Gradient of `loss` for each trainable parameter, device layout. */
  readonly grads: Record<string, Tensor>;
  /**
   * Updated running statistics (batch norm), by parameter name. These are kept out of tidy scopes:
   * the caller must dispose them.
   */
  readonly stats: Record<string, Tensor>;
}

export interface Network {
  readonly spec: ModelSpec;
  /** Every tensor of a checkpoint of this model, in a fixed order. */
  readonly params: readonly ParamInfo[];
  /** Eval-mode logits [B, K] for inputs [B, ...] (any shape with the right number of values per sample). */
  logits(p: Params, x: Tensor): Tensor;
  /** Training-mode loss and gradients for labels [B] (int32). Synchronous: call inside tf.tidy. */
  lossAndGrads(p: Params, x: Tensor, labels: Tensor, opts: LossOptions): LossAndGrads;
  /**
   * For networks whose first operation is linear in its weight (x W, before the bias): the split that
   * lets a path evaluate x W(t) = sum_k c_k (x W_k) from a few products shared by all its points.
   */
  readonly firstLinear?: FirstLinear;
  /**
   * For fully connected ReLU networks ([inputs, hidden..., classes], parameters `fc{l}.weight` [out, in]
   * and `fc{l}.bias`): the sizes the host kernels (kernels/host-mlp.ts) compute them from.
   */
  readonly denseLayerSizes?: readonly number[];
  /**
   * For networks with batch norm: the batch mean and (unbiased) variance each batch-norm layer sees in
   * training mode, by running-statistic name; used to recompute statistics at a point of a path.
   */
  batchStatistics?(p: Params, x: Tensor): Record<string, Tensor>;
}

export interface FirstLinear {
  /** The first layer's weight and bias names. */
  readonly weight: string;
  readonly bias: string;
  /** x [B, ...] times the weight (device layout) plus the bias: the first layer's pre-activation [B, H]. */
  project(x: Tensor, weight: Tensor, bias: Tensor): Tensor;
  /** The first layer's activation, applied to its pre-activation before `rest`. */
  readonly activation: 'relu' | 'linear';
  /** Eval-mode logits from the first layer's activations [B, H] and the other layers' params. */
  rest(p: Params, a: Tensor): Tensor;
}

/** Smoothed one-hot targets [B, K]. */
export function targets(labels: Tensor, numClasses: number, labelSmoothing = 0): Tensor {
  const oneHot = tf.cast(tf.oneHot(labels as tf.Tensor1D, numClasses), 'float32');
  if (!labelSmoothing) return oneHot;
  return tf.add(tf.mul(oneHot, 1 - labelSmoothing), labelSmoothing / numClasses);
}

/** Mean softmax cross-entropy between logits [B, K] and target distributions [B, K]. */
export function crossEntropy(logits: Tensor, target: Tensor): Scalar {
  return tf.div(tf.neg(tf.sum(tf.mul(tf.logSoftmax(logits), target))), logits.shape[0]!) as Scalar;
}

/**
 * Loss and gradients by autodiff of a training-mode forward function, for architectures without a
 * hand-written backward pass. Layers inside use ops from layers.ts, so their gradients are fast too.
 */
export function autodiffLossAndGrads(
  net: Pick<Network, 'params' | 'spec'>,
  forward: (p: Params, x: Tensor, training: boolean) => { logits: Tensor; stats: Record<string, Tensor> },
  p: Params,
  x: Tensor,
  labels: Tensor,
  opts: LossOptions,
): LossAndGrads {
  const names = net.params.filter(isTrainable).map((q) => q.name);
  const stats: Record<string, Tensor> = {};
  const target = targets(labels, net.spec.numClasses, opts.labelSmoothing);
  const f = (...ws: Tensor[]): Scalar => {
    const q: Record<string, Tensor> = { ...p };
    names.forEach((n, i) => (q[n] = ws[i]!));
    const out = forward(q, x, true);
    // The forward runs in a scope that autodiff tidies; keep the new statistics for the caller.
    for (const [k, v] of Object.entries(out.stats)) stats[k] = tf.keep(v);
    return crossEntropy(out.logits, target);
  };
  const { value, grads } = tf.valueAndGrads(f)(names.map((n) => p[n]!));
  const byName: Record<string, Tensor> = {};
  names.forEach((n, i) => (byName[n] = grads[i]!));
  return { loss: value as Scalar, grads: byName, stats };
}
