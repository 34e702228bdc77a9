/**
 * The training loop. Async only to coordinate (abort, callbacks, yielding to the event loop); each step
 * is one synchronous tf.tidy. Data order comes from the data-order seed alone: the sample stream is the
 * concatenation of per-epoch permutations, so step s reads samples [s*B, (s+1)*B) of that stream and
 * `epochs: E` means ceil(E*n/B) steps (rigl's 25 MNIST epochs at batch 128 = 11,719 steps).
 */
import type { Dataset } from '../data/load.js';
import { permutation } from '../data/random.js';
import type { Checkpoint, HostTensor, Metrics } from '../values.js';
import { backendDescription } from './backend.js';
import { fromDevice, maskToDevice, toDevice } from './device.js';
import { evaluateParams } from './evaluate.js';
import { buildNetwork } from './models/index.js';
import { isPrunable, isTrainable, type Network, type ParamInfo } from './network.js';
import { learningRate, type LrSchedule } from './schedules.js';
import { sgdUpdate } from './sgd.js';
import { tf, type Tensor } from './tf.js';

/** Everything needed to continue a run bit-identically: plain typed arrays, checkpoint layout. */
export interface TrainState {
  /** Weights, masks and the number of completed steps. */
  readonly checkpoint: Checkpoint;
  /** Momentum buffers by trainable tensor name. */
  readonly momentum: Readonly<Record<string, HostTensor<'float32'>>>;
  /** Sum and count of the training losses seen so far (for the reported mean). */
  readonly lossSum: number;
  readonly lossCount: number;
  /** Training loss of the last completed step (NaN before the first). */
  readonly lastLoss: number;
  /** Snapshots taken so far (`snapshotSteps` up to `checkpoint.step`), so a resumed run returns them all. */
  readonly snapshots: readonly Checkpoint[];
}

export interface StepContext {
  /** Completed steps (1 after the first update). */
  readonly step: number;
  readonly epoch: number;
  readonly totalSteps: number;
  /** Current weights, checkpoint layout (copies). */
  weights(): Record<string, HostTensor<'float32'>>;
  masks(): Record<string, HostTensor<'uint8'>>;
  /** Replaces masks (e.g. pruning); newly masked weights and their momentum become exactly zero. */
  setMasks(masks: Readonly<Record<string, HostTensor<'uint8'>>>): void;
  /** Unmasked gradients on the step's batch (RigL regrowth), checkpoint layout. Costs one extra pass. */
  denseGradients(): Record<string, HostTensor<'float32'>>;
}

export interface Progress {
  readonly step: number;
  readonly epoch: number;
  readonly totalSteps: number;
  /** Training loss of the last step. */
  readonly loss: number;
  readonly lr: number;
}

export interface TrainOptions {
  readonly dataset: Dataset;
  /** Number of passes over the training set; ignored when `steps` is given. Default 1. */
  readonly epochs?: number;
  /** Total optimizer steps (overrides epochs). */
  readonly steps?: number;
  /** Default 128. */
  readonly batchSize?: number;
  /** Base learning rate. */
  readonly learningRate: number;
  /** Default constant. */
  readonly schedule?: LrSchedule;
  readonly warmupSteps?: number;
  /** Default 0.9. */
  readonly momentum?: number;
  readonly nesterov?: boolean;
  /** Coupled L2 (PyTorch weight_decay) on every trainable tensor; default 0. */
  readonly weightDecay?: number;
  readonly labelSmoothing?: number;
  /** Seed of the data order, separate from the initialisation seed. */
  readonly dataSeed: number;
  /** Called after every step; may replace masks. */
  readonly onStep?: (ctx: StepContext) => void | Promise<void>;
  /** Called every `progressEvery` steps (default 50) and at the end. */
  readonly onProgress?: (p: Progress) => void;
  readonly progressEvery?: number;
  /** Checked every step; aborting rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  /** Completed-step counts at which to return a snapshot (0 = the starting weights). */
  readonly snapshotSteps?: readonly number[];
  /** Receives resumable state every `stateEvery` steps (default: at each epoch's end) and at the end. */
  readonly onState?: (state: TrainState) => void | Promise<void>;
  readonly stateEvery?: number;
  /** Continue from this state instead of the starting checkpoint's step 0. */
  readonly resume?: TrainState;
  /**
   * Read losses back every this many steps (default 1 on CPU backends, where reading is free, 25 on
   * others). Divergence is still reported at the exact step.
   */
  readonly syncEvery?: number;
}

