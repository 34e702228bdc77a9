/**
 * The step loop every kind of training shares: the data order, host-side batching, the learning rate of
 * each step, loss accounting (divergence at the exact step, the running mean, a loss curve), progress,
 * resumable counters, abort and yielding to the event loop. What one step computes is the caller's:
 * `train` updates weights, `fitCurve` updates a curve's control points.
 *
 * Data order comes from the data-order seed alone: the sample stream is the concatenation of per-epoch
 * permutations, so step s reads samples [s*B, (s+1)*B) of that stream and `epochs: E` means
 * ceil(E*n/B) steps (rigl's 25 MNIST epochs at batch 128 = 11,719 steps). Batch and learning rate are
 * functions of the step alone, so a run that starts at step k (resumed after a kill, or continued from a
 * checkpoint's step: a branch, a rewound IMP level) reads from step k+1 on what a run from step 0 reads.
 */
import type { Metrics } from '../../base/values.js';
import type { Dataset, Split } from '../data/load.js';
import { permutation } from '../data/random.js';
import { learningRate, type LrOptions, type LrSchedule } from './schedules.js';
import { totalSteps } from './steps.js';
import { tf, type Tensor } from './tf.js';

/**
 * The settings of an SGD run on the step loop, shared by weight training and curve fitting; `S` is the
 * resumable state the run saves and continues from.
 */
export interface SgdOptionsOf<S> {
  readonly dataset: Dataset;
  /** Number of passes over the training set; ignored when `steps` is given. Default 1. */
  readonly epochs?: number;
  /** Total optimizer steps (overrides epochs). */
  readonly steps?: number;
  /** Default 128. */
  readonly batchSize?: number;
  /** Base learning rate. */
  readonly learningRate: number;
  /** Default constant (curve fitting: Garipov et al.'s mode-connectivity schedule). */
  readonly schedule?: LrSchedule;
  readonly warmupSteps?: number;
  /** Default 0.9. */
  readonly momentum?: number;
  readonly nesterov?: boolean;
  /** Coupled L2 (PyTorch weight_decay) on every trainable tensor (curve fitting: on the curve's point); default 0. */
  readonly weightDecay?: number;
  readonly labelSmoothing?: number;
  /** Seed of the data order, separate from the initialisation seed. */
  readonly dataSeed: number;
  /** Checked every step; aborting rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  /** Called every `progressEvery` steps (default 50) and at the end. */
  readonly onProgress?: (p: LoopProgress) => void;
  readonly progressEvery?: number;
  /** Receives resumable state every `stateEvery` steps (default: at each epoch's end) and at the end. */
  readonly onState?: (state: S) => void | Promise<void>;
  readonly stateEvery?: number;
  /** Continue from this state instead of step 0. */
  readonly resume?: S;
}

/** One minibatch on the host; `tensors()` uploads it (call inside a tidy). */
export interface Batch {
  readonly x: Float32Array;
  readonly y: Int32Array;
  readonly size: number;
  readonly sampleSize: number;
  tensors(): { x: Tensor; y: Tensor };
}

export { totalSteps };

/** The batches of a split in the data order of `seed`: step s is a slice of the per-epoch permutations. */
export class BatchStream {
  private epoch = -1;
  private perm: Int32Array = new Int32Array(0);
  private readonly idx: Int32Array;
  private readonly batch: Batch;

  constructor(
    private readonly split: Split,
    readonly batchSize: number,
    private readonly seed: number,
  ) {
    const sampleSize = split.x.length / split.n;
    const x = new Float32Array(batchSize * sampleSize);
    const y = new Int32Array(batchSize);
    this.idx = new Int32Array(batchSize);
    this.batch = { x, y, size: batchSize, sampleSize, tensors: () => ({ x: tf.tensor2d(x, [batchSize, sampleSize]), y: tf.tensor1d(y, 'int32') }) };
  }

