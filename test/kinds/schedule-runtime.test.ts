/**
 * The second line of defence: a kind run without analysis's facts (here, analysis without the data
 * layer, so the training set's size is unknown and the schedule passes) still refuses a schedule that
 * cannot fit, before training, with the message analysis gives: the one shared check.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryStore } from '../../cache/memory-store.js';
import { tensorsFor } from '../../cli/compose.js';
import { analyze } from '../../engine/lang/analyze.js';
import { execute } from '../../engine/exec/executor.js';
import { InlineRunner } from '../../engine/exec/inline-runner.js';
import { planGraph } from '../../engine/plan.js';
import { selectBackend } from '../../science/nn/backend.js';
import { registry, tempDir, writePipeline } from '../exec/helpers.js';

await selectBackend();

// 96 samples at batch 32: 3 steps an epoch, 6 in all.
const PIPELINE = `sparsegraph: 1
name: runtime-checks
defaults:
  prune: &training
    dataset: { name: synthetic, seed: 1, train: 96, test: 16, sampleShape: [4], numClasses: 2 }
    epochs: 2
    batch_size: 32
  train-dense: *training
nodes:
  init: { kind: init, with: { arch: mlp, arch_options: { hidden: [4] }, input_shape: [4], classes: 2 } }
  late: { kind: prune, inputs: { init: init }, with: { sparsity: 0.5, begin_step: 1, end_step: 7, frequency: 1 } }
  rewound: { kind: prune, inputs: { init: init }, with: { sparsity: 0.5, begin_step: 1, end_step: 6, rewind_step: 9 } }
  dense: { kind: train-dense, inputs: { init: init }, with: { snapshot_step: 8 } }
`;

test('prune and train-dense refuse, before training, a step beyond the run that analysis could not see', async () => {
  const file = writePipeline(tempDir(), 'runtime.yaml', PIPELINE);
  // No data hooks: analysis knows no training-set size, so it cannot count the run's steps.
  const analysis = analyze(file, { registry });
  assert.equal(analysis.ok, true);
  if (!analysis.ok) return;
  const store = new MemoryStore();
  const graph = analysis.graph;
  const stepsOf = new Map<string, number[]>();
  const report = await execute(graph, planGraph(graph, store), {
    store,
    runner: new InlineRunner(store, registry, 1, tensorsFor(undefined)),
    onEvent: (e) => {
      if (e.type === 'progress' && e.event.step !== undefined) stepsOf.set(e.id, [...(stepsOf.get(e.id) ?? []), e.event.step]);
    },
  });
  assert.deepEqual(report.executed, ['init']);
  // Refused before the first step: none of them reported training progress.
  assert.deepEqual([...stepsOf.keys()], []);
  assert.deepEqual(
    [...report.failed].sort((a, b) => a.id.localeCompare(b.id)),
    [
      { id: 'dense', error: "snapshot_step 8 is beyond the run's 6 steps" },
      { id: 'late', error: "end_step 7 is beyond the run's 6 steps: the final sparsity would never be reached (lower end_step or train longer)" },
      { id: 'rewound', error: "rewind_step 9 is beyond the run's 6 steps" },
    ],
  );
});
