/**
 * LeNet-5: conv(5x5, 6, pad 2) - ReLU - maxpool 2 - conv(5x5, 16) - ReLU - maxpool 2 - fc 120 - fc 84 -
 * fc K. Names as PyTorch (`conv1.weight` [6, C, 5, 5], `fc1.weight` [120, 16*h*w]); activations are
 * flattened in PyTorch's (C, H, W) order so an exported checkpoint computes the same function in torch.
 */
import type { ModelSpec } from '../../../base/values.js';
import { conv2d, dense } from '../layers.js';
import { autodiffLossAndGrads, type Network, type ParamInfo, type Params } from '../network.js';
import { tf, type Tensor } from '../tf.js';

export function lenet5(spec: ModelSpec): Network {
  const [h, w, c] = spec.inputShape.length === 3 ? spec.inputShape : spec.inputShape.length === 1 ? [Math.round(Math.sqrt(spec.inputShape[0]!)), Math.round(Math.sqrt(spec.inputShape[0]!)), 1] : [spec.inputShape[0]!, spec.inputShape[1]!, 1];
  if (h! * w! * c! !== spec.inputShape.reduce((a, b) => a * b, 1)) throw new Error(`lenet5: cannot read input shape [${spec.inputShape.join(', ')}] as an image`);
  // conv1 keeps the size (pad 2), pool halves it, conv2 (no pad) removes 4, pool halves again.
  const fh = Math.floor((Math.floor(h! / 2) - 4) / 2);
  const fw = Math.floor((Math.floor(w! / 2) - 4) / 2);
  if (fh < 1 || fw < 1) throw new Error(`lenet5: input ${h}x${w} is too small`);
  const flat = 16 * fh * fw;
  const params: ParamInfo[] = [
    { name: 'conv1.weight', shape: [6, c!, 5, 5], layout: 'conv2d', role: 'weight' },
    { name: 'conv1.bias', shape: [6], layout: 'plain', role: 'bias' },
    { name: 'conv2.weight', shape: [16, 6, 5, 5], layout: 'conv2d', role: 'weight' },
    { name: 'conv2.bias', shape: [16], layout: 'plain', role: 'bias' },
    { name: 'fc1.weight', shape: [120, flat], layout: 'linear', role: 'weight' },
    { name: 'fc1.bias', shape: [120], layout: 'plain', role: 'bias' },
    { name: 'fc2.weight', shape: [84, 120], layout: 'linear', role: 'weight' },
    { name: 'fc2.bias', shape: [84], layout: 'plain', role: 'bias' },
    { name: 'fc3.weight', shape: [spec.numClasses, 84], layout: 'linear', role: 'weight' },
    { name: 'fc3.bias', shape: [spec.numClasses], layout: 'plain', role: 'bias' },
  ];
  const forward = (p: Params, x: Tensor): { logits: Tensor; stats: Record<string, Tensor> } => {
    let a = tf.reshape(x, [x.shape[0]!, h!, w!, c!]) as tf.Tensor4D;
    a = tf.relu(tf.add(conv2d(a, p['conv1.weight']!, 1, 2), p['conv1.bias']!)) as tf.Tensor4D;
    a = tf.maxPool(a, 2, 2, 'valid');
    a = tf.relu(tf.add(conv2d(a, p['conv2.weight']!, 1, 0), p['conv2.bias']!)) as tf.Tensor4D;
    a = tf.maxPool(a, 2, 2, 'valid');
    let f: Tensor = tf.reshape(tf.transpose(a, [0, 3, 1, 2]), [x.shape[0]!, flat]);
    f = tf.relu(dense(f, p['fc1.weight']!, p['fc1.bias']));
    f = tf.relu(dense(f, p['fc2.weight']!, p['fc2.bias']));
    return { logits: dense(f, p['fc3.weight']!, p['fc3.bias']), stats: {} };
  };
  const net: Network = {
    spec,
    params,
    logits: (p, x) => forward(p, x).logits,
    lossAndGrads: (p, x, labels, opts) => autodiffLossAndGrads(net, forward, p, x, labels, opts),
  };
  return net;
}
