/**
 * Training weights of a fully connected network in host memory, stepped by the native kernels
 * (kernels/host-mlp.ts): no tensor library on the path, masked layers sparse where their density is low.
 */
import type { HostTensor } from '../../base/values.js';
import type { HostKernels } from './kernels/host-kernels.js';
import { HostMlp, sparseBelowFromEnv } from './kernels/host-mlp.js';
import type { Batch } from './loop.js';
import type { SgdOptions } from './sgd.js';
import type { StartingWeights, TrainingWeights } from './weights.js';

export class WeightsOnHost implements TrainingWeights {
  readonly path: string;
  private readonly mlp: HostMlp;
  private readonly settings: { momentum: number; weightDecay: number; nesterov: boolean };

  constructor(
    kernels: HostKernels,
    sizes: readonly number[],
    start: StartingWeights,
    sgd: SgdOptions,
    private readonly lossOpts: { readonly labelSmoothing: number },
  ) {
    this.path = kernels.name;
    this.mlp = new HostMlp(kernels, sizes, sparseBelowFromEnv());
    this.mlp.load(start.tensors, start.masks, start.momentum);
    this.settings = { momentum: sgd.momentum ?? 0.9, weightDecay: sgd.weightDecay ?? 0, nesterov: sgd.nesterov ?? false };
  }

  update(batch: Batch, lr: number): number {
    return this.mlp.step(batch.x, batch.y, batch.size, lr, this.settings, this.lossOpts.labelSmoothing);
  }

  weights(): Record<string, HostTensor<'float32'>> {
    return this.mlp.weights();
  }

  momentum(): Record<string, HostTensor<'float32'>> {
    return this.mlp.momentum();
  }

  setMasks(masks: Readonly<Record<string, HostTensor<'uint8'>>>): void {
    this.mlp.setMasks(masks);
  }

  denseGradients(batch: Batch): Record<string, HostTensor<'float32'>> {
    return this.mlp.denseGradients(batch.x, batch.y, batch.size, this.lossOpts.labelSmoothing);
  }

  dispose(): void {}
}
