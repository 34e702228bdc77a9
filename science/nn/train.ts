/**
 * Training of a network's weights with SGD, on the shared step loop (loop.ts): masks multiply the
 * gradients, so masked weights stay exactly zero; a step hook may replace masks (gradual pruning,
 * dynamic sparse training), read weights and ask for dense gradients (RigL). Each step is one
 * synchronous tf.tidy; async code only coordinates.
 */
import type { Checkpoint, HostTensor, Metrics } from '../../base/values.js';
import { backendDescription, hostKernels } from './backend.js';
import { denseMasks } from './init.js';
import {
  DivergenceError,
  freshCounters,
  loopMetrics,
  meanLoss,
  runLoop,
  sgdLoopOptions,
  totalSteps,
  type Batch,
  type LoopCounters,
  type LoopOptions,
  type LoopProgress,
  type SgdLoopOptions,
  type SgdOptionsOf,
} from './loop.js';
import { buildNetwork } from './models/index.js';
import type { Network } from './network.js';
import type { Tensor } from './tf.js';
import { WeightsOnDevice } from './weights-on-device.js';
import { WeightsOnHost } from './weights-on-host.js';
import type { TrainingWeights } from './weights.js';

export { DivergenceError, totalSteps };

/** Everything needed to continue a run bit-identically: plain typed arrays, checkpoint layout. */
export interface TrainState extends Omit<LoopCounters, 'step'> {
  /** Weights, masks and the number of completed steps. */
  readonly checkpoint: Checkpoint;
  /** Momentum buffers by trainable tensor name. */
  readonly momentum: Readonly<Record<string, HostTensor<'float32'>>>;
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
  /** Learning rate of the step just taken. */
  readonly lr: number;
}

export type Progress = LoopProgress;

export interface TrainOptions extends SgdOptionsOf<TrainState> {
  /** Called after every step; may replace masks. */
  readonly onStep?: (ctx: StepContext) => void | Promise<void>;
  /** Completed-step counts at which to return a snapshot (0 = the starting weights). */
  readonly snapshotSteps?: readonly number[];
  /**
   * Start at the starting checkpoint's step k (a snapshot of a run of the same length, data order and
   * schedule) instead of step 0 and train steps k+1..total only: the weights are the checkpoint's, step
   * k+1 reads the batch and the learning rate the uninterrupted run reads there, and momentum starts at
   * zero. That is rewinding as open_lth implements it (training/train.py: every call builds a new
   * optimizer, steps the lr schedule `start_step` times and skips the data loader to `start_step`; an
   * optimizer state is restored only from the level's own checkpoint, when that run resumes), so with
   * plain SGD (momentum 0, no state) a continued run ends bit-identical to the uninterrupted one.
   * Instability analysis branches a run this way; IMP with rewinding retrains each level this way. A
   * step-0 checkpoint trains exactly as without this option.
   */
  readonly continueFromCheckpointStep?: boolean;
  /** Width of a loss-curve window in steps (default 50). */
  readonly curveEvery?: number;
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

function cloneMasks(m: Readonly<Record<string, HostTensor<'uint8'>>>): Record<string, HostTensor<'uint8'>> {
  const out: Record<string, HostTensor<'uint8'>> = {};
  for (const [k, v] of Object.entries(m)) out[k] = { dtype: 'uint8', shape: [...v.shape], data: v.data.slice() };
  return out;
}

/** Trains from `start` (or from `opts.resume`) and returns the final checkpoint and metrics. */
export async function train(start: Checkpoint, opts: TrainOptions): Promise<TrainResult> {
  const run = new TrainingRun(start, opts);
  try {
    run.upload();
    return run.finish(await runLoop(loopOptionsOf(run, opts)));
  } finally {
    run.dispose();
  }
}

/** The step loop of a run: where it starts, its update, what runs after each step, its resumable state. */
function loopOptionsOf(run: TrainingRun, opts: TrainOptions): LoopOptions {
  const resume = opts.resume;
  const step = run.step;
  return {
    ...run.loop,
    ...(resume ? { resume: { ...resume, step } } : step > 0 ? { resume: { ...freshCounters(), step } } : {}),
    ...(opts.curveEvery !== undefined ? { curveEvery: opts.curveEvery } : {}),
    ...(opts.syncEvery !== undefined ? { syncEvery: opts.syncEvery } : {}),
    step: (batch, lr) => run.update(batch, lr),
    ...(opts.onStep || run.wanted.size > 0 ? { after: (done: number, epoch: number, batch: Batch, lr: number) => run.after(done, epoch, batch, lr) } : {}),
    ...(opts.onState ? { onState: (c: LoopCounters) => run.saveState(c) } : {}),
  };
}

/**
 * One run of `train`: its weights (on the device or the host, masked weights +0 from the start), the
 * host masks, the step reached and the snapshots.
 */
class TrainingRun {
  readonly net: Network;
  readonly loop: SgdLoopOptions;
  /** Completed steps: where the run starts, then what the loop last reported. */
  step: number;
  readonly snapshots: Checkpoint[];
  /** Completed-step counts at which to take a snapshot. */
  readonly wanted: ReadonlySet<number>;
  private readonly origin: Checkpoint;
  private masks: Record<string, HostTensor<'uint8'>>;
  private weights: TrainingWeights | undefined;

