/**
 * Every node kind of the paper runs from a pipeline, on a tiny synthetic problem, through the real
 * analysis and executor (in this thread): the invariants of each kind on its stored outputs, determinism,
 * no tensor leaks, nothing re-run the second time, and a pruning run stopped mid-training that resumes
 * to the bit-identical result.
 */
import assert from 'node:assert/strict';
import { tensorsFor } from '../../cli/compose.js';
import { test } from 'node:test';
import { MemoryStore } from '../../cache/memory-store.js';
import { execute, type ExecutionEvent } from '../../engine/exec/executor.js';
import { InlineRunner } from '../../engine/exec/inline-runner.js';
import { selectBackend } from '../../science/nn/backend.js';
import { bernstein } from '../../science/nn/curves.js';
import { prunedCount, scheduledSparsity } from '../../science/nn/pruning.js';
import { tf } from '../../science/nn/tf.js';
import { planGraph } from '../../engine/plan.js';
import type { Checkpoint, Curve, Landscape, Mask, Metrics } from '../../base/values.js';
import { graphOf, registry, tempDir, writePipeline } from '../exec/helpers.js';

await selectBackend();

const PIPELINE = `sparsegraph: 1
name: kinds
params: { sparsity: 0.8 }
defaults:
  prune: &training
    dataset: &data { name: synthetic, seed: 1, train: 512, test: 128, sampleShape: [16], numClasses: 4 }
    epochs: 4
    batch_size: 32
    lr: 0.05
  train-dense: *training
  train-sparse-scratch: *training
  interpolate: { dataset: *data, from: -0.2, to: 1.2, points: 6, splits: [train, test], eval_batch_size: 100 }
  bezier-fit: { dataset: *data, epochs: 2, batch_size: 32, lr: 0.05, points: 5, splits: [train, test], eval_batch_size: 100 }
  evaluate: { dataset: *data, splits: [train, test], eval_batch_size: 100 }
nodes:
  init: { kind: init, with: { arch: mlp, arch_options: { hidden: [32, 16] }, input_shape: [16], classes: 4, seed: 0 } }
  pruned:
    kind: prune
    inputs: { init: init }
    with: { sparsity: "\${params.sparsity}", begin_step: 8, end_step: 40, frequency: 8, rewind_step: 16 }
  scratch-init:
    kind: init
    inputs: { mask: pruned.mask }
    with: { arch: mlp, arch_options: { hidden: [32, 16] }, input_shape: [16], classes: 4, seed: 0, stream: scratch }
  scratch: { kind: train-sparse-scratch, inputs: { init: scratch-init, mask: pruned.mask } }
  lottery-init: { kind: lottery-reset, inputs: { weights: init, mask: pruned.mask } }
  late-init: { kind: lottery-reset, inputs: { weights: pruned.rewind, mask: pruned.mask } }
  lottery: { kind: train-sparse-scratch, inputs: { init: lottery-init, mask: pruned.mask } }
  rigl: { kind: train-sparse-scratch, inputs: { init: scratch-init, mask: pruned.mask }, with: { method: rigl, delta: 8 } }
  set: { kind: train-sparse-scratch, inputs: { init: scratch-init, mask: pruned.mask }, with: { method: set, delta: 8 } }
  dense: { kind: train-dense, inputs: { init: init }, with: { snapshot_step: 16 } }
  branch: { kind: train-dense, inputs: { init: dense.snapshot }, with: { continue_from_step: true, data_seed: 5 } }
  one-shot: { kind: prune, inputs: { init: dense.checkpoint }, with: { method: one-shot, scope: global, sparsity: 0.5, finetune: true, epochs: 1 } }
  line: { kind: interpolate, inputs: { start: scratch.checkpoint, end: pruned.checkpoint } }
  curve:
    kind: bezier-fit
    matrix: { subspace: [sparse, dense] }
    inputs: { start: scratch.checkpoint, end: pruned.checkpoint, mask: pruned.mask }
    with: { degree: 3, subspace: "\${item.subspace}" }
  eval-scratch: { kind: evaluate, inputs: { target: scratch.checkpoint } }
  eval-pruned: { kind: evaluate, inputs: { target: pruned.checkpoint }, with: { gradient_norm: true } }
  eval-curve: { kind: evaluate, inputs: { target: curve.curve }, with: { points: 5 } }
`;