  /** Fills and returns the (reused) batch of step `step`. */
  load(step: number): Batch {
    const { n } = this.split;
    const B = this.batchSize;
    const d = this.batch.sampleSize;
    for (let i = 0; i < B; i++) {
      const pos = step * B + i;
      const e = Math.floor(pos / n);
      if (e !== this.epoch) {
        this.perm = permutation(n, this.seed, e);
        this.epoch = e;
      }
      this.idx[i] = this.perm[pos - e * n]!;
    }
    for (let i = 0; i < B; i++) {
      const r = this.idx[i]!;
      this.batch.x.set(this.split.x.subarray(r * d, (r + 1) * d), i * d);
      this.batch.y[i] = this.split.y[r]!;
    }
    return this.batch;
  }
}

/** What the loop has counted so far; plain numbers, so a resumed run continues them exactly. */
export interface LoopCounters {
  /** Completed steps. */
  readonly step: number;
  /** Sum and count of the training losses seen (for the running mean). */
  readonly lossSum: number;
  readonly lossCount: number;
  /** Training loss of the last completed step (NaN before the first). */
  readonly lastLoss: number;
  /** Mean training loss of each completed window of `curveEvery` steps. */
  readonly curve: readonly number[];
  /** The step at which each window of `curve` ended. */
  readonly curveSteps: readonly number[];
  /** Sum and count of the losses of the window in progress. */
  readonly windowSum: number;
  readonly windowCount: number;
}

export const freshCounters = (): LoopCounters => ({ step: 0, lossSum: 0, lossCount: 0, lastLoss: NaN, curve: [], curveSteps: [], windowSum: 0, windowCount: 0 });

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

export interface LoopProgress {
  readonly step: number;
  readonly epoch: number;
  readonly totalSteps: number;
  /** Training loss of the last step. */
  readonly loss: number;
  readonly lr: number;
}

export interface LoopOptions {
  readonly split: Split;
  readonly batchSize: number;
  readonly totalSteps: number;
  /** Seed of the data order. */
  readonly dataSeed: number;
  /** The learning-rate schedule over `totalSteps`; the loop computes each step's rate from it, once. */
  readonly rate: LrOptions;
  /**
   * One synchronous update on `batch` at learning rate `lr`; returns the batch loss, as a number or
   * (on a tfjs device, inside its own tidy) a scalar tensor that the loop reads back and disposes.
   */
  readonly step: (batch: Batch, lr: number, step: number) => Tensor | number;
  /**
   * After each step, with its loss accounted (pruning, dynamic sparsity, snapshots); `step` counts
   * completed steps and `lr` is the rate of the step just taken.
   */
  readonly after?: (step: number, epoch: number, batch: Batch, lr: number) => void | Promise<void>;
  /** Start from these counters (a resumed run) instead of step 0. */
  readonly resume?: LoopCounters;
  readonly signal?: AbortSignal;
  /** Called every `progressEvery` steps (default 50) and at the end. */
  readonly onProgress?: (p: LoopProgress) => void;
  readonly progressEvery?: number;
  /** Receives the counters every `stateEvery` steps (default: at each epoch's end) and at the end. */
  readonly onState?: (counters: LoopCounters) => void | Promise<void>;
  readonly stateEvery?: number;
  /** Width of a loss-curve window in steps (default 50). */
  readonly curveEvery?: number;
  /**
   * Read losses back every this many steps (default 1 on CPU backends, where reading is free, 25 on
   * others). Divergence is still reported at the exact step.
   */
  readonly syncEvery?: number;
}

