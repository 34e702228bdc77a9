/**
 * The checks of step parameters against the length of the run, written once: a kind's definition gives
 * them to analysis (`check`: found when the pipeline is validated or planned, at the parameter's place in
 * the file), and its `run` calls the same function before training, as a second line of defence (a kind
 * run without analysis, or a dataset whose size analysis could not read). No tensor backend here.
 */
import type { DataFacts, ParamProblem } from '../../engine/node-def.js';
import { totalSteps } from '../../science/nn/steps.js';
import type { TrainingParams } from './params.js';

type Length = Pick<TrainingParams, 'epochs' | 'steps' | 'batch_size'>;

/** The run's length in steps, as the training loop computes it; undefined when the training set's size is unknown. */
export function runSteps(p: Length, trainSize: number | undefined): number | undefined {
  if (p.steps === undefined && trainSize === undefined) return undefined;
  return totalSteps({ epochs: p.epochs, ...(p.steps === undefined ? {} : { steps: p.steps }), batchSize: p.batch_size }, trainSize ?? 0);
}

/** A step parameter the run never reaches: `NAME STEP is beyond the run's N steps`. */
function beyond(param: string, step: number, total: number | undefined, why = ''): ParamProblem[] {
  return total !== undefined && step > total ? [{ param, message: `${param} ${step} is beyond the run's ${total} steps${why}` }] : [];
}

/** Gradual pruning's schedule (begin_step, end_step) and rewind_step against each other and the run. */
export function pruneProblems(
  p: Length & { readonly method: string; readonly begin_step: number; readonly end_step: number; readonly rewind_step: number },
  facts: DataFacts,
): ParamProblem[] {
  if (p.method !== 'gradual') return [];
  const total = runSteps(p, facts.trainSize);
  const order: ParamProblem[] = p.begin_step > p.end_step ? [{ param: 'begin_step', message: `begin_step ${p.begin_step} is after end_step ${p.end_step}` }] : [];
  return [
    ...order,
    ...beyond('end_step', p.end_step, total, ': the final sparsity would never be reached (lower end_step or train longer)'),
    ...beyond('rewind_step', p.rewind_step, total),
  ];
}

/** train-dense's snapshot_step against the run. */
export function trainDenseProblems(p: Length & { readonly snapshot_step: number }, facts: DataFacts): ParamProblem[] {
  return beyond('snapshot_step', p.snapshot_step, runSteps(p, facts.trainSize));
}

/** At run time: the first problem a check finds, thrown as the node's error. */
export function failOnProblems(problems: readonly ParamProblem[]): void {
  if (problems.length > 0) throw new Error(problems[0]!.message);
}
