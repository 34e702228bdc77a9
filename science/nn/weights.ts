/**
 * Where a training run's weights, momentum and masks live while it runs, and how a step updates them:
 * on a tfjs backend's device (weights-on-device.ts, every architecture) or in host memory through the
 * native kernels (weights-on-host.ts, fully connected networks). `train` sees only this interface, so
 * both paths share the loop, the hooks, snapshots and resumable state, and give the same numbers to
 * float32 rounding.
 */
import type { HostTensor } from '../../base/values.js';
import type { Batch } from './loop.js';
import type { Tensor } from './tf.js';

export interface TrainingWeights {
  /** Which path computes (`native`, or the tfjs backend's name), for provenance. */
  readonly path: string;
  /** One SGD step on `batch` at rate `lr`; the batch loss (a scalar tensor on the device path). */
  update(batch: Batch, lr: number): Tensor | number;
  /** Current weights (every tensor of the checkpoint), checkpoint layout, copies. */
  weights(): Record<string, HostTensor<'float32'>>;
  /** Momentum buffers of the trainable tensors, checkpoint layout, copies. */
  momentum(): Record<string, HostTensor<'float32'>>;
  /** Replaces the masks of every prunable tensor; newly masked weights and their momentum become +0. */
  setMasks(masks: Readonly<Record<string, HostTensor<'uint8'>>>): void;
  /** Unmasked gradients of the batch loss (RigL regrowth), checkpoint layout; updates nothing. */
  denseGradients(batch: Batch): Record<string, HostTensor<'float32'>>;
  dispose(): void;
}

/** What a run starts from: weights (masked ones are zeroed on placement), masks, optional momentum. */
export interface StartingWeights {
  readonly tensors: Readonly<Record<string, HostTensor<'float32'>>>;
  readonly masks: Readonly<Record<string, HostTensor<'uint8'>>>;
  readonly momentum?: Readonly<Record<string, HostTensor<'float32'>>>;
}
