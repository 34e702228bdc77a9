/** The science of `train-dense`: SGD on every weight the input's masks keep (all, for a dense input). */
import type { KindContext } from '../../engine/node-def.js';
import { failOnProblems, trainDenseProblems } from '../common/checks.js';
import { resumableTraining } from '../../science/nn/resumable.js';
import { train } from '../../science/nn/train.js';
import type { Checkpoint, Metrics } from '../../base/values.js';
import type { trainDenseInputs, trainDenseParams } from './def.js';
import { checkpointMetrics, fitsData, loadData, snapshotAt, trainOptionsOf, trainingMetrics } from '../common/run-support.js';

export async function runTrainDense(
  ctx: KindContext<typeof trainDenseParams, typeof trainDenseInputs>,
): Promise<{ checkpoint: Checkpoint; snapshot: Checkpoint; metrics: Metrics }> {
  const { params, inputs } = ctx;
  const started = Date.now();
  const data = loadData(params.dataset, ctx);
  fitsData(inputs.init.model, data);
  failOnProblems(trainDenseProblems(params, { trainSize: data.train.n }));
  const result = await train(inputs.init, {
    ...trainOptionsOf(params, data),
    snapshotSteps: [params.snapshot_step],
    continueFromCheckpointStep: params.continue_from_step,
    ...(await resumableTraining(ctx)),
  });
  const snapshot = snapshotAt(result, params.snapshot_step, inputs.init, params.continue_from_step);
  const metrics = trainingMetrics(result, checkpointMetrics(result.checkpoint, data), started);
  return { checkpoint: result.checkpoint, snapshot, metrics };
}
