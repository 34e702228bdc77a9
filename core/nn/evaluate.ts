/** Loss and accuracy of weights on a split, in large batches (forward only, eval mode). */
import type { Split } from '../data/load.js';
import type { Checkpoint } from '../values.js';
import { uploadCheckpoint } from './device.js';
import { buildNetwork } from './models/index.js';
import type { Network, Params } from './network.js';
import { tf } from './tf.js';

export interface EvalResult {
  /** Mean cross-entropy (no regulariser, no label smoothing). */
  readonly loss: number;
  readonly accuracy: number;
  readonly n: number;
}

export interface EvalOptions {
  /** Samples per forward pass; large batches are fastest on CPU backends. Default 5000. */
  readonly batchSize?: number;
  /** Evaluate only the first n samples. */
  readonly limit?: number;
}

/** Evaluates weights already on the device (e.g. points along a path), without copying them. */
export function evaluateParams(net: Network, params: Params, split: Split, opts: EvalOptions = {}): EvalResult {
  const n = Math.min(opts.limit ?? split.n, split.n);
  const batch = opts.batchSize ?? 5000;
  const d = split.x.length / split.n;
  let lossSum = 0;
  let correct = 0;
  for (let start = 0; start < n; start += batch) {
    const b = Math.min(batch, n - start);
    const [l, c] = tf.tidy(() => {
      const x = tf.tensor2d(split.x.subarray(start * d, (start + b) * d), [b, d]);
      const y = tf.tensor1d(split.y.subarray(start, start + b), 'int32');
      const logits = net.logits(params, x);
      const logp = tf.logSoftmax(logits);
      const picked = tf.sum(tf.mul(logp, tf.cast(tf.oneHot(y, net.spec.numClasses), 'float32')));
      const hits = tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), y), 'float32'));
      return [tf.neg(picked), hits];
    });
    lossSum += l!.dataSync()[0]!;
    correct += c!.dataSync()[0]!;
    tf.dispose([l!, c!]);
  }
  return { loss: lossSum / n, accuracy: correct / n, n };
}

/** Loss and accuracy of a checkpoint on a split. */
export function evaluate(checkpoint: Checkpoint, split: Split, opts: EvalOptions = {}): EvalResult {
  const net = buildNetwork(checkpoint.model);
  const params = uploadCheckpoint(net, checkpoint);
  try {
    return evaluateParams(net, params, split, opts);
  } finally {
    tf.dispose(Object.values(params));
  }
}