export interface TrainResult {
  readonly checkpoint: Checkpoint;
  readonly snapshots: readonly Checkpoint[];
  readonly metrics: Metrics;
}

/** The training loss became NaN or infinite. */
export class DivergenceError extends Error {
  constructor(
    readonly step: number,
    readonly loss: number,
  ) {
    super(`training diverged at step ${step}: loss is ${loss}`);
    this.name = 'DivergenceError';
  }
}

/** Total steps for the options and dataset size. */
export function totalSteps(opts: Pick<TrainOptions, 'steps' | 'epochs' | 'batchSize'>, n: number): number {
  if (opts.steps !== undefined) return opts.steps;
  return Math.ceil(((opts.epochs ?? 1) * n) / (opts.batchSize ?? 128));
}

/** Sample indices of step `step`: a slice of the concatenated per-epoch permutations. */
class DataOrder {
  private epoch = -1;
  private perm: Int32Array = new Int32Array(0);
  constructor(
    private readonly n: number,
    private readonly seed: number,
  ) {}
  indices(step: number, batch: number, out: Int32Array): void {
    for (let i = 0; i < batch; i++) {
      const pos = step * batch + i;
      const e = Math.floor(pos / this.n);
      if (e !== this.epoch) {
        this.perm = permutation(this.n, this.seed, e);
        this.epoch = e;
      }
      out[i] = this.perm[pos - e * this.n]!;
    }
  }
}

/** w * mask, with +0 (not -0) where masked, so masked entries are bitwise zero. */
function applyMask(w: Tensor, mask: Tensor): Tensor {
  return tf.add(tf.mul(w, mask), 0);
}

function cloneMasks(m: Readonly<Record<string, HostTensor<'uint8'>>>): Record<string, HostTensor<'uint8'>> {
  const out: Record<string, HostTensor<'uint8'>> = {};
  for (const [k, v] of Object.entries(m)) out[k] = { dtype: 'uint8', shape: [...v.shape], data: v.data.slice() };
  return out;
}

