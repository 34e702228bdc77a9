/**
 * Fitting a Bezier curve between two fixed solutions (Garipov et al. 2018), on the shared step loop:
 * each minibatch draws one t ~ U(0, 1) (from the t seed and the step alone, so a resumed fit draws the
 * same t), the network is evaluated at w(t) = sum_k b_k(t) theta_k, and each control point theta_k
 * (k = 1..n-1) moves along b_k(t) * (dL/dw + wd * w(t)): the L2 penalty is on the point, not on the
 * control points. In the sparse subspace the control points' gradients are masked, so they stay on the
 * mask; in the dense subspace every entry trains.
 */
import { Rng } from '../data/random.js';
import type { Checkpoint, Curve, HostTensor, Metrics } from '../../base/values.js';
import { hostKernels } from './backend.js';
import { bernstein, lineControlPoints, assertSameModel } from './curves.js';
import { CurveOnHost } from './kernels/host-curve.js';
import { hostTensors, maskToDevice, toDevice, variableOf } from './device.js';
import { loopMetrics, runLoop, sgdLoopOptions, type Batch, type LoopCounters, type LoopOptions, type SgdLoopOptions, type SgdOptionsOf } from './loop.js';
import { buildNetwork } from './models/index.js';
import { isPrunable, isTrainable, type Network, type ParamInfo } from './network.js';
import type { Masks } from './pruning.js';
import { sgdUpdate, type SgdOptions } from './sgd.js';
import { tf, type Tensor } from './tf.js';

/** The t of step `step` (0-based) for a t seed. */
export const curveT = (seed: number, step: number): number => new Rng(seed, 'bezier-t', step).uniform();

/** What a resumed fit continues from. */
export interface CurveFitState extends Omit<LoopCounters, 'step'> {
  readonly step: number;
  /** The control points theta_1..theta_{n-1}, checkpoint layout. */
  readonly controls: readonly Checkpoint[];
  /** Momentum of each control point, by trainable tensor. */
  readonly momentum: readonly Readonly<Record<string, HostTensor<'float32'>>>[];
}

export interface FitCurveOptions extends SgdOptionsOf<CurveFitState> {
  /** 2: quadratic, 3: cubic. */
  readonly degree: number;
  readonly subspace: 'sparse' | 'dense';
  /** The sparse subspace's masks; default the start point's masks. */
  readonly masks?: Readonly<Masks>;
  /** Seed of the t drawn for each minibatch. */
  readonly tSeed: number;
}

export interface CurveFitResult {
  readonly curve: Curve;
  readonly metrics: Metrics;
}

/** Fits the control points of a Bezier curve from `start` (t=0) to `end` (t=1). */
export async function fitCurve(start: Checkpoint, end: Checkpoint, opts: FitCurveOptions): Promise<CurveFitResult> {
  const fit = new CurveFit(start, end, opts);
  try {
    fit.upload();
    return fit.finish(await runLoop(loopOptionsOf(fit, opts)));
  } finally {
    fit.dispose();
  }
}

/** The step loop of a fit: where it starts, its update, its resumable state. */
function loopOptionsOf(fit: CurveFit, opts: FitCurveOptions): LoopOptions {
  return {
    ...fit.loop,
    ...(opts.resume ? { resume: opts.resume } : {}),
    step: (batch, lr, step) => fit.update(batch, lr, step),
    ...(opts.onState ? { onState: (c: LoopCounters) => fit.saveState(c) } : {}),
  };
}

/** One run of `fitCurve`: the fixed end points, the control points, their momentum and the masks on the device. */
class CurveFit {
  readonly loop: SgdLoopOptions;
  /** The counters the loop last reported (none before it first does). */
  private counters: LoopCounters | undefined;
  /** The degree n: control points theta_1..theta_{n-1}. */
  private readonly n: number;
  private readonly net: Network;
  private readonly trainable: ParamInfo[];
  private readonly prunable: ReadonlySet<string>;
  private readonly subspaceMasks: Masks;
  private readonly sparse: boolean;
  private readonly sgd: SgdOptions;
  /** Weight decay on the curve's point w(t), not on the control points. */
  private readonly wd: number;
  private readonly lossOpts: { readonly labelSmoothing: number };
  /** The control points to start from: a resumed fit's, or evenly spaced on the line between the ends. */
  private readonly initial: readonly Checkpoint[];
  private readonly ends: Record<string, Tensor>[] = [{}, {}];
  private readonly controls: Record<string, tf.Variable>[];
  private readonly momenta: Record<string, tf.Variable>[];
  private readonly maskT: Record<string, Tensor> = {};
  /** Where the host kernels fit the curve (fully connected networks on the native backend). */
  private host: CurveOnHost | undefined;

