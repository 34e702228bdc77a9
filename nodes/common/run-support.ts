/**
 * What the kinds' implementations share (imported only by the kinds' `run.ts` files, which load the numerical layer):
 * the one adapter from a kind's training parameters to the training loop's options, data loading with
 * the fingerprint analysis computed, and the metrics every trained checkpoint reports.
 */
import { loadDataset, type Dataset, type Split } from '../../science/data/load.js';
import { datasetSpecOf } from '../../science/data/spec.js';
import { grid } from '../../science/nn/curves.js';
import { evaluate } from '../../science/nn/evaluate.js';
import { evaluatePath } from '../../science/nn/landscape.js';
import { isPrunable } from '../../science/nn/network.js';
import { buildNetwork } from '../../science/nn/models/index.js';
import { maskSparsity, weightSparsity } from '../../science/nn/pruning.js';
import { LR_FINAL_DEFAULTS, type LrSchedule } from '../../science/nn/schedules.js';
import type { SgdOptionsOf } from '../../science/nn/loop.js';
import type { TrainResult } from '../../science/nn/train.js';
import type { Checkpoint, Landscape, LandscapePoint, Metrics, ModelSpec } from '../../base/values.js';
import type { DatasetParam, EvaluationParams, TrainingParams } from './params.js';

/** The dataset of a node, loaded with the fingerprint analysis already computed. */
export function loadData(spec: DatasetParam, ctx: { readonly datasetFingerprint?: string }): Dataset {
  return loadDataset(datasetSpecOf(spec), ctx.datasetFingerprint ? { fingerprint: ctx.datasetFingerprint } : {});
}

/** Throws when `got` is not the model `want` describes (what the message calls `what`). */
export function sameModel(got: ModelSpec, want: ModelSpec, what: string): void {
  const show = (m: ModelSpec) => `${m.arch} [${m.inputShape.join(', ')}] -> ${m.numClasses}${m.options ? ` ${JSON.stringify(m.options)}` : ''}`;
  const same = JSON.stringify([got.arch, got.inputShape, got.numClasses, got.options ?? {}]) === JSON.stringify([want.arch, want.inputShape, want.numClasses, want.options ?? {}]);
  if (!same) throw new Error(`${what} is for ${show(got)}, but the model is ${show(want)}`);
}

/** Throws when the dataset's samples or classes do not fit the checkpoint's model. */
export function fitsData(model: ModelSpec, data: Dataset): void {
  const sample = data.sampleShape.reduce((a, b) => a * b, 1);
  const input = model.inputShape.reduce((a, b) => a * b, 1);
  if (sample !== input) throw new Error(`the dataset's samples have ${sample} values ([${data.sampleShape.join(', ')}]); model ${model.arch} expects ${input} ([${model.inputShape.join(', ')}])`);
  if (data.numClasses !== model.numClasses) throw new Error(`the dataset has ${data.numClasses} classes; model ${model.arch} has ${model.numClasses} outputs`);
}

/** The learning-rate schedule a kind's parameters name, milestones converted from epochs to steps. */
export function scheduleOf(p: Pick<TrainingParams, 'schedule' | 'lr_final' | 'lr_milestones' | 'lr_gamma' | 'batch_size'>, trainSize: number): LrSchedule {
  switch (p.schedule) {
    case 'constant':
      return { kind: 'constant' };
    case 'cosine':
      return { kind: 'cosine', final: p.lr_final ?? LR_FINAL_DEFAULTS.cosine };
    case 'step':
      return { kind: 'step', milestones: p.lr_milestones.map((e) => Math.round((e * trainSize) / p.batch_size)), gamma: p.lr_gamma };
    case 'mode-connectivity':
      return { kind: 'mode-connectivity', final: p.lr_final ?? LR_FINAL_DEFAULTS['mode-connectivity'] };
  }
}

/** The training loop's options for a kind's training parameters (everything but resume and hooks). */
export function trainOptionsOf(p: TrainingParams, data: Dataset): Omit<SgdOptionsOf<unknown>, 'resume' | 'onState' | 'signal' | 'onProgress'> {
  return {
    dataset: data,
    epochs: p.epochs,
    ...(p.steps !== undefined ? { steps: p.steps } : {}),
    batchSize: p.batch_size,
    learningRate: p.lr,
    schedule: scheduleOf(p, data.train.n),
    warmupSteps: p.warmup_steps,
    momentum: p.momentum,
    nesterov: p.nesterov,
    weightDecay: p.weight_decay,
    labelSmoothing: p.label_smoothing,
    dataSeed: p.data_seed,
  };
}