/** Trains from `start` (or from `opts.resume`) and returns the final checkpoint and metrics. */
export async function train(start: Checkpoint, opts: TrainOptions): Promise<TrainResult> {
  const net = buildNetwork(start.model);
  const ds = opts.dataset;
  const sampleSize = ds.train.x.length / ds.train.n;
  const modelInput = start.model.inputShape.reduce((a, b) => a * b, 1);
  if (sampleSize !== modelInput) throw new Error(`dataset samples have ${sampleSize} values, model ${start.model.arch} expects ${modelInput}`);
  const B = opts.batchSize ?? 128;
  const total = totalSteps(opts, ds.train.n);
  const epochOf = (s: number): number => Math.floor((s * B) / ds.train.n);
  const origin = opts.resume?.checkpoint ?? start;
  let step = origin.step;
  if (!opts.resume) step = 0;
  let masks = cloneMasks(origin.masks);
  const trainable = net.params.filter(isTrainable);
  const prunable = net.params.filter(isPrunable);
  const cpuLike = ['wasm', 'cpu'].includes(tf.getBackend());
  const syncEvery = Math.max(1, opts.syncEvery ?? (cpuLike ? 1 : 25));
  const progressEvery = opts.progressEvery ?? 50;
  const lossOpts = { labelSmoothing: opts.labelSmoothing ?? 0 };
  const sgd = { momentum: opts.momentum ?? 0.9, nesterov: opts.nesterov ?? false, weightDecay: opts.weightDecay ?? 0 };

  // Device state. Masked weights are zeroed on upload, so they start (and stay) exactly zero.
  const weights: Record<string, tf.Variable> = {};
  const momentum: Record<string, tf.Variable> = {};
  const maskT: Record<string, Tensor> = {};
  const uploadMasks = (): void => {
    for (const p of prunable) {
      const m = masks[p.name];
      if (!m) throw new Error(`checkpoint has no mask for prunable tensor ${p.name}`);
      maskT[p.name]?.dispose();
      maskT[p.name] = maskToDevice(p, m);
    }
  };
  let lossSum = opts.resume?.lossSum ?? 0;
  let lossCount = opts.resume?.lossCount ?? 0;
  const pendingLosses: { step: number; loss: Tensor }[] = [];
  const snapshots: Checkpoint[] = [...(opts.resume?.snapshots ?? [])];
  const wanted = new Set(opts.snapshotSteps ?? []);
  const xBuf = new Float32Array(B * sampleSize);
  const yBuf = new Int32Array(B);
  const idx = new Int32Array(B);
  const order = new DataOrder(ds.train.n, opts.dataSeed);
  let lastLoss = opts.resume?.lastLoss ?? NaN;

  const hostWeights = (): Record<string, HostTensor<'float32'>> => {
    const out: Record<string, HostTensor<'float32'>> = {};
    for (const p of net.params) out[p.name] = fromDevice(p, weights[p.name]!);
    return out;
  };
  const checkpointNow = (): Checkpoint => ({
    model: start.model,
    tensors: hostWeights(),
    masks: cloneMasks(masks),
    step,
    meta: { ...(start.meta ?? {}), ...(backendDescription() ? { backend: backendDescription()!.name } : {}) },
  });
  const stateNow = (): TrainState => {
    const mom: Record<string, HostTensor<'float32'>> = {};
    for (const p of trainable) mom[p.name] = fromDevice(p, momentum[p.name]!);
    return { checkpoint: checkpointNow(), momentum: mom, lossSum, lossCount, lastLoss, snapshots: [...snapshots] };
  };
  const setMasks = (next: Readonly<Record<string, HostTensor<'uint8'>>>): void => {
    masks = { ...masks, ...cloneMasks(next) };
    uploadMasks();
    tf.tidy(() => {
      for (const p of prunable) {
        weights[p.name]!.assign(applyMask(weights[p.name]!, maskT[p.name]!));
        momentum[p.name]!.assign(applyMask(momentum[p.name]!, maskT[p.name]!));
      }
    });
  };
  const loadBatch = (s: number): void => {
    order.indices(s, B, idx);
    for (let i = 0; i < B; i++) {
      const r = idx[i]!;
      xBuf.set(ds.train.x.subarray(r * sampleSize, (r + 1) * sampleSize), i * sampleSize);
      yBuf[i] = ds.train.y[r]!;
    }
  };
  const flushLosses = (): void => {
    if (pendingLosses.length === 0) return;
    const values = pendingLosses.length === 1 ? pendingLosses[0]!.loss.dataSync() : tf.tidy(() => tf.stack(pendingLosses.map((l) => l.loss))).dataSync();
    const steps = pendingLosses.map((l) => l.step);
    tf.dispose(pendingLosses.map((l) => l.loss));
    pendingLosses.length = 0;
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (!Number.isFinite(v)) throw new DivergenceError(steps[i]!, v);
      lossSum += v;
      lossCount += 1;
      lastLoss = v;
    }
  };

  try {
    for (const p of net.params) {
      const host = origin.tensors[p.name];
      if (!host) throw new Error(`checkpoint of ${start.model.arch} lacks tensor ${p.name}`);
      const initial = toDevice(p, host);
      weights[p.name] = tf.variable(initial, false, undefined, 'float32');
      initial.dispose();
    }
    for (const p of trainable) {
      const m = opts.resume?.momentum[p.name];
      const initial = m ? toDevice(p, m) : tf.zeros(weights[p.name]!.shape);
      momentum[p.name] = tf.variable(initial, false, undefined, 'float32');
      initial.dispose();
    }
    uploadMasks();
    tf.tidy(() => {
      for (const p of prunable) weights[p.name]!.assign(applyMask(weights[p.name]!, maskT[p.name]!));
    });
    // A resumed state already holds the snapshot of the step it was saved at.
    if (wanted.has(step) && !snapshots.some((s) => s.step === step)) snapshots.push(checkpointNow());

    const runStep = (p: ParamInfo[], lr: number): Tensor =>
      tf.tidy(() => {
        const x = tf.tensor2d(xBuf, [B, sampleSize]);
        const y = tf.tensor1d(yBuf, 'int32');
        const { loss, grads, stats } = net.lossAndGrads(weights, x, y, lossOpts);
        const lrT = tf.scalar(lr);
        for (const q of p) {
          const u = sgdUpdate(weights[q.name]!, momentum[q.name]!, grads[q.name]!, maskT[q.name], lrT, sgd);
          weights[q.name]!.assign(u.w);
          momentum[q.name]!.assign(u.v);
        }
        for (const [name, t] of Object.entries(stats)) {
          weights[name]!.assign(t);
          t.dispose();
        }
        return loss;
      });

    while (step < total) {
      if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('training aborted');
      const lr = learningRate(step, total, { base: opts.learningRate, schedule: opts.schedule, warmupSteps: opts.warmupSteps });
      loadBatch(step);
      const loss = runStep(trainable, lr);
      step += 1;
      pendingLosses.push({ step, loss });
      const epoch = epochOf(step);
      const epochEnd = epoch !== epochOf(step - 1) || step === total;
      if (pendingLosses.length >= syncEvery || epochEnd) flushLosses();
      if (opts.onStep) {
        flushLosses();
        const ctx: StepContext = {
          step,
          epoch,
          totalSteps: total,
          weights: hostWeights,
          masks: () => cloneMasks(masks),
          setMasks,
          denseGradients: () => {
            const grads = tf.tidy(() => {
              const x = tf.tensor2d(xBuf, [B, sampleSize]);
              const y = tf.tensor1d(yBuf, 'int32');
              const r = net.lossAndGrads(weights, x, y, lossOpts);
              tf.dispose(Object.values(r.stats));
              return r.grads;
            });
            const out: Record<string, HostTensor<'float32'>> = {};
            for (const q of trainable) out[q.name] = fromDevice(q, grads[q.name]!);
            tf.dispose(Object.values(grads));
            return out;
          },
        };
        await opts.onStep(ctx);
      }
      if (opts.onProgress && (step % progressEvery === 0 || step === total)) {
        flushLosses();
        opts.onProgress({ step, epoch, totalSteps: total, loss: lastLoss, lr });
      }
      if (wanted.has(step)) snapshots.push(checkpointNow());
      const stateDue = opts.stateEvery ? step % opts.stateEvery === 0 : epochEnd;
      if (opts.onState && (stateDue || step === total)) {
        flushLosses();
        await opts.onState(stateNow());
      }
      // Let timers, signals and other work run between steps without slowing the loop.
      if (step % 20 === 0) await new Promise<void>((r) => setImmediate(r));
    }
    flushLosses();
    const final = checkpointNow();
    const meanLoss = lossCount ? lossSum / lossCount : NaN;
    return {
      checkpoint: { ...final, meta: { ...(final.meta ?? {}), trainLoss: meanLoss, lastLoss } },
      snapshots,
      metrics: { values: { steps: step, trainLossMean: meanLoss, lastLoss } },
    };
  } finally {
    tf.dispose(pendingLosses.map((l) => l.loss));
    tf.dispose([...Object.values(weights), ...Object.values(momentum), ...Object.values(maskT)]);
  }
}

/** Evaluates the final weights of a run on both splits (convenience for node kinds). */
export { evaluateParams };
