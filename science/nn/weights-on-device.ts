/**
 * Training weights on a tfjs backend's device: any architecture, autodiff-free gradients from
 * Network.lossAndGrads, SGD from sgd.ts. Masks multiply the gradients, so masked weights stay exactly +0.
 */
import type { HostTensor } from '../../base/values.js';
import { hostTensors, maskToDevice, toDevice, variableOf } from './device.js';
import type { Batch } from './loop.js';
import { isPrunable, isTrainable, type Network, type ParamInfo } from './network.js';
import { sgdUpdate, type SgdOptions } from './sgd.js';
import { tf, type Tensor } from './tf.js';
import type { StartingWeights, TrainingWeights } from './weights.js';

/** w * mask, with +0 (not -0) where masked, so masked entries are bitwise zero. */
function applyMask(w: Tensor, mask: Tensor): Tensor {
  return tf.add(tf.mul(w, mask), 0);
}

export class WeightsOnDevice implements TrainingWeights {
  readonly path = tf.getBackend();
  private readonly trainable: ParamInfo[];
  private readonly prunable: ParamInfo[];
  private readonly weightT: Record<string, tf.Variable> = {};
  private readonly momentumT: Record<string, tf.Variable> = {};
  private readonly maskT: Record<string, Tensor> = {};

  constructor(
    private readonly net: Network,
    start: StartingWeights,
    private readonly sgd: SgdOptions,
    private readonly lossOpts: { readonly labelSmoothing: number },
  ) {
    this.trainable = net.params.filter(isTrainable);
    this.prunable = net.params.filter(isPrunable);
    for (const p of net.params) {
      const host = start.tensors[p.name];
      if (!host) throw new Error(`checkpoint of ${net.spec.arch} lacks tensor ${p.name}`);
      this.weightT[p.name] = variableOf(toDevice(p, host));
    }
    for (const p of this.trainable) {
      const m = start.momentum?.[p.name];
      this.momentumT[p.name] = variableOf(m ? toDevice(p, m) : tf.zeros(this.weightT[p.name]!.shape));
    }
    this.uploadMasks(start.masks);
    this.applyMasks([this.weightT]);
  }

  update(batch: Batch, lr: number): Tensor {
    return tf.tidy(() => {
      const { x, y } = batch.tensors();
      const { loss, grads, stats } = this.net.lossAndGrads(this.weightT, x, y, this.lossOpts);
      const lrT = tf.scalar(lr);
      for (const q of this.trainable) {
        const u = sgdUpdate(this.weightT[q.name]!, this.momentumT[q.name]!, grads[q.name]!, this.maskT[q.name], lrT, this.sgd);
        this.weightT[q.name]!.assign(u.w);
        this.momentumT[q.name]!.assign(u.v);
      }
      for (const [name, t] of Object.entries(stats)) {
        this.weightT[name]!.assign(t);
        t.dispose();
      }
      return loss;
    });
  }

  weights(): Record<string, HostTensor<'float32'>> {
    return hostTensors(this.net.params, this.weightT);
  }

  momentum(): Record<string, HostTensor<'float32'>> {
    return hostTensors(this.trainable, this.momentumT);
  }

  setMasks(masks: Readonly<Record<string, HostTensor<'uint8'>>>): void {
    this.uploadMasks(masks);
    this.applyMasks([this.weightT, this.momentumT]);
  }

  denseGradients(batch: Batch): Record<string, HostTensor<'float32'>> {
    const grads = tf.tidy(() => {
      const { x, y } = batch.tensors();
      const r = this.net.lossAndGrads(this.weightT, x, y, this.lossOpts);
      tf.dispose(Object.values(r.stats));
      return r.grads;
    });
    const out = hostTensors(this.trainable, grads);
    tf.dispose(Object.values(grads));
    return out;
  }

  dispose(): void {
    tf.dispose([...Object.values(this.weightT), ...Object.values(this.momentumT), ...Object.values(this.maskT)]);
  }

  private uploadMasks(masks: Readonly<Record<string, HostTensor<'uint8'>>>): void {
    for (const p of this.prunable) {
      this.maskT[p.name]?.dispose();
      this.maskT[p.name] = maskToDevice(p, masks[p.name]!);
    }
  }

  /** Multiplies each of `variables` (weights, momentum) by the masks on the device. */
  private applyMasks(variables: readonly Record<string, tf.Variable>[]): void {
    tf.tidy(() => {
      for (const p of this.prunable) for (const v of variables) v[p.name]!.assign(applyMask(v[p.name]!, this.maskT[p.name]!));
    });
  }
}
