/**
 * IMP's rewinding through the kinds imp.yaml wires (train-dense's `snapshot`, prune one-shot,
 * lottery-reset, train-sparse-scratch with `continue_from_step`), on a tiny synthetic problem through
 * the real analysis and executor: a level rewound to step k trains only steps k+1..total, on the dense
 * run's data order and schedule; k = 0 is bit-identical to training from step 0 without the option.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tensorsFor } from '../../cli/compose.js';
import { MemoryStore } from '../../cache/memory-store.js';
import { execute } from '../../engine/exec/executor.js';
import { InlineRunner } from '../../engine/exec/inline-runner.js';
import { planGraph } from '../../engine/plan.js';
import { selectBackend } from '../../science/nn/backend.js';
import type { Checkpoint, Metrics } from '../../base/values.js';
import { graphOf, registry, tempDir, writePipeline } from '../exec/helpers.js';

await selectBackend();

// 256 samples at batch 32, 2 epochs: 16 steps; the dense run's weights are kept at step 11.
const TOTAL = 16;
const K = 11;
const PIPELINE = `sparsegraph: 1
name: rewind
defaults:
  train-dense: &training
    dataset: &data { name: synthetic, seed: 1, train: 256, test: 64, sampleShape: [16], numClasses: 4 }
    epochs: 2
    batch_size: 32
    lr: 0.05
    schedule: cosine
    warmup_steps: 3
    momentum: 0
  train-sparse-scratch: *training
  prune: { dataset: *data }
nodes:
  init: { kind: init, with: { arch: mlp, arch_options: { hidden: [24] }, input_shape: [16], classes: 4, seed: 0 } }
  dense: { kind: train-dense, inputs: { init: init }, with: { snapshot_step: ${K} } }
  # sparsity 0 keeps every weight: the rewound level must then retrace the dense run from step k.
  keep-all: { kind: prune, inputs: { init: dense.checkpoint }, with: { method: one-shot, scope: global, sparsity: 0 } }
  rewind-all: { kind: lottery-reset, inputs: { weights: dense.snapshot, mask: keep-all.mask } }
  level-all: { kind: train-sparse-scratch, inputs: { init: rewind-all, mask: keep-all.mask }, with: { continue_from_step: true } }
  half: { kind: prune, inputs: { init: dense.checkpoint }, with: { method: one-shot, scope: global, sparsity: 0.5 } }
  rewind-half: { kind: lottery-reset, inputs: { weights: dense.snapshot, mask: half.mask } }
  level-half: { kind: train-sparse-scratch, inputs: { init: rewind-half, mask: half.mask }, with: { continue_from_step: true } }
  full-length: { kind: train-sparse-scratch, inputs: { init: rewind-half, mask: half.mask } }
  # k = 0: the lottery ticket, with and without continue_from_step.
  ticket: { kind: lottery-reset, inputs: { weights: init, mask: half.mask } }
  ticket-continued: { kind: train-sparse-scratch, inputs: { init: ticket, mask: half.mask }, with: { continue_from_step: true } }
  ticket-from-zero: { kind: train-sparse-scratch, inputs: { init: ticket, mask: half.mask } }
`;

const store = new MemoryStore();
const graph = graphOf(writePipeline(tempDir(), 'rewind.yaml', PIPELINE));
const report = await execute(graph, planGraph(graph, store), { store, runner: new InlineRunner(store, registry, 1, tensorsFor(undefined)) });
const out = async <T>(id: string, port: string): Promise<T> => (await store.load(graph.byId.get(id)!.key))[port] as T;

function assertSameWeights(a: Checkpoint, b: Checkpoint, what: string): void {
  for (const name of Object.keys(b.tensors)) assert.deepEqual(a.tensors[name]!.data, b.tensors[name]!.data, `${what}: ${name}`);
}

test('every node runs', () => {
  assert.deepEqual(report.failed, []);
  assert.equal(report.executed.length, graph.instances.length);
});

test('a level rewound to step k with every weight kept ends bit-identical to the dense run (plain SGD)', async () => {
  const dense = await out<Checkpoint>('dense', 'checkpoint');
  const rewound = await out<Checkpoint>('rewind-all', 'checkpoint');
  const level = await out<Checkpoint>('level-all', 'checkpoint');
  assert.equal(rewound.step, K);
  assert.equal(dense.step, TOTAL);
  assert.equal(level.step, TOTAL);
  // The rewound weights, the data order and the rates from k on are the dense run's, and plain SGD has
  // no state: running any other steps, batches or rates would end elsewhere.
  assertSameWeights(level, dense, 'level vs dense');
  const denseMetrics = await out<Metrics>('dense', 'metrics');
  const levelMetrics = await out<Metrics>('level-all', 'metrics');
  assert.equal(levelMetrics.values['last_batch_loss'], denseMetrics.values['last_batch_loss']);
  assert.equal(levelMetrics.values['test_loss'], denseMetrics.values['test_loss']);
  assert.equal(levelMetrics.values['steps'], TOTAL);
});

test('a sparse level rewound to step k trains the remaining steps under its mask; without continuing it is another run', async () => {
  const level = await out<Checkpoint>('level-half', 'checkpoint');
  const fullLength = await out<Checkpoint>('full-length', 'checkpoint');
  assert.equal(level.step, TOTAL);
  assert.equal(level.meta?.['reset_from_step'], K);
  const mask = level.masks['fc1.weight']!.data;
  assert.ok(mask.some((v) => v === 0));
  level.tensors['fc1.weight']!.data.forEach((v, i) => mask[i] === 0 && assert.ok(Object.is(v, 0), `fc1.weight[${i}] is ${v}`));
  assert.ok(level.tensors['fc1.weight']!.data.some((v, i) => v !== fullLength.tensors['fc1.weight']!.data[i]));
});

test('k = 0: continue_from_step on a step-0 ticket is bit-identical to training it from step 0', async () => {
  const continued = await out<Checkpoint>('ticket-continued', 'checkpoint');
  const fromZero = await out<Checkpoint>('ticket-from-zero', 'checkpoint');
  assert.equal((await out<Checkpoint>('ticket', 'checkpoint')).step, 0);
  assert.equal(continued.step, TOTAL);
  assertSameWeights(continued, fromZero, 'k = 0');
  const a = await out<Metrics>('ticket-continued', 'metrics');
  const b = await out<Metrics>('ticket-from-zero', 'metrics');
  const { wall_s: _a, ...va } = a.values;
  const { wall_s: _b, ...vb } = b.values;
  assert.deepEqual(va, vb);
  assert.deepEqual(a.series, b.series);
});
