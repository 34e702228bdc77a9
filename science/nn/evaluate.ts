/** A checkpoint's loss and accuracy on a split, and the norm of its full-batch gradient. */
import type { Split } from '../data/load.js';
import type { Checkpoint } from '../../base/values.js';
import { addInto, fromDevice, uploadCheckpoint } from './device.js';
import { evaluatePath, type EvalResult } from './landscape.js';
import { buildNetwork } from './models/index.js';
import { tf, type Tensor } from './tf.js';

export interface EvalOptions {
  /** Samples per forward pass (default 2000, as paths use). */
  readonly batchSize?: number;
  /** Evaluate only the first n samples. */
  readonly limit?: number;
}

/**
 * Loss and accuracy of a checkpoint on a split, with its own batch-norm statistics: the one-point path
 * of landscape.ts, so that a path's end points and the checkpoints at its ends are evaluated by the
 * same arithmetic and agree exactly.
 */
export function evaluate(checkpoint: Checkpoint, split: Split, opts: EvalOptions = {}): EvalResult {
  return evaluatePath(buildNetwork(checkpoint.model), [checkpoint], [[1]], split, { ...opts, keepStatistics: true })[0]!;
}

/**
 * The L2 norm of the full-batch gradient of the mean training loss over every trainable tensor, and
 * over the entries the masks keep (the gradient a masked run can follow).
 */
export function gradientNorm(checkpoint: Checkpoint, split: Split, opts: EvalOptions = {}): { dense: number; masked: number } {
  const net = buildNetwork(checkpoint.model);
  const params = uploadCheckpoint(net, checkpoint);
  const n = Math.min(opts.limit ?? split.n, split.n);
  const batch = opts.batchSize ?? 1000;
  const d = split.x.length / split.n;
  const sums: Record<string, Tensor> = {};
  try {
    for (let start = 0; start < n; start += batch) {
      const b = Math.min(batch, n - start);
      const grads = tf.tidy(() => {
        const x = tf.tensor2d(split.x.subarray(start * d, (start + b) * d), [b, d]);
        const y = tf.tensor1d(split.y.subarray(start, start + b), 'int32');
        const r = net.lossAndGrads(params, x, y, {});
        tf.dispose(Object.values(r.stats));
        const weighted: Record<string, Tensor> = {};
        for (const [name, g] of Object.entries(r.grads)) weighted[name] = tf.mul(g, b / n);
        return weighted;
      });
      addInto(sums, grads);
    }
    let dense = 0;
    let masked = 0;
    for (const p of net.params) {
      const g = sums[p.name];
      if (!g) continue;
      const host = fromDevice(p, g).data;
      const mask = checkpoint.masks[p.name]?.data;
      for (let i = 0; i < host.length; i++) {
        const sq = host[i]! * host[i]!;
        dense += sq;
        if (!mask || mask[i]) masked += sq;
      }
    }
    return { dense: Math.sqrt(dense), masked: Math.sqrt(masked) };
  } finally {
    tf.dispose([...Object.values(params), ...Object.values(sums)]);
  }
}
