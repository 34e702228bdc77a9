/**
 * Fitting a Bezier curve's control points (curve-fit.ts) for a fully connected network on the host
 * kernels: each step mixes the point w(t) = sum_k b_k(t) theta_k, takes the loss gradient there, and
 * moves each control point along b_k(t) (dL/dw + wd w(t)) with masked momentum SGD, the masks being the
 * sparse subspace's (none in the dense subspace). The same arithmetic as curve-fit.ts on tfjs.
 *
 * In the sparse subspace with both ends on its masks, every point of the curve lies on them, so each
 * sparse layer computes through its pattern and the control points, their momentum and the mixing are
 * kept entries only; otherwise the point is dense.
 */
import type { HostTensor } from '../../../base/values.js';
import type { HostKernels } from './host-kernels.js';
import { densify, gatherKept, type SparseRows } from './csr.js';
import { HostMlp, sparseBelowFromEnv } from './host-mlp.js';

type Tensors = Readonly<Record<string, HostTensor<'float32'>>>;

export interface HostCurveSettings {
  readonly momentum: number;
  readonly nesterov: boolean;
  /** On the curve's point, not on the control points. */
  readonly weightDecay: number;
  readonly labelSmoothing: number;
}

export class CurveOnHost {
  private readonly mlp: HostMlp;
  private readonly names: string[];
  private readonly ends: Float32Array[][];
  private readonly controls: Float32Array[][];
  private readonly momenta: Float32Array[][];
  /** Per parameter, the sparse subspace's mask (null: every entry trains). */
  private readonly masks: (Uint8Array | null)[];
  private readonly point: Float32Array[];
  private readonly grads: Float32Array[];
  private readonly scratch: Float32Array[];
  private readonly shapes: number[][];
  /** Per parameter, the sparse pattern its arrays follow (kept entries only), or null (dense). */
  private readonly patterns: (SparseRows | null)[];

  constructor(
    private readonly kernels: HostKernels,
    sizes: readonly number[],
    start: Tensors,
    end: Tensors,
    controls: readonly Tensors[],
    momenta: readonly (Tensors | undefined)[],
    masks: Readonly<Record<string, HostTensor<'uint8'>>> | null,
    private readonly settings: HostCurveSettings,
  ) {
    this.names = sizes.slice(1).flatMap((_, l) => [`fc${l + 1}.weight`, `fc${l + 1}.bias`]);
    this.shapes = this.names.map((n) => [...start[n]!.shape]);
    const onMasks = masks !== null && this.names.every((n) => !masks[n] || (zeroOffMask(start[n]!.data, masks[n]!.data) && zeroOffMask(end[n]!.data, masks[n]!.data)));
    this.mlp = new HostMlp(kernels, sizes, onMasks ? sparseBelowFromEnv() : 0);
    this.mlp.load(start, onMasks ? masks : {});
    const live = this.mlp.liveParameters();
    this.point = live.flatMap((p) => [p.w, p.b]);
    this.patterns = live.flatMap((p) => [p.pattern, null]);
    // The SGD masks: none where the arrays hold kept entries only, or in the dense subspace.
    this.masks = this.names.map((n, i) => (this.patterns[i] || !masks ? null : (masks[n]?.data ?? null)));
    const inputsOf = (i: number): number => this.shapes[i]![1] ?? 1;
    const layout = (i: number, dense: Float32Array): Float32Array => (this.patterns[i] ? gatherKept(this.patterns[i]!, dense, inputsOf(i)) : dense.slice());
    const arrays = (t: Tensors): Float32Array[] => this.names.map((n, i) => layout(i, t[n]!.data));
    this.ends = [arrays(start), arrays(end)];
    // Control points on the subspace's masks; momentum zero unless resumed.
    // (a pattern's gather drops the off-mask entries; a dense array is zeroed there).
    this.controls = controls.map((c) => this.names.map((n, i) => layout(i, onMask(c[n]!.data, this.masks[i] ?? null))));
    this.momenta = controls.map((_, k) => this.names.map((n, i) => (momenta[k]?.[n] ? layout(i, momenta[k]![n]!.data) : new Float32Array(this.point[i]!.length))));
    this.grads = this.point.map((p) => new Float32Array(p.length));
    this.scratch = this.point.map((p) => new Float32Array(p.length));
  }

  /** One step at Bernstein coefficients `b` (b[0] and b[n] weigh the ends); returns the batch loss. */
  update(x: Float32Array, y: Int32Array, batch: number, lr: number, b: ArrayLike<number>): number {
    const k = this.kernels;
    const n = this.controls.length + 1;
    this.point.forEach((w, i) => {
      k.axpby(w.length, b[0]!, this.ends[0]![i]!, 0, w);
      k.axpby(w.length, b[n]!, this.ends[1]![i]!, 1, w);
      this.controls.forEach((c, j) => k.axpby(w.length, b[j + 1]!, c[i]!, 1, w));
    });
    const { loss, grads } = this.mlp.lossAndGradients(x, y, batch, this.settings.labelSmoothing);
    const g = grads.flatMap((p) => [p.w, p.b]);
    const sgd = { momentum: this.settings.momentum, weightDecay: 0, nesterov: this.settings.nesterov };
    this.point.forEach((w, i) => {
      // g + wd w(t): the L2 penalty on the curve's point, shared by every control point.
      const gi = this.scratch[i]!;
      gi.set(g[i]!);
      if (this.settings.weightDecay) k.axpby(w.length, this.settings.weightDecay, w, 1, gi);
      this.controls.forEach((c, j) => {
        const gk = this.grads[i]!;
        k.axpby(w.length, b[j + 1]!, gi, 0, gk);
        k.sgd(c[i]!, this.momenta[j]![i]!, gk, this.masks[i] ?? null, w.length, lr, sgd);
      });
    });
    return loss;
  }

  /** The control points, checkpoint layout, copies. */
  controlTensors(): Record<string, HostTensor<'float32'>>[] {
    return this.controls.map((c) => this.tensors(c));
  }

  momentumTensors(): Record<string, HostTensor<'float32'>>[] {
    return this.momenta.map((m) => this.tensors(m));
  }

  private tensors(arrays: Float32Array[]): Record<string, HostTensor<'float32'>> {
    return Object.fromEntries(
      this.names.map((n, i) => {
        const [out, inputs] = [this.shapes[i]![0]!, this.shapes[i]![1] ?? 1];
        const data = this.patterns[i] ? densify(this.patterns[i]!, arrays[i]!, out, inputs) : arrays[i]!.slice();
        return [n, { dtype: 'float32' as const, shape: [...this.shapes[i]!], data }];
      }),
    );
  }
}

/** A copy of `w` with +0 where `mask` (if any) is 0. */
function onMask(w: Float32Array, mask: Uint8Array | null): Float32Array {
  const out = w.slice();
  if (mask) for (let i = 0; i < out.length; i++) if (!mask[i]) out[i] = 0;
  return out;
}

/** Whether `w` is +0 or -0 wherever `mask` is 0. */
function zeroOffMask(w: Float32Array, mask: Uint8Array): boolean {
  for (let i = 0; i < w.length; i++) if (!mask[i] && w[i] !== 0) return false;
  return true;
}