/** Runs steps from the resumed (or zero) count up to `totalSteps`; returns the final counters. */
export async function runLoop(opts: LoopOptions): Promise<LoopCounters> {
  const n = opts.split.n;
  const B = opts.batchSize;
  const total = opts.totalSteps;
  const epochOf = (s: number): number => Math.floor((s * B) / n);
  const cpuLike = ['wasm', 'cpu'].includes(tf.getBackend());
  const syncEvery = Math.max(1, opts.syncEvery ?? (cpuLike ? 1 : 25));
  const progressEvery = opts.progressEvery ?? 50;
  const curveEvery = opts.curveEvery ?? 50;
  const stream = new BatchStream(opts.split, B, opts.dataSeed);
  const lrAt = (s: number): number => learningRate(s, total, opts.rate);
  const c = { ...(opts.resume ?? freshCounters()), curve: [...(opts.resume?.curve ?? [])], curveSteps: [...(opts.resume?.curveSteps ?? [])] };
  const pending: { step: number; loss: Tensor | number }[] = [];
  const counters = (): LoopCounters => ({ ...c, curve: [...c.curve], curveSteps: [...c.curveSteps] });

  const flush = (): void => {
    if (pending.length === 0) return;
    const tensors = pending.map((l) => l.loss).filter((l): l is Tensor => typeof l !== 'number');
    // Tensors are read back in one transfer; a host path hands over plain numbers.
    const read = tensors.length === 0 ? [] : tensors.length === 1 ? tensors[0]!.dataSync() : tf.tidy(() => tf.stack(tensors)).dataSync();
    let t = 0;
    const values = pending.map((l) => (typeof l.loss === 'number' ? l.loss : read[t++]!));
    const steps = pending.map((l) => l.step);
    tf.dispose(tensors);
    pending.length = 0;
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (!Number.isFinite(v)) throw new DivergenceError(steps[i]!, v);
      c.lossSum += v;
      c.lossCount += 1;
      c.lastLoss = v;
      c.windowSum += v;
      c.windowCount += 1;
      if (steps[i]! % curveEvery === 0 || steps[i] === total) {
        c.curve.push(c.windowSum / c.windowCount);
        c.curveSteps.push(steps[i]!);
        c.windowSum = 0;
        c.windowCount = 0;
      }
    }
  };

  try {
    while (c.step < total) {
      if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('training aborted');
      const lr = lrAt(c.step);
      const batch = stream.load(c.step);
      const loss = opts.step(batch, lr, c.step);
      c.step += 1;
      const step = c.step;
      pending.push({ step, loss });
      const epoch = epochOf(step);
      const epochEnd = epoch !== epochOf(step - 1) || step === total;
      if (pending.length >= syncEvery || epochEnd || opts.after) flush();
      if (opts.after) await opts.after(step, epoch, batch, lr);
      if (opts.onProgress && (step % progressEvery === 0 || step === total)) {
        flush();
        opts.onProgress({ step, epoch, totalSteps: total, loss: c.lastLoss, lr });
      }
      const stateDue = opts.stateEvery ? step % opts.stateEvery === 0 : epochEnd;
      if (opts.onState && (stateDue || step === total)) {
        flush();
        await opts.onState(counters());
      }
      // Let timers, signals and other work run between steps without slowing the loop.
      if (step % 20 === 0) await new Promise<void>((r) => setImmediate(r));
    }
    flush();
    return counters();
  } finally {
    tf.dispose(pending.map((l) => l.loss).filter((l): l is Tensor => typeof l !== 'number'));
  }
}

/** The loop options an SGD run's settings fix: data order, length, learning rate, abort and progress. */
export type SgdLoopOptions = Pick<LoopOptions, 'split' | 'batchSize' | 'totalSteps' | 'dataSeed' | 'rate' | 'signal' | 'onProgress' | 'progressEvery' | 'stateEvery'>;

/** What `opts` fixes of the loop; `schedule` is the run's schedule (a default where `opts` names none). */
export function sgdLoopOptions<S>(opts: SgdOptionsOf<S>, schedule: LrSchedule | undefined = opts.schedule): SgdLoopOptions {
  return {
    split: opts.dataset.train,
    batchSize: opts.batchSize ?? 128,
    totalSteps: totalSteps(opts, opts.dataset.train.n),
    dataSeed: opts.dataSeed,
    rate: { base: opts.learningRate, schedule, warmupSteps: opts.warmupSteps },
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    ...(opts.progressEvery !== undefined ? { progressEvery: opts.progressEvery } : {}),
    ...(opts.stateEvery !== undefined ? { stateEvery: opts.stateEvery } : {}),
  };
}

/** Mean training loss over every step counted (NaN before the first). */
export const meanLoss = (c: LoopCounters): number => (c.lossCount ? c.lossSum / c.lossCount : NaN);

/** A run's metrics from its final counters: steps, the running-mean and last losses, the loss curve. */
export function loopMetrics(c: LoopCounters): Metrics {
  return { values: { steps: c.step, trainLossMean: meanLoss(c), lastLoss: c.lastLoss }, series: { loss: [...c.curve], loss_step: [...c.curveSteps] } };
}
