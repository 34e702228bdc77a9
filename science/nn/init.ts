/**
 * Initialisation by name and seed, computed on the host in checkpoint (PyTorch) layout, so the same seed
 * gives bit-identical weights on every backend. Each tensor draws from its own stream (seed, name):
 * adding a layer does not change the others. Dense values are drawn for every entry before masking,
 * so a masked standard initialisation equals the dense one with zeros where the mask is 0.
 */
import { Rng } from '../data/random.js';
import type { Checkpoint, HostTensor, ModelSpec } from '../../base/values.js';
import { buildNetwork } from './models/index.js';
import { INITIALIZERS, type InitializerName } from './names.js';
import { isPrunable, type ParamInfo } from './network.js';

export { INITIALIZERS, type InitializerName };

export interface InitOptions {
  readonly model: ModelSpec;
  /** Default `glorot_uniform` (Keras's default, used by rigl's MNIST MLP). */
  readonly initializer?: InitializerName;
  readonly seed: number;
  /**
   * Random stream mixed with the seed (default `init`): the same seed on another stream gives
   * independent weights, so a sweep over seeds can draw a pruning run's and a scratch run's weights.
   */
  readonly stream?: string;
  /** Masks by weight name (1 = kept); missing ones are all ones. Masked entries are set to exactly 0. */
  readonly masks?: Readonly<Record<string, HostTensor<'uint8'>>>;
}

const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** All-ones masks for every prunable tensor of the model. */
export function denseMasks(model: ModelSpec): Record<string, HostTensor<'uint8'>> {
  const out: Record<string, HostTensor<'uint8'>> = {};
  for (const p of buildNetwork(model).params.filter(isPrunable)) out[p.name] = { dtype: 'uint8', shape: [...p.shape], data: new Uint8Array(size(p.shape)).fill(1) };
  return out;
}

/** Per-entry fan-in/fan-out (checkpoint layout [out, in, ...receptive field]) under a mask. */
function maskedFans(shape: readonly number[], mask: Uint8Array | undefined): { fanIn: Float64Array; fanOut: Float64Array; rf: number } {
  const [out, inp] = [shape[0]!, shape[1]!];
  const rf = size(shape.slice(2));
  const fanIn = new Float64Array(out);
  const fanOut = new Float64Array(inp);
  for (let o = 0; o < out; o++) {
    for (let i = 0; i < inp; i++) {
      for (let r = 0; r < rf; r++) {
        const kept = mask ? mask[(o * inp + i) * rf + r]! : 1;
        fanIn[o]! += kept;
        fanOut[i]! += kept;
      }
    }
  }
  return { fanIn, fanOut, rf };
}

function initWeight(p: ParamInfo, name: InitializerName, rng: Rng, mask: Uint8Array | undefined): Float32Array {
  const shape = p.shape;
  const n = size(shape);
  const [out, inp] = [shape[0]!, shape[1]!];
  const scaled = name.endsWith('_scaled');
  const glorot = name.startsWith('glorot');
  const uniform = name.includes('uniform');
  const { fanIn, fanOut, rf } = maskedFans(shape, scaled ? mask : undefined);
  const data = new Float32Array(n);
  for (let o = 0; o < out; o++) {
    for (let i = 0; i < inp; i++) {
      for (let r = 0; r < rf; r++) {
        const k = (o * inp + i) * rf + r;
        // A unit whose connections are all masked gets no weights; max(1, .) only avoids 0/0.
        const fin = Math.max(fanIn[o]!, 1);
        const variance = glorot ? 2 / (fin + Math.max(fanOut[i]!, 1)) : 2 / fin;
        const std = Math.sqrt(variance);
        const v = uniform ? (2 * rng.uniform() - 1) * Math.sqrt(3) * std : rng.normal() * std;
        data[k] = mask && mask[k] === 0 ? 0 : v;
      }
    }
  }
  return data;
}

/** A step-0 checkpoint of the model: weights by initialiser, biases 0, batch norm at identity. */
export function initCheckpoint(opts: InitOptions): Checkpoint {
  const net = buildNetwork(opts.model);
  const initializer = opts.initializer ?? 'glorot_uniform';
  if (!INITIALIZERS.includes(initializer)) throw new Error(`unknown initializer '${initializer}'; known: ${INITIALIZERS.join(', ')}`);
  const masks = { ...denseMasks(opts.model), ...(opts.masks ?? {}) };
  const tensors: Record<string, HostTensor<'float32'>> = {};
  for (const p of net.params) {
    const n = size(p.shape);
    let data: Float32Array;
    switch (p.role) {
      case 'weight': {
        const mask = masks[p.name];
        if (mask && size(mask.shape) !== n) throw new Error(`mask for ${p.name} has shape [${mask.shape.join(', ')}], weight has [${p.shape.join(', ')}]`);
        data = initWeight(p, initializer, new Rng(opts.seed, opts.stream ?? 'init', p.name), mask?.data);
        break;
      }
      case 'bn-weight':
      case 'bn-var':
        data = new Float32Array(n).fill(1);
        break;
      case 'bias':
      case 'bn-bias':
      case 'bn-mean':
        data = new Float32Array(n);
        break;
    }
    tensors[p.name] = { dtype: 'float32', shape: [...p.shape], data };
  }
  const used: Record<string, HostTensor<'uint8'>> = {};
  for (const p of net.params.filter(isPrunable)) used[p.name] = masks[p.name]!;
  return { model: opts.model, tensors, masks: used, step: 0, meta: { seed: opts.seed, initializer, ...(opts.stream && opts.stream !== 'init' ? { stream: opts.stream } : {}) } };
}
