/**
 * Training of a network's weights with SGD, on the shared step loop (loop.ts): masks multiply the
 * gradients, so masked weights stay exactly zero; a step hook may replace masks (gradual pruning,
 * dynamic sparse training), read weights and ask for dense gradients (RigL). Each step is one
 * synchronous tf.tidy; async code only coordinates.
 */
import type { Checkpoint, HostTensor, Metrics } from '../../base/values.js';
import { backendDescription } from './backend.js';
import { fromDevice, maskToDevice, toDevice } from './device.js';
import { denseMasks } from './init.js';
import { DivergenceError, freshCounters, runLoop, totalSteps, type Batch, type LoopCounters, type LoopProgress, type SgdOptionsOf } from './loop.js';
import { buildNetwork } from './models/index.js';
import { isPrunable, isTrainable } from './network.js';
import { learningRate } from './schedules.js';
import { sgdUpdate } from './sgd.js';
import { tf, type Tensor } from './tf.js';

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
   * Start at the starting checkpoint's step (a snapshot of a longer run) instead of step 0: the data
   * order and the learning-rate schedule continue from there, momentum starts at zero. Instability
   * analysis branches a run this way.
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
  const origin = opts.resume?.checkpoint ?? start;
  let step = opts.resume ? origin.step : opts.continueFromCheckpointStep ? start.step : 0;
  if (step > total) throw new Error(`the starting checkpoint is at step ${step}, beyond the run's ${total} steps`);
  // A checkpoint without a mask for a prunable tensor (one written by PyTorch) is dense there.
  let masks = { ...denseMasks(start.model), ...cloneMasks(origin.masks) };
  const trainable = net.params.filter(isTrainable);
  const prunable = net.params.filter(isPrunable);
  const lossOpts = { labelSmoothing: opts.labelSmoothing ?? 0 };
  const sgd = { momentum: opts.momentum ?? 0.9, nesterov: opts.nesterov ?? false, weightDecay: opts.weightDecay ?? 0 };

  // Device state. Masked weights are zeroed on upload, so they start (and stay) exactly zero.
  const weights: Record<string, tf.Variable> = {};
  const momentum: Record<string, tf.Variable> = {};
  const maskT: Record<string, Tensor> = {};
  const uploadMasks = (): void => {
    for (const p of prunable) {
      maskT[p.name]?.dispose();
      maskT[p.name] = maskToDevice(p, masks[p.name]!);
    }
  };
  const snapshots: Checkpoint[] = [...(opts.resume?.snapshots ?? [])];
  const wanted = new Set(opts.snapshotSteps ?? []);
  let counters: LoopCounters | undefined;

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
  const stateNow = (c: LoopCounters): TrainState => {
    const mom: Record<string, HostTensor<'float32'>> = {};
    for (const p of trainable) mom[p.name] = fromDevice(p, momentum[p.name]!);
    const { step: _step, ...rest } = c;
    return { ...rest, checkpoint: checkpointNow(), momentum: mom, snapshots: [...snapshots] };
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
  const denseGradients = (batch: Batch): Record<string, HostTensor<'float32'>> => {
    const grads = tf.tidy(() => {
      const { x, y } = batch.tensors();
      const r = net.lossAndGrads(weights, x, y, lossOpts);
      tf.dispose(Object.values(r.stats));
      return r.grads;
    });
    const out: Record<string, HostTensor<'float32'>> = {};
    for (const q of trainable) out[q.name] = fromDevice(q, grads[q.name]!);
    tf.dispose(Object.values(grads));
    return out;
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

    const resume = opts.resume;
    counters = await runLoop({
      split: ds.train,
      batchSize: B,
      totalSteps: total,
      dataSeed: opts.dataSeed,
      lr: (s) => learningRate(s, total, { base: opts.learningRate, schedule: opts.schedule, warmupSteps: opts.warmupSteps }),
      ...(resume ? { resume: { ...resume, step } } : step > 0 ? { resume: { ...freshCounters(), step } } : {}),
      ...(opts.curveEvery !== undefined ? { curveEvery: opts.curveEvery } : {}),
      step: (batch, lr) =>
        tf.tidy(() => {
          const { x, y } = batch.tensors();
          const { loss, grads, stats } = net.lossAndGrads(weights, x, y, lossOpts);
          const lrT = tf.scalar(lr);
          for (const q of trainable) {
            const u = sgdUpdate(weights[q.name]!, momentum[q.name]!, grads[q.name]!, maskT[q.name], lrT, sgd);
            weights[q.name]!.assign(u.w);
            momentum[q.name]!.assign(u.v);
          }
          for (const [name, t] of Object.entries(stats)) {
            weights[name]!.assign(t);
            t.dispose();
          }
          return loss;
        }),
      ...(opts.onStep || wanted.size > 0
        ? {
            after: async (done: number, epoch: number, batch: Batch) => {
              step = done;
              if (opts.onStep) {
                const lr = learningRate(done - 1, total, { base: opts.learningRate, schedule: opts.schedule, warmupSteps: opts.warmupSteps });
                await opts.onStep({
                  step: done,
                  epoch,
                  totalSteps: total,
                  lr,
                  weights: hostWeights,
                  masks: () => cloneMasks(masks),
                  setMasks,
                  denseGradients: () => denseGradients(batch),
                });
              }
              if (wanted.has(done)) snapshots.push(checkpointNow());
            },
          }
        : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
      ...(opts.progressEvery !== undefined ? { progressEvery: opts.progressEvery } : {}),
      ...(opts.stateEvery !== undefined ? { stateEvery: opts.stateEvery } : {}),
      ...(opts.syncEvery !== undefined ? { syncEvery: opts.syncEvery } : {}),
      ...(opts.onState
        ? {
            onState: async (c: LoopCounters) => {
              step = c.step;
              await opts.onState!(stateNow(c));
            },
          }
        : {}),
    });
    step = counters.step;
    const final = checkpointNow();
    const meanLoss = counters.lossCount ? counters.lossSum / counters.lossCount : NaN;
    return {
      checkpoint: { ...final, meta: { ...(final.meta ?? {}), trainLoss: meanLoss, lastLoss: counters.lastLoss } },
      snapshots,
      metrics: { values: { steps: step, trainLossMean: meanLoss, lastLoss: counters.lastLoss }, series: { loss: [...counters.curve], loss_step: [...counters.curveSteps] } },
    };
  } finally {
    tf.dispose([...Object.values(weights), ...Object.values(momentum), ...Object.values(maskT)]);
  }
}