const file = writePipeline(tempDir(), 'kinds.yaml', PIPELINE);

async function run(store: MemoryStore, opts: { signal?: AbortSignal; onEvent?: (e: ExecutionEvent) => void } = {}) {
  const graph = graphOf(file);
  const plan = planGraph(graph, store);
  const report = await execute(graph, plan, { store, runner: new InlineRunner(store, registry, 1, tensorsFor(undefined)), ...opts });
  const out = async <T>(id: string, port: string): Promise<T> => (await store.load(graph.byId.get(id)!.key))[port] as T;
  return { graph, report, out };
}

const store = new MemoryStore();
const liveBefore = tf.memory().numTensors;
const first = await run(store);
const liveAfter = tf.memory().numTensors;
const { out } = first;
const prunableNames = ['fc1.weight', 'fc2.weight', 'fc3.weight'];
const zerosOf = (m: Uint8Array): number => m.reduce((a, v) => a + (v === 0 ? 1 : 0), 0);

test('every kind runs; no tensor is left behind; a second run executes nothing', async () => {
  assert.deepEqual(first.report.failed, []);
  assert.equal(first.report.executed.length, first.graph.instances.length);
  assert.equal(liveAfter, liveBefore);
  const again = await run(store);
  assert.deepEqual(again.report.executed, []);
});

test('gradual pruning: every layer at the scheduled sparsity to the weight, smallest magnitudes, biases untouched', async () => {
  const ckpt = await out<Checkpoint>('pruned', 'checkpoint');
  const metrics = await out<Metrics>('pruned', 'metrics');
  for (const name of prunableNames) {
    const m = ckpt.masks[name]!.data;
    assert.equal(zerosOf(m), prunedCount(0.8, m.length), name);
    const w = ckpt.tensors[name]!.data;
    for (let i = 0; i < w.length; i++) if (m[i] === 0) assert.ok(Object.is(w[i], 0), `${name}[${i}] is ${w[i]}`);
    assert.equal(metrics.values[`sparsity.${name}`], prunedCount(0.8, m.length) / m.length);
  }
  for (const bias of ['fc1.bias', 'fc2.bias', 'fc3.bias']) assert.ok(ckpt.tensors[bias]!.data.every((v) => v !== 0), bias);
  // The schedule applied: t0 = 8 to t_end = 40 every 8 steps, on the cubic formula.
  const steps = metrics.series!['schedule_step']!;
  assert.deepEqual(steps, [8, 16, 24, 32, 40]);
  const schedule = { initialSparsity: 0, finalSparsity: 0.8, beginStep: 8, endStep: 40, frequency: 8 };
  assert.deepEqual(metrics.series!['schedule_sparsity'], steps.map((t) => scheduledSparsity(t, schedule)));
  assert.deepEqual(metrics.series!['schedule_sparsity']!.slice(1, 3), [0.8 + (0 - 0.8) * (1 - 8 / 32) ** 3, 0.8 + (0 - 0.8) * (1 - 16 / 32) ** 3]);
  for (const k of ['train_loss', 'train_accuracy', 'test_loss', 'test_accuracy', 'steps', 'wall_s']) assert.ok(Number.isFinite(metrics.values[k]), k);
  assert.equal(metrics.values['steps'], 64);
  assert.ok(metrics.values['test_accuracy']! > 0.5, `test accuracy ${metrics.values['test_accuracy']}`);
  const mask = await out<Mask>('pruned', 'mask');
  assert.deepEqual(mask.masks, ckpt.masks);
  // The rewind output is the run's own weights at step 16, before pruning reached its final mask.
  const rewind = await out<Checkpoint>('pruned', 'rewind');
  assert.equal(rewind.step, 16);
  assert.ok(zerosOf(rewind.masks['fc1.weight']!.data) < zerosOf(ckpt.masks['fc1.weight']!.data));
});

test('lottery-reset is exactly mask * weights, from the initialisation or a late snapshot', async () => {
  const mask = await out<Mask>('pruned', 'mask');
  for (const [id, source] of [['lottery-init', await out<Checkpoint>('init', 'checkpoint')], ['late-init', await out<Checkpoint>('pruned', 'rewind')]] as const) {
    const reset = await out<Checkpoint>(id, 'checkpoint');
    for (const [name, t] of Object.entries(source.tensors)) {
      const m = mask.masks[name]?.data;
      const expected = Float32Array.from(t.data, (v, i) => (m && m[i] === 0 ? 0 : v));
      assert.deepEqual(reset.tensors[name]!.data, expected, `${id} ${name}`);
    }
    assert.deepEqual(reset.masks, mask.masks);
    assert.equal(reset.step, source.step);
  }
});