/** Splits of a dataset by name. */
export const splitOf = (data: Dataset, name: 'train' | 'test'): Split => (name === 'train' ? data.train : data.test);

/**
 * What every trained checkpoint reports: loss and accuracy on the whole training and test splits
 * after training (not the running mean), and its sparsity per prunable tensor and overall. The batch
 * size is `eval_batch_size`'s default, so these losses equal an `evaluate` or path end point exactly.
 */
export function checkpointMetrics(checkpoint: Checkpoint, data: Dataset, splits: readonly ('train' | 'test')[] = ['train', 'test'], batchSize = 1000): Record<string, number> {
  const values: Record<string, number> = {};
  for (const s of splits) {
    const r = evaluate(checkpoint, splitOf(data, s), { batchSize });
    values[`${s}_loss`] = r.loss;
    values[`${s}_accuracy`] = r.accuracy;
  }
  Object.assign(values, sparsityMetrics(checkpoint));
  return values;
}

/** `sparsity` (zeros among all prunable weights) and `sparsity.NAME` for each, from the weights. */
export function sparsityMetrics(checkpoint: Checkpoint): Record<string, number> {
  const names = buildNetwork(checkpoint.model).params.filter(isPrunable).map((p) => p.name);
  const w = weightSparsity(checkpoint.tensors, names);
  const m = maskSparsity(Object.fromEntries(names.flatMap((n) => (checkpoint.masks[n] ? [[n, checkpoint.masks[n]!]] : []))));
  const values: Record<string, number> = { sparsity: w.overall, mask_sparsity: m.overall };
  for (const [name, v] of Object.entries(w.perTensor)) values[`sparsity.${name}`] = v;
  return values;
}

/** The evaluation parameters' batch size and splits, typed. */
export const evaluationOf = (p: EvaluationParams) => ({ splits: p.splits, batchSize: p.eval_batch_size });

/**
 * The snapshot at `step` of a run. Step 0 (and the step a continued run starts at) is the input
 * itself; a step the run never reached is an error naming it.
 */
export function snapshotAt(result: TrainResult, step: number, start: Checkpoint, continued: boolean): Checkpoint {
  const found = result.snapshots.find((s) => s.step === step);
  if (found) return found;
  if (step === 0 || step === start.step) return start;
  throw new Error(`snapshot step ${step} is outside the run (steps ${continued ? start.step : 0} to ${result.checkpoint.step})`);
}

/** A training run's metrics: what `checkpointMetrics` measured, steps, wall time, and the loss curve. */
export function trainingMetrics(result: TrainResult, evaluated: Record<string, number>, startedMs: number, extra: Record<string, number> = {}): Metrics {
  const v = result.metrics.values;
  return {
    values: {
      ...evaluated,
      steps: v['steps']!,
      train_loss_running_mean: v['trainLossMean']!,
      last_batch_loss: v['lastLoss']!,
      wall_s: (Date.now() - startedMs) / 1000,
      ...extra,
    },
    series: { ...(result.metrics.series ?? {}) },
  };
}

/**
 * A path's landscape on the chosen splits: the points at `positions`, each the mix `coefficients(x)`
 * of `basis`. Batch-norm statistics (if the model has any) are recomputed on the training split.
 */
export function pathLandscape(
  basis: readonly Checkpoint[],
  positions: readonly number[],
  coefficients: (x: number) => ArrayLike<number>,
  data: Dataset,
  eval_: { splits: readonly ('train' | 'test')[]; batchSize: number },
  axis: Landscape['axis'],
  label?: Record<string, string>,
): Landscape {
  const net = buildNetwork(basis[0]!.model);
  const coeffs = positions.map(coefficients);
  const points: LandscapePoint[] = [];
  for (const split of eval_.splits) {
    const results = evaluatePath(net, basis, coeffs, splitOf(data, split), { batchSize: eval_.batchSize, statsSplit: data.train });
    results.forEach((r, i) => points.push({ x: positions[i]!, split, loss: r.loss, accuracy: r.accuracy }));
  }
  return { axis, points, ...(label ? { label } : {}) };
}

/** `n` evenly spaced positions from `from` to `to` that contain 0 and 1 exactly (added if the grid misses them). */
export function pathGrid(from: number, to: number, n: number): number[] {
  const snapped = grid(from, to, n).map((x) => (Math.abs(x) < 1e-9 ? 0 : Math.abs(x - 1) < 1e-9 ? 1 : x));
  for (const end of [0, 1]) if (!snapped.includes(end)) snapped.push(end);
  return snapped.sort((a, b) => a - b);
}
