/**
 * A fully connected ReLU network (LeNet-300-100 and any `mlp`) trained and evaluated on host memory
 * through a HostKernels implementation: the whole SGD step (forward, softmax cross-entropy, backward,
 * masked momentum SGD) on Float32Arrays, no tensor library in between. It computes what models/mlp.ts
 * and sgd.ts compute on tfjs, to float32 rounding.
 *
 * Each masked layer picks its format by density: at or below `sparseBelow` its kept weights live in CSR
 * and the step touches only them (forward and input gradient through the pattern, the weight gradient at
 * kept positions only, SGD on kept entries); above it the layer stays dense and the mask zeroes its
 * gradient. A layer switches format whenever its mask is replaced (gradual pruning crosses the
 * threshold mid-run), and the format never changes a number beyond rounding.
 */
import type { HostTensor } from '../../../base/values.js';
import { densify, gatherKept, sparseRows, type SparseRows } from './csr.js';
import type { HostKernels, SgdSettings } from './host-kernels.js';

/**
 * Density at or below which a masked layer computes sparsely: `sparsegraph bench` measured the crossover
 * of the two formats of LeNet-300-100 at 0.27 here (BENCHMARKS.md); overridable per run.
 */
export const DEFAULT_SPARSE_BELOW = 0.25;

interface Layer {
  readonly weight: string;
  readonly bias: string;
  readonly inputs: number;
  readonly out: number;
  readonly b: Float32Array;
  readonly bv: Float32Array;
  readonly gb: Float32Array;
  /** Dense format: all weights, momentum and gradient; the mask (null: every weight kept). */
  w: Float32Array | null;
  v: Float32Array | null;
  gw: Float32Array | null;
  mask: Uint8Array | null;
  /** Sparse format: the kept weights (values in `sp.val`), their momentum and gradient. */
  sp: SparseRows | null;
  spv: Float32Array | null;
  spg: Float32Array | null;
}

/** Per batch size: each layer's output [out, B] and gradient [out, B], and the transposed input. */
interface Buffers {
  readonly batch: number;
  readonly z: Float32Array[];
  readonly dz: Float32Array[];
  readonly xT: Float32Array;
}

export type LayerFormat = 'dense' | 'sparse';

/** A layer's parameters as training holds them (HostMlp.liveParameters). */
export interface LiveLayer {
  /** Dense [out, in] weights, or the kept weights in `pattern`'s order. */
  readonly w: Float32Array;
  readonly b: Float32Array;
  readonly pattern: SparseRows | null;
  /** A dense layer's mask (null: every weight kept). */
  readonly mask: Uint8Array | null;
}

export class HostMlp {
  private readonly layers: Layer[];
  private buffers: Buffers | undefined;

  /** `sizes` = [inputs, hidden..., classes]; parameters are `fc{l}.weight` [out, in] and `fc{l}.bias`. */
  constructor(
    private readonly kernels: HostKernels,
    readonly sizes: readonly number[],
    private readonly sparseBelow = DEFAULT_SPARSE_BELOW,
  ) {
    this.layers = sizes.slice(1).map((out, l) => ({
      weight: `fc${l + 1}.weight`,
      bias: `fc${l + 1}.bias`,
      inputs: sizes[l]!,
      out,
      b: new Float32Array(out),
      bv: new Float32Array(out),
      gb: new Float32Array(out),
      w: null,
      v: null,
      gw: null,
      mask: null,
      sp: null,
      spv: null,
      spg: null,
    }));
  }

  /** Sets weights, masks and (optionally) momentum, checkpoint layout; masked weights become +0. */
  load(tensors: Readonly<Record<string, HostTensor<'float32'>>>, masks: Readonly<Record<string, HostTensor<'uint8'>>>, momentum?: Readonly<Record<string, HostTensor<'float32'>>>): void {
    for (const L of this.layers) {
      const w = tensors[L.weight]?.data;
      const b = tensors[L.bias]?.data;
      if (!w || w.length !== L.out * L.inputs) throw new Error(`tensor ${L.weight} needs ${L.out * L.inputs} values`);
      if (!b || b.length !== L.out) throw new Error(`tensor ${L.bias} needs ${L.out} values`);
      L.b.set(b);
      L.bv.set(momentum?.[L.bias]?.data ?? new Float32Array(L.out));
      this.place(L, Float32Array.from(w), momentum?.[L.weight]?.data.slice() ?? new Float32Array(w.length), masks[L.weight]?.data ?? null);
    }
  }

  /** Replaces masks; newly masked weights and their momentum become exactly zero. */
  setMasks(masks: Readonly<Record<string, HostTensor<'uint8'>>>): void {
    for (const L of this.layers) {
      const next = masks[L.weight];
      if (!next) continue;
      this.place(L, this.denseWeight(L), this.denseMomentum(L), next.data);
    }
  }