  constructor(
    private readonly start: Checkpoint,
    private readonly end: Checkpoint,
    private readonly opts: FitCurveOptions,
  ) {
    assertSameModel(start, end, 'bezier-fit');
    if (!Number.isInteger(opts.degree) || opts.degree < 2) throw new Error(`a fitted Bezier curve needs degree >= 2, got ${opts.degree}`);
    this.net = buildNetwork(start.model);
    this.loop = sgdLoopOptions(opts, opts.schedule ?? { kind: 'mode-connectivity' });
    this.n = opts.degree;
    this.trainable = this.net.params.filter(isTrainable);
    this.prunable = new Set(this.net.params.filter(isPrunable).map((p) => p.name));
    this.subspaceMasks = { ...start.masks, ...(opts.masks ?? {}) };
    this.sparse = opts.subspace === 'sparse';
    this.sgd = { momentum: opts.momentum ?? 0.9, nesterov: opts.nesterov ?? false, weightDecay: 0 };
    this.wd = opts.weightDecay ?? 0;
    this.lossOpts = { labelSmoothing: opts.labelSmoothing ?? 0 };
    this.initial = opts.resume?.controls ?? lineControlPoints(start, end, this.n);
    this.controls = this.initial.map(() => ({}));
    this.momenta = this.initial.map(() => ({}));
  }

  /** Puts the end points, the masks of the sparse subspace, the control points and their momentum on the device. */
  upload(): void {
    if (this.sparse) for (const name of this.prunable) if (!this.subspaceMasks[name]) throw new Error(`bezier-fit: no mask for ${name} in the sparse subspace`);
    const kernels = hostKernels();
    if (kernels && this.net.denseLayerSizes) {
      this.host = new CurveOnHost(
        kernels,
        this.net.denseLayerSizes,
        this.start.tensors,
        this.end.tensors,
        this.initial.map((c) => c.tensors),
        this.initial.map((_, k) => this.opts.resume?.momentum[k]),
        this.sparse ? this.subspaceMasks : null,
        { momentum: this.sgd.momentum!, nesterov: this.sgd.nesterov!, weightDecay: this.wd, labelSmoothing: this.lossOpts.labelSmoothing },
      );
      return;
    }
    for (const p of this.net.params) {
      this.ends[0]![p.name] = toDevice(p, this.start.tensors[p.name]!);
      this.ends[1]![p.name] = toDevice(p, this.end.tensors[p.name]!);
      if (this.sparse && this.prunable.has(p.name)) {
        const m = this.subspaceMasks[p.name];
        if (!m) throw new Error(`bezier-fit: no mask for ${p.name} in the sparse subspace`);
        this.maskT[p.name] = maskToDevice(p, m);
      }
      this.initial.forEach((c, k) => {
        const host = c.tensors[p.name];
        if (!host) throw new Error(`control point ${k + 1} lacks tensor ${p.name}`);
        const t = toDevice(p, host);
        // A resumed state is already on the mask; a fresh line between masked ends is too, unless the
        // given mask differs from theirs.
        const onMask = this.maskT[p.name] ? tf.tidy(() => tf.add(tf.mul(t, this.maskT[p.name]!), 0)) : t;
        this.controls[k]![p.name] = variableOf(onMask);
        if (onMask !== t) t.dispose();
      });
    }
    for (const p of this.trainable) {
      this.controls.forEach((c, k) => {
        const m = this.opts.resume?.momentum[k]?.[p.name];
        this.momenta[k]![p.name] = variableOf(m ? toDevice(p, m) : tf.zeros(c[p.name]!.shape));
      });
    }
  }

