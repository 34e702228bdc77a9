/**
 * The kinds' cost estimates (a definition's `cost`), which only decide which ready node the executor
 * starts first, and never enter a key. The unit is one training step on a minibatch of 128 samples
 * (forward, backward, update); a forward pass over a sample costs about a third of its training step.
 * Rough on purpose: what matters is that a training run outweighs an evaluation, and a long run a short
 * one. No tensor backend here (analysis and planning import the definitions).
 */
import type { DataFacts } from '../../engine/node-def.js';
import { totalSteps } from '../../science/nn/steps.js';
import type { TrainingParams } from './params.js';

const UNIT_BATCH = 128;

/**
 * Samples assumed in a training set that analysis could not size (gzipped CIFAR-10, or no data hook):
 * the order of MNIST's 60,000 and CIFAR-10's 50,000.
 */
const ASSUMED_TRAIN_SIZE = 50_000;

type Length = Pick<TrainingParams, 'epochs' | 'steps' | 'batch_size'>;

/**
 * Every optimizer step of the run, each weighted by its minibatch's size. A run that continues from its
 * input's step (`continue_from_step`) counts in full: that step is known only once the input exists.
 */
export function trainingCost(p: Length, facts: DataFacts): number {
  const steps = totalSteps(
    { epochs: p.epochs, ...(p.steps === undefined ? {} : { steps: p.steps }), batchSize: p.batch_size },
    facts.trainSize ?? ASSUMED_TRAIN_SIZE,
  );
  return (steps * p.batch_size) / UNIT_BATCH;
}

/** One forward pass over the data on each split (the training set's size standing for the test set's too). */
export function evaluationCost(splits: readonly string[], facts: DataFacts): number {
  return (splits.length * (facts.trainSize ?? ASSUMED_TRAIN_SIZE)) / (3 * UNIT_BATCH);
}

/**
 * A path through weight space evaluated at `points` points: a point costs far less than an evaluation,
 * since science/nn/landscape.ts computes the first layer once per basis point and mixes the rest, so 61
 * points cost what 12 to 13 evaluations do (BENCHMARKS.md, Landscapes).
 */
export function pathCost(points: number, splits: readonly string[], facts: DataFacts): number {
  return (2 + points / 6) * evaluationCost(splits, facts);
}