test('static sparse training keeps the mask and its zeros; RigL and SET keep each layer\'s sparsity while moving it', async () => {
  const mask = await out<Mask>('pruned', 'mask');
  for (const id of ['scratch', 'lottery']) {
    const ckpt = await out<Checkpoint>(id, 'checkpoint');
    assert.deepEqual(ckpt.masks, mask.masks, id);
    assert.deepEqual((await out<Mask>(id, 'mask')).masks, mask.masks);
    for (const name of prunableNames) ckpt.tensors[name]!.data.forEach((v, i) => mask.masks[name]!.data[i] === 0 && assert.ok(Object.is(v, 0), `${id} ${name}[${i}]`));
  }
  for (const id of ['rigl', 'set']) {
    const ckpt = await out<Checkpoint>(id, 'checkpoint');
    const final = await out<Mask>(id, 'mask');
    const metrics = await out<Metrics>(id, 'metrics');
    let changed = 0;
    for (const name of prunableNames) {
      const before = mask.masks[name]!.data;
      const after = final.masks[name]!.data;
      assert.equal(zerosOf(after), zerosOf(before), `${id} ${name}`);
      changed += after.reduce((a, v, i) => a + (v !== before[i] ? 1 : 0), 0);
      ckpt.tensors[name]!.data.forEach((v, i) => after[i] === 0 && assert.equal(v, 0));
    }
    assert.ok(changed > 0, `${id} moved no connection`);
    // Updates every 8 steps while step < 0.75 * 64 = 48: steps 8, 16, 24, 32, 40.
    assert.equal(metrics.values['mask_updates'], 5);
  }
});

test('interpolate: the ends equal the evaluation of the end points exactly; barrier metrics from the landscape', async () => {
  const line = await out<Landscape>('line', 'landscape');
  const metrics = await out<Metrics>('line', 'metrics');
  const scratch = await out<Metrics>('eval-scratch', 'metrics');
  const pruned = await out<Metrics>('eval-pruned', 'metrics');
  // 6 points from -0.2 to 1.2 miss 0 and 1: they are added.
  assert.equal(line.points.length, 2 * 8);
  for (const split of ['train', 'test'] as const) {
    const at = (x: number) => line.points.find((p) => p.split === split && p.x === x)!;
    assert.equal(at(0).loss, scratch.values[`${split}_loss`]);
    assert.equal(at(1).loss, pruned.values[`${split}_loss`]);
    assert.equal(at(1).accuracy, pruned.values[`${split}_accuracy`]);
    const inside = line.points.filter((p) => p.split === split && p.x >= 0 && p.x <= 1);
    const max = Math.max(...inside.map((p) => p.loss));
    assert.equal(metrics.values[`${split}_barrier_loss`], max - Math.max(at(0).loss, at(1).loss));
    assert.equal(metrics.values[`${split}_barrier_loss_mean`], max - (at(0).loss + at(1).loss) / 2);
  }
  assert.ok(Number.isFinite(pruned.values['gradient_norm']) && pruned.values['gradient_norm']! >= pruned.values['gradient_norm_masked']!);
});

