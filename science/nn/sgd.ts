/**
 * SGD with momentum (PyTorch semantics: v = m v + g, step along v, or g + m v with Nesterov) and coupled
 * weight decay. Masks multiply the gradient: masked weights start at zero, their momentum stays zero,
 * so they remain exactly zero after every step without re-masking the weights.
 */
import { tf, type Tensor } from './tf.js';

export interface SgdOptions {
  /** Default 0.9. */
  readonly momentum?: number;
  /** Default false. */
  readonly nesterov?: boolean;
  /** L2 coefficient added to the gradient (PyTorch's weight_decay); default 0. */
  readonly weightDecay?: number;
}

/** New weight and momentum for one tensor. Synchronous: call inside tf.tidy. */
export function sgdUpdate(w: Tensor, v: Tensor, grad: Tensor, mask: Tensor | undefined, lr: Tensor, opts: SgdOptions): { w: Tensor; v: Tensor } {
  const m = opts.momentum ?? 0.9;
  const wd = opts.weightDecay ?? 0;
  let g = mask ? tf.mul(grad, mask) : grad;
  if (wd) g = tf.add(g, tf.mul(w, wd));
  // Without momentum the buffer stays as it is; a clone, since callers assign v back to its variable.
  if (m === 0) return { w: tf.sub(w, tf.mul(g, lr)), v: tf.clone(v) };
  const nv = tf.add(tf.mul(v, m), g);
  const direction = opts.nesterov ? tf.add(g, tf.mul(nv, m)) : nv;
  return { w: tf.sub(w, tf.mul(direction, lr)), v: nv };
}
