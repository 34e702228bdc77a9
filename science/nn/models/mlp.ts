/**
 * Fully connected ReLU networks; LeNet-300-100 is `hidden: [300, 100]`. Parameters `fc1.weight`,
 * `fc1.bias`, ... `fc{L}.*` (the output layer is the last fc). The backward pass is written by hand:
 * three matMuls per layer (matMulAT/matMulBT pick each backend's fast transpose), fused bias + ReLU.
 */
import type { ModelSpec } from '../../../base/values.js';
import { matMulAT, matMulBT } from '../layers.js';
import { crossEntropy, targets, type LossAndGrads, type LossOptions, type Network, type ParamInfo, type Params } from '../network.js';
import { tf, type Scalar, type Tensor } from '../tf.js';

export function mlp(spec: ModelSpec, hidden: readonly number[]): Network {
  const inputSize = spec.inputShape.reduce((a, b) => a * b, 1);
  const sizes = [inputSize, ...hidden, spec.numClasses];
  const layers = sizes.slice(1).map((out, l) => ({ w: `fc${l + 1}.weight`, b: `fc${l + 1}.bias`, in: sizes[l]!, out }));
  const params: ParamInfo[] = layers.flatMap((L) => [
    { name: L.w, shape: [L.out, L.in], layout: 'linear' as const, role: 'weight' as const },
    { name: L.b, shape: [L.out], layout: 'plain' as const, role: 'bias' as const },
  ]);

  /** Activations of every layer input (index 0 = x) and the logits. */
  const forward = (p: Params, x: Tensor): { acts: Tensor[]; logits: Tensor } => {
    const acts: Tensor[] = [tf.reshape(x, [x.shape[0]!, inputSize])];
    let logits: Tensor | undefined;
    layers.forEach((L, l) => {
      const last = l === layers.length - 1;
      const z = tf.fused.matMul({ a: acts[l] as tf.Tensor2D, b: p[L.w] as tf.Tensor2D, bias: p[L.b], activation: last ? 'linear' : 'relu' });
      if (last) logits = z;
      else acts.push(z);
    });
    return { acts, logits: logits! };
  };

  /** Logits from layer 1's activations relu(x W1 + b1). */
  const rest = (p: Params, a1: Tensor): Tensor => {
    let a = a1;
    for (let l = 1; l < layers.length; l++) {
      const L = layers[l]!;
      const last = l === layers.length - 1;
      a = tf.fused.matMul({ a: a as tf.Tensor2D, b: p[L.w] as tf.Tensor2D, bias: p[L.b], activation: last ? 'linear' : 'relu' });
    }
    return a;
  };

  return {
    spec,
    params,
    denseLayerSizes: sizes,
    logits: (p, x) => forward(p, x).logits,
    firstLinear: {
      weight: layers[0]!.w,
      bias: layers[0]!.b,
      activation: layers.length === 1 ? 'linear' : 'relu',
      project: (x, w, b) => tf.fused.matMul({ a: tf.reshape(x, [x.shape[0]!, inputSize]) as tf.Tensor2D, b: w as tf.Tensor2D, bias: b }),
      rest,
    },
    lossAndGrads(p: Params, x: Tensor, labels: Tensor, opts: LossOptions): LossAndGrads {
      const { acts, logits } = forward(p, x);
      const target = targets(labels, spec.numClasses, opts.labelSmoothing);
      const logp = tf.logSoftmax(logits);
      const batch = logits.shape[0]!;
      const loss = tf.div(tf.neg(tf.sum(tf.mul(logp, target))), batch) as Scalar;
      // d loss / d logits = (softmax - target) / B
      let dz = tf.div(tf.sub(tf.exp(logp), target), batch);
      const grads: Record<string, Tensor> = {};
      for (let l = layers.length - 1; l >= 0; l--) {
        const L = layers[l]!;
        const a = acts[l]!;
        grads[L.w] = matMulAT(a, dz);
        grads[L.b] = tf.sum(dz, 0);
        if (l > 0) {
          const da = matMulBT(dz, p[L.w]!);
          // ReLU's derivative from its output: 1 where the unit was active.
          dz = tf.mul(da, tf.step(a));
        }
      }
      return { loss, grads, stats: {} };
    },
  };
}

/** Exposed for tests: the autodiff reference of the same network. */
export function mlpReferenceLoss(net: Network, p: Params, x: Tensor, labels: Tensor, opts: LossOptions): Scalar {
  return crossEntropy(net.logits(p, x), targets(labels, net.spec.numClasses, opts.labelSmoothing));
}
