/** Moving checkpoints between host (checkpoint layout) and device (tfjs layout). */
import type { Checkpoint, HostTensor } from '../../base/values.js';
import { deviceShape, permuteLayout } from './layout.js';
import type { Network, ParamInfo } from './network.js';
import { tf, type Tensor } from './tf.js';

export function toDevice(p: ParamInfo, host: HostTensor<'float32'>): Tensor {
  const expected = p.shape.reduce((a, b) => a * b, 1);
  if (host.data.length !== expected) throw new Error(`tensor ${p.name} has ${host.data.length} values, the model needs shape [${p.shape.join(', ')}]`);
  return tf.tensor(permuteLayout(p.layout, p.shape, host.data), deviceShape(p.layout, p.shape), 'float32');
}

/** A mask on the device as float32 (multiplying by it is the cheapest way to apply it). */
export function maskToDevice(p: ParamInfo, host: HostTensor<'uint8'>): Tensor {
  return tf.tensor(Float32Array.from(permuteLayout(p.layout, p.shape, host.data)), deviceShape(p.layout, p.shape), 'float32');
}

export function fromDevice(p: ParamInfo, t: Tensor): HostTensor<'float32'> {
  return { dtype: 'float32', shape: [...p.shape], data: permuteLayout(p.layout, p.shape, (t.dataSync() as Float32Array).slice(), true) };
}

/** The device tensors of `params`, read back by name in checkpoint layout. */
export function hostTensors(params: readonly ParamInfo[], tensors: Readonly<Record<string, Tensor>>): Record<string, HostTensor<'float32'>> {
  const out: Record<string, HostTensor<'float32'>> = {};
  for (const p of params) out[p.name] = fromDevice(p, tensors[p.name]!);
  return out;
}

/** A float32 variable holding `initial`'s values; `initial` itself is disposed. */
export function variableOf(initial: Tensor): tf.Variable {
  const v = tf.variable(initial, false, undefined, 'float32');
  initial.dispose();
  return v;
}

/** Uploads every tensor of a checkpoint; the caller disposes the result. */
export function uploadCheckpoint(net: Network, ckpt: Checkpoint): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const p of net.params) {
    const host = ckpt.tensors[p.name];
    if (!host) throw new Error(`checkpoint of ${ckpt.model.arch} lacks tensor ${p.name}`);
    out[p.name] = toDevice(p, host);
  }
  return out;
}

/** sums[name] += terms[name] for every name, in place; `terms` and the previous sums are disposed. */
export function addInto(sums: Record<string, Tensor>, terms: Readonly<Record<string, Tensor>>): void {
  for (const [name, t] of Object.entries(terms)) {
    const prev = sums[name];
    if (!prev) {
      sums[name] = t;
      continue;
    }
    sums[name] = tf.add(prev, t);
    prev.dispose();
    t.dispose();
  }
}