  /** Each layer's format, by weight name (provenance and tests). */
  formats(): Record<string, LayerFormat> {
    return Object.fromEntries(this.layers.map((L) => [L.weight, L.sp ? 'sparse' : 'dense']));
  }

  weights(): Record<string, HostTensor<'float32'>> {
    return this.tensorsOf((L) => this.denseWeight(L), (L) => L.b.slice());
  }

  momentum(): Record<string, HostTensor<'float32'>> {
    return this.tensorsOf((L) => this.denseMomentum(L), (L) => L.bv.slice());
  }

  /** One SGD step on a batch x [B, inputs] (sample-major), labels y; returns the batch's mean loss. */
  step(x: Float32Array, y: Int32Array, batch: number, lr: number, sgd: SgdSettings, smoothing: number): number {
    const loss = this.forwardBackward(x, y, batch, smoothing, false);
    const k = this.kernels;
    for (const L of this.layers) {
      if (L.sp) k.sgd(L.sp.val, L.spv!, L.spg!, null, L.sp.val.length, lr, sgd);
      else k.sgd(L.w!, L.v!, L.gw!, L.mask, L.w!.length, lr, sgd);
      k.sgd(L.b, L.bv, L.gb, null, L.out, lr, sgd);
    }
    return loss;
  }

  /**
   * The gradients of the batch loss for every parameter, unmasked (RigL's regrowth reads them at
   * masked positions), checkpoint layout; nothing is updated.
   */
  denseGradients(x: Float32Array, y: Int32Array, batch: number, smoothing: number): Record<string, HostTensor<'float32'>> {
    this.forwardBackward(x, y, batch, smoothing, true);
    return this.tensorsOf((L) => L.gw!.slice(), (L) => L.gb.slice());
  }

  /**
   * Each layer's live parameters, for a caller that sets the weights itself every step (a curve's
   * point w(t)): the dense weights (masked entries +0), or, for a sparse layer, the kept weights in the
   * order of its pattern; and the bias.
   */
  liveParameters(): LiveLayer[] {
    return this.layers.map((L) => (L.sp ? { w: L.sp.val, b: L.b, pattern: L.sp, mask: null } : { w: L.w!, b: L.b, pattern: null, mask: L.mask }));
  }

  /**
   * The batch loss and, in live arrays overwritten by the next call, its gradient for each layer's
   * weights (as liveParameters lays them out: kept entries only for a sparse layer) and bias; nothing
   * is updated. A dense layer's gradient is unmasked.
   */
  lossAndGradients(x: Float32Array, y: Int32Array, batch: number, smoothing: number): { loss: number; grads: { readonly w: Float32Array; readonly b: Float32Array }[] } {
    const loss = this.forwardBackward(x, y, batch, smoothing, false);
    return { loss, grads: this.layers.map((L) => ({ w: L.sp ? L.spg! : L.gw!, b: L.gb })) };
  }

  /** Summed loss and correct predictions over n samples x [n, inputs], in chunks of `chunk`. */
  evaluate(x: Float32Array, y: Int32Array, n: number, chunk = 1000): { lossSum: number; correct: number } {
    const d = this.sizes[0]!;
    const right = new Int32Array(1);
    let lossSum = 0;
    let correct = 0;
    for (let s = 0; s < n; s += chunk) {
      const b = Math.min(chunk, n - s);
      const logits = this.forward(x.subarray(s * d, (s + b) * d), b);
      lossSum += this.kernels.softmaxXent(logits, y.subarray(s, s + b), this.sizes[this.sizes.length - 1]!, b, 0, null, right) * b;
      correct += right[0]!;
    }
    return { lossSum, correct };
  }

  /** Eval-mode logits [K, B] (feature-major, a view of an internal buffer) of x [B, inputs]. */
  forward(x: Float32Array, batch: number): Float32Array {
    const buf = this.buffersFor(batch);
    const k = this.kernels;
    const sparseFirst = this.layers[0]!.sp !== null;
    if (sparseFirst) k.transpose(x, batch, this.sizes[0]!, buf.xT);
    this.layers.forEach((L, l) => {
      const z = buf.z[l]!;
      if (L.sp) k.csrForward(L.out, batch, L.sp, l === 0 ? buf.xT : buf.z[l - 1]!, z);
      // Layer 1 reads the batch as it comes, [B, in]: BLAS transposes it for free.
      else if (l === 0) k.gemm(false, true, L.out, batch, L.inputs, 1, L.w!, x, 0, z);
      else k.gemm(false, false, L.out, batch, L.inputs, 1, L.w!, buf.z[l - 1]!, 0, z);
      k.biasAct(z, L.b, L.out, batch, l < this.layers.length - 1);
    });
    return buf.z[this.layers.length - 1]!;
  }