test('bezier-fit: ends fixed, the landscape reproduces them, sparse control points stay on the mask, dense ones leave it', async () => {
  const mask = await out<Mask>('pruned', 'mask');
  const scratch = await out<Checkpoint>('scratch', 'checkpoint');
  const pruned = await out<Checkpoint>('pruned', 'checkpoint');
  const evalScratch = await out<Metrics>('eval-scratch', 'metrics');
  for (const subspace of ['sparse', 'dense'] as const) {
    const id = `curve[subspace=${subspace}]`;
    const curve = await out<Curve>(id, 'curve');
    const landscape = await out<Landscape>(id, 'landscape');
    const metrics = await out<Metrics>(id, 'metrics');
    assert.equal(curve.degree, 3);
    assert.equal(curve.points.length, 4);
    assert.deepEqual(curve.points[0]!.tensors, scratch.tensors);
    assert.deepEqual(curve.points[3]!.tensors, pruned.tensors);
    const t0 = landscape.points.find((p) => p.split === 'train' && p.x === 0)!;
    assert.equal(t0.loss, evalScratch.values['train_loss']);
    let offMask = 0;
    for (const c of curve.points.slice(1, 3)) {
      for (const name of prunableNames) c.tensors[name]!.data.forEach((v, i) => mask.masks[name]!.data[i] === 0 && v !== 0 && offMask++);
    }
    if (subspace === 'sparse') {
      assert.equal(offMask, 0);
      assert.equal(metrics.values['offmask_mass_fraction'], 0);
    } else {
      assert.ok(offMask > 0);
      assert.ok(metrics.values['offmask_mass_fraction']! > 0);
    }
    assert.ok(Number.isFinite(metrics.values['train_barrier_loss']));
    assert.ok(metrics.series!['loss']!.length > 0);
  }
  // evaluate of a curve: the same points as the fit's own landscape at the same t.
  const fitted = await out<Landscape>('curve[subspace=dense]', 'landscape');
  const evaluated = await out<Landscape>('eval-curve[subspace=dense]', 'landscape');
  assert.deepEqual(evaluated.points, fitted.points);
  assert.deepEqual(Array.from(bernstein(3, 1)), [0, 0, 0, 1]);
});

test('train-dense: the snapshot, a branch continuing the same schedule from it, one-shot pruning of the result', async () => {
  const snapshot = await out<Checkpoint>('dense', 'snapshot');
  assert.equal(snapshot.step, 16);
  const branch = await out<Metrics>('branch', 'metrics');
  assert.equal(branch.values['steps'], 64);
  const oneShot = await out<Checkpoint>('one-shot', 'checkpoint');
  const sizes = prunableNames.map((n) => oneShot.masks[n]!.data.length);
  const zeros = prunableNames.map((n) => zerosOf(oneShot.masks[n]!.data));
  assert.equal(zeros.reduce((a, b) => a + b, 0), prunedCount(0.5, sizes.reduce((a, b) => a + b, 0)));
});

test('every kind is deterministic given its seeds: a second store gets bit-identical results', async () => {
  const other = new MemoryStore();
  const second = await run(other);
  assert.deepEqual(second.report.failed, []);
  for (const instance of first.graph.instances) {
    const a = await store.load(instance.key);
    const b = await other.load(instance.key);
    for (const port of Object.keys(a)) {
      const strip = (v: unknown) => JSON.parse(JSON.stringify(v, (k, x) => (k === 'wall_s' ? 0 : ArrayBuffer.isView(x) ? Array.from(x as Float32Array) : x)));
      assert.deepEqual(strip(b[port]), strip(a[port]), `${instance.id}.${port}`);
    }
  }
});

test('a pruning run stopped mid-training resumes from its saved state to the bit-identical result', async () => {
  const partial = new MemoryStore();
  const stop = new AbortController();
  const messages: string[] = [];
  const graph = graphOf(file);
  const only = planGraph(graph, partial, { only: ['pruned'] });
  // Stop at the progress report of step 50: the state was last saved at the end of epoch 2, step 48.
  await execute(graph, only, {
    store: partial,
    runner: new InlineRunner(partial, registry, 1, tensorsFor(undefined)),
    signal: stop.signal,
    onEvent: (e) => {
      if (e.type === 'progress' && e.id === 'pruned' && (e.event.step ?? 0) >= 50) stop.abort();
    },
  });
  const key = graph.byId.get('pruned')!.key;
  assert.equal(partial.has(key), false);
  assert.ok(await partial.loadProgress(key), 'no saved progress');
  await execute(graph, planGraph(graph, partial, { only: ['pruned'] }), {
    store: partial,
    runner: new InlineRunner(partial, registry, 1, tensorsFor(undefined)),
    onEvent: (e) => e.type === 'progress' && e.event.message && messages.push(e.event.message),
  });
  assert.ok(messages.includes('resumed at step 48'), messages.join('; '));
  const resumed = await partial.load(key);
  const reference = await store.load(key);
  assert.deepEqual((resumed['checkpoint'] as Checkpoint).tensors, (reference['checkpoint'] as Checkpoint).tensors);
  assert.deepEqual((resumed['checkpoint'] as Checkpoint).masks, (reference['checkpoint'] as Checkpoint).masks);
  assert.deepEqual((resumed['rewind'] as Checkpoint).tensors, (reference['rewind'] as Checkpoint).tensors);
});