  constructor(
    private readonly start: Checkpoint,
    private readonly opts: TrainOptions,
  ) {
    this.net = buildNetwork(start.model);
    const ds = opts.dataset;
    const sampleSize = ds.train.x.length / ds.train.n;
    const modelInput = start.model.inputShape.reduce((a, b) => a * b, 1);
    if (sampleSize !== modelInput) throw new Error(`dataset samples have ${sampleSize} values, model ${start.model.arch} expects ${modelInput}`);
    this.loop = sgdLoopOptions(opts);
    const total = this.loop.totalSteps;
    this.origin = opts.resume?.checkpoint ?? start;
    this.step = opts.resume ? this.origin.step : opts.continueFromCheckpointStep ? start.step : 0;
    if (this.step > total) throw new Error(`the starting checkpoint is at step ${this.step}, beyond the run's ${total} steps`);
    // A checkpoint without a mask for a prunable tensor (one written by PyTorch) is dense there.
    this.masks = { ...denseMasks(start.model), ...cloneMasks(this.origin.masks) };
    this.snapshots = [...(opts.resume?.snapshots ?? [])];
    this.wanted = new Set(opts.snapshotSteps ?? []);
  }

  /** Places the starting (or resumed) weights, momentum and masks where the run computes. */
  upload(): void {
    for (const p of this.net.params) if (!this.origin.tensors[p.name]) throw new Error(`checkpoint of ${this.start.model.arch} lacks tensor ${p.name}`);
    const startWith = { tensors: this.origin.tensors, masks: this.masks, ...(this.opts.resume ? { momentum: this.opts.resume.momentum } : {}) };
    const sgd = { momentum: this.opts.momentum ?? 0.9, nesterov: this.opts.nesterov ?? false, weightDecay: this.opts.weightDecay ?? 0 };
    const lossOpts = { labelSmoothing: this.opts.labelSmoothing ?? 0 };
    const kernels = hostKernels();
    const sizes = this.net.denseLayerSizes;
    this.weights = kernels && sizes ? new WeightsOnHost(kernels, sizes, startWith, sgd, lossOpts) : new WeightsOnDevice(this.net, startWith, sgd, lossOpts);
    // A resumed state already holds the snapshot of the step it was saved at.
    if (this.wanted.has(this.step) && !this.snapshots.some((s) => s.step === this.step)) this.snapshots.push(this.checkpoint());
  }

  /** One SGD step on `batch` at rate `lr`; returns the batch loss. */
  update(batch: Batch, lr: number): Tensor | number {
    return this.weights!.update(batch, lr);
  }

  /** After completed step `done` (taken at rate `lr`): the caller's step hook, then the snapshot if wanted. */
  async after(done: number, epoch: number, batch: Batch, lr: number): Promise<void> {
    this.step = done;
    if (this.opts.onStep) {
      await this.opts.onStep({
        step: done,
        epoch,
        totalSteps: this.loop.totalSteps,
        lr,
        weights: () => this.weights!.weights(),
        masks: () => cloneMasks(this.masks),
        setMasks: (next) => this.setMasks(next),
        denseGradients: () => this.weights!.denseGradients(batch),
      });
    }
    if (this.wanted.has(done)) this.snapshots.push(this.checkpoint());
  }

  /** The final checkpoint (its mean and last training loss in `meta`), the snapshots and the metrics. */
  finish(counters: LoopCounters): TrainResult {
    this.step = counters.step;
    const final = this.checkpoint();
    return {
      checkpoint: { ...final, meta: { ...(final.meta ?? {}), trainLoss: meanLoss(counters), lastLoss: counters.lastLoss } },
      snapshots: this.snapshots,
      metrics: loopMetrics(counters),
    };
  }

  /** Hands `onState` what a resumed run continues from, after the loop counted `c`. */
  async saveState(c: LoopCounters): Promise<void> {
    this.step = c.step;
    const momentum = this.weights!.momentum();
    const { step: _step, ...rest } = c;
    await this.opts.onState!({ ...rest, checkpoint: this.checkpoint(), momentum, snapshots: [...this.snapshots] });
  }

  checkpoint(): Checkpoint {
    const backend = backendDescription();
    return {
      model: this.start.model,
      tensors: this.weights!.weights(),
      masks: cloneMasks(this.masks),
      step: this.step,
      // Which path computed the weights: the backend, and `native` where the host kernels did.
      meta: { ...(this.start.meta ?? {}), ...(backend ? { backend: this.weights!.path === 'native' ? 'native' : backend.name === 'native' ? 'wasm' : backend.name } : {}) },
    };
  }

  dispose(): void {
    this.weights?.dispose();
  }

  /** Replaces masks; newly masked weights and their momentum become exactly zero. */
  private setMasks(next: Readonly<Record<string, HostTensor<'uint8'>>>): void {
    this.masks = { ...this.masks, ...cloneMasks(next) };
    this.weights!.setMasks(this.masks);
  }
}
