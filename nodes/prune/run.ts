/**
 * The science of `prune`: gradual magnitude pruning as a step hook of the training loop (a killed run
 * resumes bit-identically: the masks travel in the saved state and every pruning decision is a function
 * of the weights at its step), or one-shot pruning of a trained checkpoint, optionally fine-tuned.
 */
import { denseMasks } from '../../science/nn/init.js';
import { buildNetwork } from '../../science/nn/models/index.js';
import { failOnProblems, pruneProblems } from '../common/checks.js';
import { isPrunable } from '../../science/nn/network.js';
import { applyMasks, isPruningStep, magnitudeMasks, pruningSteps, scheduledSparsity, type GradualSchedule } from '../../science/nn/pruning.js';
import { resumableTraining } from '../../science/nn/resumable.js';
import { totalSteps, train, type TrainResult } from '../../science/nn/train.js';
import type { KindContext } from '../../engine/node-def.js';
import type { Checkpoint, Mask, Metrics } from '../../base/values.js';
import type { pruneInputs, pruneParams } from './def.js';
import { checkpointMetrics, fitsData, loadData, snapshotAt, trainOptionsOf, trainingMetrics } from '../common/run-support.js';

type Outputs = { checkpoint: Checkpoint; mask: Mask; rewind: Checkpoint; metrics: Metrics };

export async function runPrune(ctx: KindContext<typeof pruneParams, typeof pruneInputs>): Promise<Outputs> {
  const { params, inputs } = ctx;
  const started = Date.now();
  const data = loadData(params.dataset, ctx);
  const start = inputs.init;
  fitsData(start.model, data);
  const prunable = buildNetwork(start.model).params.filter(isPrunable).map((p) => p.name);
  const unknown = params.exclude.filter((n) => !prunable.includes(n));
  if (unknown.length > 0) throw new Error(`exclude: ${unknown.join(', ')} ${unknown.length === 1 ? 'is' : 'are'} not a prunable weight of ${start.model.arch} (prunable: ${prunable.join(', ')})`);
  const names = prunable.filter((n) => !params.exclude.includes(n));
  const magnitude = { scope: params.scope, names } as const;
  const options = trainOptionsOf(params, data);

  if (params.method === 'one-shot') {
    const masks = magnitudeMasks(start.tensors, { ...denseMasks(start.model), ...start.masks }, { ...magnitude, sparsity: params.sparsity });
    let pruned: Checkpoint = { ...start, tensors: applyMasks(start.tensors, masks), masks };
    let result: TrainResult | undefined;
    if (params.finetune) {
      result = await train(pruned, { ...options, ...(await resumableTraining(ctx)) });
      pruned = result.checkpoint;
    }
    const evaluated = { ...checkpointMetrics(pruned, data), target_sparsity: params.sparsity };
    const metrics: Metrics = result
      ? trainingMetrics(result, evaluated, started)
      : { values: { ...evaluated, steps: 0, wall_s: (Date.now() - started) / 1000 } };
    return { checkpoint: pruned, mask: { model: start.model, masks: pruned.masks }, rewind: start, metrics };
  }

  const schedule: GradualSchedule = {
    initialSparsity: params.initial_sparsity,
    finalSparsity: params.sparsity,
    beginStep: params.begin_step,
    endStep: params.end_step,
    frequency: params.frequency,
  };
  const total = totalSteps(options, data.train.n);
  failOnProblems(pruneProblems(params, { trainSize: data.train.n }));
  const result = await train(start, {
    ...options,
    snapshotSteps: [params.rewind_step],
    onStep: (step) => {
      if (!isPruningStep(step.step, schedule)) return;
      step.setMasks(magnitudeMasks(step.weights(), step.masks(), { ...magnitude, sparsity: scheduledSparsity(step.step, schedule) }));
    },
    ...(await resumableTraining(ctx)),
  });
  const applied = pruningSteps(schedule, total);
  const evaluated = { ...checkpointMetrics(result.checkpoint, data), target_sparsity: params.sparsity, pruning_steps: applied.length };
  const metrics = trainingMetrics(result, evaluated, started);
  const series = { ...(metrics.series ?? {}), schedule_step: applied.map((a) => a.step), schedule_sparsity: applied.map((a) => a.sparsity) };
  return {
    checkpoint: result.checkpoint,
    mask: { model: start.model, masks: result.checkpoint.masks },
    rewind: snapshotAt(result, params.rewind_step, start, false),
    metrics: { ...metrics, series },
  };
}
