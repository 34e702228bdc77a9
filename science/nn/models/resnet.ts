/**
 * CIFAR ResNet (He et al. 2016, section 4.2): a 3x3 conv to 16 channels, three stages of n basic blocks
 * (16, 32, 64 channels; stride 2 at the start of stages 2 and 3), global average pooling, a linear layer.
 * Depth 6n+2: n = 3 is ResNet-20. Shortcuts are parameter-free ("option A": subsample and zero-pad
 * channels), so every weight is a conv or the linear layer. Names follow the common PyTorch CIFAR ResNet
 * (`conv1.weight`, `bn1.*`, `layer1.0.conv1.weight`, `layer1.0.bn1.running_mean`, `linear.weight`).
 */
import type { ModelSpec } from '../../../base/values.js';
import { batchNorm, conv2d, dense } from '../layers.js';
import { autodiffLossAndGrads, type Network, type ParamInfo, type Params } from '../network.js';
import { tf, type Tensor } from '../tf.js';

export function resnet(spec: ModelSpec, blocksPerStage: number, baseWidth: number): Network {
  const [h, w, c] = spec.inputShape.length === 3 ? spec.inputShape : [0, 0, 0];
  if (!h || !w || !c) throw new Error(`resnet: input shape must be [height, width, channels], got [${spec.inputShape.join(', ')}]`);
  const params: ParamInfo[] = [];
  const conv = (name: string, cin: number, cout: number): void => {
    params.push({ name: `${name}.weight`, shape: [cout, cin, 3, 3], layout: 'conv2d', role: 'weight' });
  };
  const bn = (name: string, ch: number): void => {
    params.push(
      { name: `${name}.weight`, shape: [ch], layout: 'plain', role: 'bn-weight' },
      { name: `${name}.bias`, shape: [ch], layout: 'plain', role: 'bn-bias' },
      { name: `${name}.running_mean`, shape: [ch], layout: 'plain', role: 'bn-mean' },
      { name: `${name}.running_var`, shape: [ch], layout: 'plain', role: 'bn-var' },
    );
  };
  const widths = [baseWidth, 2 * baseWidth, 4 * baseWidth];
  conv('conv1', c, widths[0]!);
  bn('bn1', widths[0]!);
  const blocks: { prefix: string; cin: number; cout: number; stride: number }[] = [];
  let cin = widths[0]!;
  widths.forEach((cout, s) => {
    for (let b = 0; b < blocksPerStage; b++) {
      const prefix = `layer${s + 1}.${b}`;
      const stride = s > 0 && b === 0 ? 2 : 1;
      conv(`${prefix}.conv1`, cin, cout);
      bn(`${prefix}.bn1`, cout);
      conv(`${prefix}.conv2`, cout, cout);
      bn(`${prefix}.bn2`, cout);
      blocks.push({ prefix, cin, cout, stride });
      cin = cout;
    }
  });
  params.push(
    { name: 'linear.weight', shape: [spec.numClasses, cin], layout: 'linear', role: 'weight' },
    { name: 'linear.bias', shape: [spec.numClasses], layout: 'plain', role: 'bias' },
  );

  const forward = (p: Params, x: Tensor, training: boolean): { logits: Tensor; stats: Record<string, Tensor>; moments: Record<string, Tensor> } => {
    const stats: Record<string, Tensor> = {};
    const moments: Record<string, Tensor> = {};
    const norm = (name: string, a: Tensor): Tensor => {
      const r = batchNorm(a, { weight: p[`${name}.weight`]!, bias: p[`${name}.bias`]!, mean: p[`${name}.running_mean`]!, variance: p[`${name}.running_var`]! }, training);
      if (r.mean && r.variance) {
        stats[`${name}.running_mean`] = r.mean;
        stats[`${name}.running_var`] = r.variance;
        moments[`${name}.running_mean`] = r.batchMean!;
        moments[`${name}.running_var`] = r.batchVariance!;
      }
      return r.y;
    };
    let a: Tensor = tf.reshape(x, [x.shape[0]!, h, w, c]);
    a = tf.relu(norm('bn1', conv2d(a, p['conv1.weight']!, 1, 1)));
    for (const B of blocks) {
      let r = tf.relu(norm(`${B.prefix}.bn1`, conv2d(a, p[`${B.prefix}.conv1.weight`]!, B.stride, 1)));
      r = norm(`${B.prefix}.bn2`, conv2d(r, p[`${B.prefix}.conv2.weight`]!, 1, 1));
      let shortcut = a;
      if (B.stride !== 1 || B.cin !== B.cout) {
        // A 1x1 average pool with the block's stride subsamples; unlike stridedSlice it has a gradient.
        const sub = B.stride === 1 ? a : tf.avgPool(a as tf.Tensor4D, 1, B.stride, 'valid');
        const extra = B.cout - B.cin;
        shortcut = tf.pad(sub, [[0, 0], [0, 0], [0, 0], [Math.floor(extra / 2), extra - Math.floor(extra / 2)]]);
      }
      a = tf.relu(tf.add(r, shortcut));
    }
    const pooled = tf.mean(a, [1, 2]);
    return { logits: dense(pooled, p['linear.weight']!, p['linear.bias']), stats, moments };
  };
  const net: Network = {
    spec,
    params,
    logits: (p, x) => forward(p, x, false).logits,
    lossAndGrads: (p, x, labels, opts) => autodiffLossAndGrads(net, forward, p, x, labels, opts),
    batchStatistics: (p, x) => forward(p, x, true).moments,
  };
  return net;
}