  private forwardBackward(x: Float32Array, y: Int32Array, batch: number, smoothing: number, denseWeightGrads: boolean): number {
    const k = this.kernels;
    const logits = this.forward(x, batch);
    const buf = this.buffers!;
    const last = this.layers.length - 1;
    const loss = k.softmaxXent(logits, y, this.sizes[last + 1]!, batch, smoothing, buf.dz[last]!, null);
    for (let l = last; l >= 0; l--) {
      const L = this.layers[l]!;
      const dz = buf.dz[l]!;
      k.biasGrad(dz, L.out, batch, L.gb);
      const a = l === 0 ? (L.sp ? buf.xT : x) : buf.z[l - 1]!;
      if (L.sp && !denseWeightGrads) k.csrGrad(L.out, batch, L.sp, dz, a, L.spg!);
      else {
        L.gw ??= new Float32Array(L.out * L.inputs);
        // dW = dZ a^T; layer 1's input is [B, in] already (or its transpose when the layer is sparse).
        if (l === 0 && !L.sp) k.gemm(false, false, L.out, L.inputs, batch, 1, dz, x, 0, L.gw);
        else k.gemm(false, true, L.out, L.inputs, batch, 1, dz, a, 0, L.gw);
      }
      if (l === 0) break;
      const da = buf.dz[l - 1]!;
      if (L.sp) k.cscBackward(L.inputs, batch, L.sp, dz, da);
      else k.gemm(true, false, L.inputs, batch, L.out, 1, L.w!, dz, 0, da);
      k.reluBackward(da, buf.z[l - 1]!, L.inputs * batch);
    }
    return loss;
  }

  /** Puts a layer's weights and momentum in the format its mask's density calls for; masked entries +0. */
  private place(L: Layer, w: Float32Array, v: Float32Array, mask: Uint8Array | null): void {
    let kept = w.length;
    if (mask) {
      if (mask.length !== w.length) throw new Error(`mask of ${L.weight} needs ${w.length} values`);
      kept = 0;
      for (let i = 0; i < mask.length; i++) {
        if (mask[i]) kept++;
        else {
          w[i] = 0;
          v[i] = 0;
        }
      }
    }
    if (mask && kept / w.length <= this.sparseBelow) {
      L.sp = sparseRows(w, mask, L.out, L.inputs);
      L.spv = gatherKept(L.sp, v, L.inputs);
      L.spg = new Float32Array(L.sp.val.length);
      L.w = L.v = L.mask = null;
      L.gw = null;
    } else {
      L.w = w;
      L.v = v;
      L.gw = new Float32Array(w.length);
      L.mask = mask && kept < w.length ? Uint8Array.from(mask) : null;
      L.sp = L.spv = L.spg = null;
    }
  }

  /** Every layer's weight [out, in] and bias [out] as checkpoint tensors, their data from `weight` and `bias`. */
  private tensorsOf(weight: (L: Layer) => Float32Array, bias: (L: Layer) => Float32Array): Record<string, HostTensor<'float32'>> {
    const out: Record<string, HostTensor<'float32'>> = {};
    for (const L of this.layers) {
      out[L.weight] = { dtype: 'float32', shape: [L.out, L.inputs], data: weight(L) };
      out[L.bias] = { dtype: 'float32', shape: [L.out], data: bias(L) };
    }
    return out;
  }

  private denseWeight(L: Layer): Float32Array {
    return L.sp ? densify(L.sp, L.sp.val, L.out, L.inputs) : L.w!.slice();
  }

  private denseMomentum(L: Layer): Float32Array {
    return L.sp ? densify(L.sp, L.spv!, L.out, L.inputs) : L.v!.slice();
  }

  private buffersFor(batch: number): Buffers {
    if (this.buffers?.batch === batch) return this.buffers;
    this.buffers = {
      batch,
      z: this.layers.map((L) => new Float32Array(L.out * batch)),
      dz: this.layers.map((L) => new Float32Array(L.out * batch)),
      xT: new Float32Array(this.sizes[0]! * batch),
    };
    return this.buffers;
  }
}

/**
 * The density threshold of the sparse format: $SPARSEGRAPH_SPARSE_BELOW (a number in [0, 1]; 0 keeps
 * every layer dense, 1 makes every masked layer sparse), else DEFAULT_SPARSE_BELOW. Read here rather
 * than passed down because it changes how, never what, a node computes: it is no parameter and no key.
 */
export function sparseBelowFromEnv(): number {
  const raw = process.env.SPARSEGRAPH_SPARSE_BELOW;
  if (raw === undefined || raw.trim() === '') return DEFAULT_SPARSE_BELOW;
  const v = Number(raw);
  if (!Number.isFinite(v) || v < 0 || v > 1) throw new Error(`SPARSEGRAPH_SPARSE_BELOW must be a density between 0 and 1, got '${raw}'`);
  return v;
}