  /**
   * One step on `batch` at rate `lr`, synchronous in its own tidy: the network at w(t) for the step's t,
   * each control point moved along b_k(t) * (dL/dw + wd * w(t)). Returns the batch loss.
   */
  update(batch: Batch, lr: number, step: number): Tensor | number {
    const n = this.n;
    if (this.host) return this.host.update(batch.x, batch.y, batch.size, lr, bernstein(n, curveT(this.opts.tSeed, step)));
    return tf.tidy(() => {
      const b = bernstein(n, curveT(this.opts.tSeed, step));
      const w: Record<string, Tensor> = {};
      for (const p of this.net.params) {
        let sum = tf.add(tf.mul(this.ends[0]![p.name]!, b[0]!), tf.mul(this.ends[1]![p.name]!, b[n]!));
        this.controls.forEach((c, k) => (sum = tf.add(sum, tf.mul(c[p.name]!, b[k + 1]!))));
        w[p.name] = sum;
      }
      const { x, y } = batch.tensors();
      const { loss, grads, stats } = this.net.lossAndGrads(w, x, y, this.lossOpts);
      tf.dispose(Object.values(stats));
      const lrT = tf.scalar(lr);
      for (const p of this.trainable) {
        const g = this.wd ? tf.add(grads[p.name]!, tf.mul(w[p.name]!, this.wd)) : grads[p.name]!;
        this.controls.forEach((c, k) => {
          const gk = tf.mul(g, b[k + 1]!);
          const u = sgdUpdate(c[p.name]!, this.momenta[k]![p.name]!, gk, this.maskT[p.name], lrT, this.sgd);
          c[p.name]!.assign(u.w);
          this.momenta[k]![p.name]!.assign(u.v);
        });
      }
      return loss;
    });
  }

  /** Hands `onState` what a resumed fit continues from, after the loop counted `c`. */
  async saveState(c: LoopCounters): Promise<void> {
    this.counters = c;
    const momentum = this.host ? this.host.momentumTensors() : this.momenta.map((m) => hostTensors(this.trainable, m));
    await this.opts.onState!({ ...c, controls: this.hostControls(), momentum });
  }

  /** The fitted curve, its end points the fixed solutions, and the fit's metrics. */
  finish(counters: LoopCounters): CurveFitResult {
    this.counters = counters;
    const points = [this.start, ...this.hostControls(), this.end];
    return { curve: { family: 'bezier', degree: this.n, subspace: this.opts.subspace, points }, metrics: loopMetrics(counters) };
  }

  dispose(): void {
    tf.dispose([
      ...this.ends.flatMap((e) => Object.values(e)),
      ...this.controls.flatMap((c) => Object.values(c)),
      ...this.momenta.flatMap((m) => Object.values(m)),
      ...Object.values(this.maskT),
    ]);
  }

  /** The control points in checkpoint layout, on the sparse subspace's masks (dense ones in the dense subspace). */
  private hostControls(): Checkpoint[] {
    const tensors = this.host ? this.host.controlTensors() : this.controls.map((c) => hostTensors(this.net.params, c));
    return tensors.map((t) => ({
      model: this.start.model,
      tensors: t,
      masks: this.sparse ? this.subspaceMasks : denseLike(this.subspaceMasks),
      step: this.counters?.step ?? 0,
    }));
  }
}

function denseLike(masks: Readonly<Masks>): Masks {
  const out: Masks = {};
  for (const [name, m] of Object.entries(masks)) out[name] = { dtype: 'uint8', shape: [...m.shape], data: new Uint8Array(m.data.length).fill(1) };
  return out;
}

/**
 * How far dense control points left the sparse subspace: the share of their L1 mass (prunable tensors)
 * that lies off the mask, and the share of off-mask entries that are nonzero.
 */
export function offMaskMass(controls: readonly Checkpoint[], masks: Readonly<Masks>): { massFraction: number; nonzeroFraction: number } {
  let off = 0;
  let all = 0;
  let offEntries = 0;
  let offNonzero = 0;
  for (const c of controls) {
    for (const [name, m] of Object.entries(masks)) {
      const w = c.tensors[name];
      if (!w) continue;
      for (let i = 0; i < w.data.length; i++) {
        const a = Math.abs(w.data[i]!);
        all += a;
        if (m.data[i] === 0) {
          off += a;
          offEntries++;
          if (a !== 0) offNonzero++;
        }
      }
    }
  }
  return { massFraction: all ? off / all : 0, nonzeroFraction: offEntries ? offNonzero / offEntries : 0 };
}
