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
import { bernstein, lineControlPoints, assertSameModel } from './curves.js';
import { fromDevice, maskToDevice, toDevice } from './device.js';
import { runLoop, totalSteps, type LoopCounters, type SgdOptionsOf } from './loop.js';
import { buildNetwork } from './models/index.js';
import { isPrunable, isTrainable } from './network.js';
import type { Masks } from './pruning.js';
import { learningRate } from './schedules.js';
import { sgdUpdate } from './sgd.js';
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
  assertSameModel(start, end, 'bezier-fit');
  if (!Number.isInteger(opts.degree) || opts.degree < 2) throw new Error(`a fitted Bezier curve needs degree >= 2, got ${opts.degree}`);
  const net = buildNetwork(start.model);
  const ds = opts.dataset;
  const B = opts.batchSize ?? 128;
  const total = totalSteps(opts, ds.train.n);
  const n = opts.degree;
  const trainable = net.params.filter(isTrainable);
  const prunable = new Set(net.params.filter(isPrunable).map((p) => p.name));
  const subspaceMasks: Masks = { ...start.masks, ...(opts.masks ?? {}) };
  const sparse = opts.subspace === 'sparse';
  const sgd = { momentum: opts.momentum ?? 0.9, nesterov: opts.nesterov ?? false, weightDecay: 0 };
  const wd = opts.weightDecay ?? 0;
  const schedule = opts.schedule ?? { kind: 'mode-connectivity' as const };
  const lossOpts = { labelSmoothing: opts.labelSmoothing ?? 0 };

  const initial = opts.resume?.controls ?? lineControlPoints(start, end, n);
  const ends: Record<string, Tensor>[] = [{}, {}];
  const controls: Record<string, tf.Variable>[] = initial.map(() => ({}));
  const momenta: Record<string, tf.Variable>[] = initial.map(() => ({}));
  const maskT: Record<string, Tensor> = {};
  let counters: LoopCounters | undefined;
  const hostControls = (): Checkpoint[] =>
    controls.map((c) => {
      const tensors: Record<string, HostTensor<'float32'>> = {};
      for (const p of net.params) tensors[p.name] = fromDevice(p, c[p.name]!);
      return { model: start.model, tensors, masks: sparse ? subspaceMasks : denseLike(subspaceMasks), step: counters?.step ?? 0 };
    });

  try {
    for (const p of net.params) {
      ends[0]![p.name] = toDevice(p, start.tensors[p.name]!);
      ends[1]![p.name] = toDevice(p, end.tensors[p.name]!);
      if (sparse && prunable.has(p.name)) {
        const m = subspaceMasks[p.name];
        if (!m) throw new Error(`bezier-fit: no mask for ${p.name} in the sparse subspace`);
        maskT[p.name] = maskToDevice(p, m);
      }
      initial.forEach((c, k) => {
        const host = c.tensors[p.name];
        if (!host) throw new Error(`control point ${k + 1} lacks tensor ${p.name}`);
        const t = toDevice(p, host);
        // A resumed state is already on the mask; a fresh line between masked ends is too, unless the
        // given mask differs from theirs.
        const onMask = maskT[p.name] ? tf.tidy(() => tf.add(tf.mul(t, maskT[p.name]!), 0)) : t;
        controls[k]![p.name] = tf.variable(onMask, false, undefined, 'float32');
        if (onMask !== t) onMask.dispose();
        t.dispose();
      });
    }
    for (const p of trainable) {
      controls.forEach((c, k) => {
        const m = opts.resume?.momentum[k]?.[p.name];
        const init = m ? toDevice(p, m) : tf.zeros(c[p.name]!.shape);
        momenta[k]![p.name] = tf.variable(init, false, undefined, 'float32');
        init.dispose();
      });
    }

    counters = await runLoop({
      split: ds.train,
      batchSize: B,
      totalSteps: total,
      dataSeed: opts.dataSeed,
      lr: (s) => learningRate(s, total, { base: opts.learningRate, schedule, warmupSteps: opts.warmupSteps }),
      ...(opts.resume ? { resume: opts.resume } : {}),
      step: (batch, lr, step) =>
        tf.tidy(() => {
          const b = bernstein(n, curveT(opts.tSeed, step));
          const w: Record<string, Tensor> = {};
          for (const p of net.params) {
            let sum = tf.add(tf.mul(ends[0]![p.name]!, b[0]!), tf.mul(ends[1]![p.name]!, b[n]!));
            controls.forEach((c, k) => (sum = tf.add(sum, tf.mul(c[p.name]!, b[k + 1]!))));
            w[p.name] = sum;
          }
          const { x, y } = batch.tensors();
          const { loss, grads, stats } = net.lossAndGrads(w, x, y, lossOpts);
          tf.dispose(Object.values(stats));
          const lrT = tf.scalar(lr);
          for (const p of trainable) {
            const g = wd ? tf.add(grads[p.name]!, tf.mul(w[p.name]!, wd)) : grads[p.name]!;
            controls.forEach((c, k) => {
              const gk = tf.mul(g, b[k + 1]!);
              const u = sgdUpdate(c[p.name]!, momenta[k]![p.name]!, gk, maskT[p.name], lrT, sgd);
              c[p.name]!.assign(u.w);
              momenta[k]![p.name]!.assign(u.v);
            });
          }
          return loss;
        }),
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
      ...(opts.progressEvery !== undefined ? { progressEvery: opts.progressEvery } : {}),
      ...(opts.stateEvery !== undefined ? { stateEvery: opts.stateEvery } : {}),
      ...(opts.onState
        ? {
            onState: async (c: LoopCounters) => {
              counters = c;
              const momentum = momenta.map((m) => {
                const out: Record<string, HostTensor<'float32'>> = {};
                for (const p of trainable) out[p.name] = fromDevice(p, m[p.name]!);
                return out;
              });
              await opts.onState!({ ...c, controls: hostControls(), momentum });
            },
          }
        : {}),
    });
    const points = [start, ...hostControls(), end];
    const meanLoss = counters.lossCount ? counters.lossSum / counters.lossCount : NaN;
    return {
      curve: { family: 'bezier', degree: n, subspace: opts.subspace, points },
      metrics: { values: { steps: counters.step, trainLossMean: meanLoss, lastLoss: counters.lastLoss }, series: { loss: [...counters.curve], loss_step: [...counters.curveSteps] } },
    };
  } finally {
    tf.dispose([...ends.flatMap((e) => Object.values(e)), ...controls.flatMap((c) => Object.values(c)), ...momenta.flatMap((m) => Object.values(m)), ...Object.values(maskT)]);
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
