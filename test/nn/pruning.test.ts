import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadDataset } from '../../science/data/load.js';
import { selectBackend } from '../../science/nn/backend.js';
import { initCheckpoint } from '../../science/nn/init.js';
import { buildNetwork } from '../../science/nn/models/index.js';
import { isPrunable } from '../../science/nn/network.js';
import {
  applyMasks,
  isPruningStep,
  magnitudeMasks,
  maskSparsity,
  prunedCount,
  pruningSteps,
  scheduledSparsity,
  weightSparsity,
  type GradualSchedule,
  type Masks,
} from '../../science/nn/pruning.js';
import { train } from '../../science/nn/train.js';
import { tf } from '../../science/nn/tf.js';
import type { HostTensor, ModelSpec } from '../../base/values.js';

const f32 = (shape: number[], values: number[]): HostTensor<'float32'> => ({ dtype: 'float32', shape, data: Float32Array.from(values) });
const u8 = (shape: number[], values: number[]): HostTensor<'uint8'> => ({ dtype: 'uint8', shape, data: Uint8Array.from(values) });
const zerosOf = (m: HostTensor<'uint8'>): number[] => [...m.data.keys()].filter((i) => m.data[i] === 0);

// |a|: 0.5 0.1 0.3 0.7 0.2 0.9 0.3 0.05 0.6 0.4  (a tie at 0.3 between entries 2 and 6)
const A = f32([2, 5], [0.5, -0.1, 0.3, -0.7, 0.2, 0.9, -0.3, 0.05, 0.6, -0.4]);
// |b|: 1.0 0.2 0.8 0.15 0.6 0.25 0.05 0.9 0.35 0.45 0.55 0.7
const B = f32([3, 4], [1.0, -0.2, 0.8, 0.15, -0.6, 0.25, 0.05, -0.9, 0.35, 0.45, -0.55, 0.7]);
const weights = { a: A, b: B };
const dense = (): Masks => ({ a: u8([2, 5], Array(10).fill(1)), b: u8([3, 4], Array(12).fill(1)) });

test('layerwise: exactly round(s*n) zeros per layer, the smallest magnitudes, ties to the lower index', () => {
  const m = magnitudeMasks(weights, dense(), { sparsity: 0.4, scope: 'layerwise', names: ['a', 'b'] });
  // a: 4 zeros = 0.05 (7), 0.1 (1), 0.2 (4), then the tie 0.3 (2 and 6) goes to entry 2.
  assert.deepEqual([...m['a']!.data], [1, 0, 0, 1, 0, 1, 1, 0, 1, 1]);
  // b: round(0.4 * 12) = 5 zeros = 0.05 (6), 0.15 (3), 0.2 (1), 0.25 (5), 0.35 (8).
  assert.deepEqual([...m['b']!.data], [1, 0, 1, 0, 1, 0, 0, 1, 0, 1, 1, 1]);
  assert.deepEqual(m['a']!.shape, [2, 5]);
  assert.deepEqual(m['b']!.shape, [3, 4]);
  assert.equal(m['a']!.dtype, 'uint8');

  // Every sparsity gives round(s*n) zeros in each layer, and the kept magnitudes dominate the pruned ones.
  for (let s = 0; s <= 1.0001; s += 0.05) {
    const r = magnitudeMasks(weights, dense(), { sparsity: s, scope: 'layerwise', names: ['a', 'b'] });
    for (const [name, w] of Object.entries(weights)) {
      const mask = r[name]!;
      const zeros = zerosOf(mask);
      assert.equal(zeros.length, Math.min(w.data.length, Math.round(s * w.data.length)), `${name} at s=${s}`);
      assert.equal(zeros.length, prunedCount(s, w.data.length));
      const prunedMax = Math.max(-1, ...zeros.map((i) => Math.abs(w.data[i]!)));
      const keptMin = Math.min(2, ...[...mask.data.keys()].filter((i) => mask.data[i]).map((i) => Math.abs(w.data[i]!)));
      assert.ok(prunedMax <= keptMin, `${name} at s=${s}: pruned ${prunedMax} > kept ${keptMin}`);
    }
  }
  // round(), not floor: 0.25 * 10 = 2.5 prunes 3; 0.24 * 10 prunes 2.
  assert.equal(zerosOf(magnitudeMasks(weights, dense(), { sparsity: 0.25, scope: 'layerwise', names: ['a'] })['a']!).length, 3);
  assert.equal(zerosOf(magnitudeMasks(weights, dense(), { sparsity: 0.24, scope: 'layerwise', names: ['a'] })['a']!).length, 2);
});

test('ties: equal magnitudes are pruned from the lowest index up, whatever the sign', () => {
  const w = { t: f32([6], [0.5, -0.5, 0.5, -0.5, 0.5, 0.1]) };
  const m = magnitudeMasks(w, { t: u8([6], [1, 1, 1, 1, 1, 1]) }, { sparsity: 0.5, scope: 'layerwise', names: ['t'] });
  assert.deepEqual([...m['t']!.data], [0, 0, 1, 1, 1, 0]);
});

test('already-masked entries stay pruned and count first; the input masks are not mutated', () => {
  const current = dense();
  current['a']!.data[5] = 0; // the largest |a| (0.9), but already pruned
  const copy = current['a']!.data.slice();
  const m = magnitudeMasks(weights, current, { sparsity: 0.4, scope: 'layerwise', names: ['a', 'b'] });
  // 4 zeros: the masked 5, then 0.05 (7), 0.1 (1), 0.2 (4); entry 2 (0.3) is now kept.
  assert.deepEqual(zerosOf(m['a']!), [1, 4, 5, 7]);
  assert.deepEqual(current['a']!.data, copy);
  // Successive pruning at growing sparsity, with the weights changing in between: masks only lose entries.
  let masks = dense();
  let w = { a: A, b: B };
  for (const s of [0.1, 0.3, 0.5, 0.7, 0.9]) {
    const next = magnitudeMasks(w, masks, { sparsity: s, scope: 'layerwise', names: ['a', 'b'] });
    for (const name of ['a', 'b']) for (let i = 0; i < next[name]!.data.length; i++) if (masks[name]!.data[i] === 0) assert.equal(next[name]!.data[i], 0, `${name}[${i}] regrew at s=${s}`);
    masks = next;
    // Reverse the magnitude order of the survivors, so that a fresh ranking would pick other entries.
    w = { a: f32([2, 5], [...w.a.data].map((v) => 1 / (Math.abs(v) + 0.01))), b: f32([3, 4], [...w.b.data].map((v) => 1 / (Math.abs(v) + 0.01))) };
  }
});

test('masks only lose entries also when the target is below the current sparsity', () => {
  const current = dense();
  for (const i of [0, 3, 5, 8, 9]) current['a']!.data[i] = 0; // 50% sparse
  const m = magnitudeMasks(weights, current, { sparsity: 0.2, scope: 'layerwise', names: ['a'] });
  for (const i of [0, 3, 5, 8, 9]) assert.equal(m['a']!.data[i], 0, `entry ${i} regrew`);
});

test('excluded names keep their masks; tensors missing from the names are untouched', () => {
  const current = { ...dense(), c: u8([3], [1, 0, 1]) };
  const m = magnitudeMasks({ ...weights, c: f32([3], [0.01, 5, 0.02]) }, current, { sparsity: 0.5, scope: 'layerwise', names: ['a'] });
  assert.deepEqual([...m['b']!.data], Array(12).fill(1));
  assert.deepEqual([...m['c']!.data], [1, 0, 1]);
  assert.notEqual(m['c']!.data, current['c']!.data, 'a copy, not the caller\'s array');
  assert.equal(zerosOf(m['a']!).length, 5);
  assert.throws(() => magnitudeMasks(weights, dense(), { sparsity: 0.5, scope: 'layerwise', names: ['nope'] }), /cannot prune nope/);
});

test('global scope: one threshold across layers, hand-computed', () => {
  // 22 weights, 11 zeros. Sorted magnitudes: 0.05 (a7), 0.05 (b6), 0.1 (a1), 0.15 (b3), 0.2 (a4), 0.2 (b1),
  // 0.25 (b5), 0.3 (a2), 0.3 (a6), 0.35 (b8), 0.4 (a9) | 0.45 (b9) ...
  const m = magnitudeMasks(weights, dense(), { sparsity: 0.5, scope: 'global', names: ['a', 'b'] });
  assert.deepEqual(zerosOf(m['a']!), [1, 2, 4, 6, 7, 9]);
  assert.deepEqual(zerosOf(m['b']!), [1, 3, 5, 6, 8]);
  const s = maskSparsity(m);
  assert.equal(s.overall, 0.5);
  assert.equal(s.perTensor['a'], 0.6);
  assert.equal(s.perTensor['b'], 5 / 12);
  // 5 zeros: the tie at 0.2 between a4 and b1 goes to the lower position in name order (a first).
  const five = magnitudeMasks(weights, dense(), { sparsity: 5 / 22, scope: 'global', names: ['a', 'b'] });
  assert.deepEqual(zerosOf(five['a']!), [1, 4, 7]);
  assert.deepEqual(zerosOf(five['b']!), [3, 6]);
  const swapped = magnitudeMasks(weights, dense(), { sparsity: 5 / 22, scope: 'global', names: ['b', 'a'] });
  assert.deepEqual(zerosOf(swapped['a']!), [1, 7]);
  assert.deepEqual(zerosOf(swapped['b']!), [1, 3, 6]);
  // An already-masked entry counts against the global budget first.
  const current = dense();
  current['b']!.data[0] = 0; // |b0| = 1.0, the largest
  const g = magnitudeMasks(weights, current, { sparsity: 2 / 22, scope: 'global', names: ['a', 'b'] });
  // Then the tie at 0.05 between a7 and b6 goes to a7 (a comes first).
  assert.deepEqual(zerosOf(g['a']!), [7]);
  assert.deepEqual(zerosOf(g['b']!), [0]);
});

test('scheduledSparsity: the cubic schedule of Zhu & Gupta at t0, midpoints and t_end; 0 before t0', () => {
  const s: GradualSchedule = { initialSparsity: 0.1, finalSparsity: 0.9, beginStep: 10, endStep: 50, frequency: 7 };
  const formula = (t: number) => 0.9 + (0.1 - 0.9) * (1 - (t - 10) / 40) ** 3;
  const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-12, `${a} vs ${b}`);
  assert.equal(scheduledSparsity(0, s), 0);
  assert.equal(scheduledSparsity(9, s), 0);
  close(scheduledSparsity(10, s), 0.1);
  close(scheduledSparsity(20, s), 0.9 - 0.8 * 0.421875); // progress 1/4: (3/4)^3
  close(scheduledSparsity(20, s), 0.5625);
  close(scheduledSparsity(30, s), 0.8); // progress 1/2: 0.9 - 0.8/8
  close(scheduledSparsity(40, s), 0.9 - 0.8 / 64);
  assert.equal(scheduledSparsity(50, s), 0.9);
  assert.equal(scheduledSparsity(51, s), 0.9);
  assert.equal(scheduledSparsity(1000, s), 0.9);
  for (let t = 10; t <= 50; t++) close(scheduledSparsity(t, s), formula(t));
  for (let t = 11; t <= 50; t++) assert.ok(scheduledSparsity(t, s) >= scheduledSparsity(t - 1, s), 'non-decreasing');
  // t0 = t_end: the final sparsity at once.
  assert.equal(scheduledSparsity(5, { ...s, beginStep: 5, endStep: 5 }), 0.9);
});

test('isPruningStep / pruningSteps: t0, t0+k, ... and t_end even when k does not divide', () => {
  const s: GradualSchedule = { initialSparsity: 0, finalSparsity: 0.8, beginStep: 10, endStep: 50, frequency: 7 };
  const steps = pruningSteps(s, 100);
  assert.deepEqual(steps.map((p) => p.step), [10, 17, 24, 31, 38, 45, 50]);
  for (const p of steps) assert.equal(p.sparsity, scheduledSparsity(p.step, s));
  assert.equal(steps.at(-1)!.sparsity, 0.8);
  assert.equal(steps[0]!.sparsity, 0);
  for (let t = 0; t <= 60; t++) assert.equal(isPruningStep(t, s), steps.some((p) => p.step === t), `step ${t}`);
  // k divides: no extra step.
  assert.deepEqual(pruningSteps({ ...s, frequency: 10 }, 100).map((p) => p.step), [10, 20, 30, 40, 50]);
  // A run shorter than the schedule stops at its last step.
  assert.deepEqual(pruningSteps(s, 40).map((p) => p.step), [10, 17, 24, 31, 38]);
});

test('applyMasks: masked entries become +0 (also negative ones), unmasked tensors pass through', () => {
  const w = { a: f32([4], [-0.5, 0.3, -0, -2]), bias: f32([2], [1, -1]) };
  const out = applyMasks(w, { a: u8([4], [0, 1, 1, 0]) });
  const d = out['a']!.data;
  assert.ok(Object.is(d[0], 0), 'masked -0.5 is +0');
  assert.ok(Object.is(d[3], 0), 'masked -2 is +0');
  assert.equal(d[1], Math.fround(0.3));
  assert.ok(Object.is(d[2], -0), 'an unmasked entry keeps its bits');
  assert.equal(out['bias'], w.bias);
  assert.deepEqual([...w.a.data].slice(0, 1), [-0.5], 'the input is not mutated');
  assert.throws(() => applyMasks(w, { a: u8([3], [1, 1, 1]) }), /mask for a has 3 entries, the weight 4/);
});

test('maskSparsity and weightSparsity', () => {
  const masks = { a: u8([2, 5], [1, 0, 0, 1, 0, 1, 1, 0, 1, 1]), b: u8([3, 4], [1, 0, 1, 0, 1, 0, 0, 1, 0, 1, 1, 1]) };
  const m = maskSparsity(masks);
  assert.equal(m.perTensor['a'], 0.4);
  assert.equal(m.perTensor['b'], 5 / 12);
  assert.equal(m.overall, 9 / 22);
  assert.deepEqual(maskSparsity({}), { perTensor: {}, overall: 0 });
  const w = applyMasks(weights, masks);
  const ws = weightSparsity({ ...w, c: f32([2], [0, 0]) }, ['a', 'b', 'missing']);
  assert.deepEqual(ws.perTensor, { a: 0.4, b: 5 / 12 });
  assert.equal(ws.overall, 9 / 22);
  // -0 is a zero too.
  assert.equal(weightSparsity({ z: f32([4], [-0, 0, 1, -1]) }, ['z']).overall, 0.5);
});

test('gradual pruning through train: each pruning step reaches prunedCount(s_t, n) exactly; masked weights stay 0', async () => {
  await selectBackend();
  const data = loadDataset({ name: 'synthetic', seed: 1, train: 320, test: 64, sampleShape: [12], numClasses: 3 });
  const model: ModelSpec = { arch: 'mlp', inputShape: [12], numClasses: 3, options: { hidden: [16, 8] } };
  const names = buildNetwork(model).params.filter(isPrunable).map((p) => p.name);
  assert.deepEqual(names, ['fc1.weight', 'fc2.weight', 'fc3.weight']);
  const schedule: GradualSchedule = { initialSparsity: 0.1, finalSparsity: 0.8, beginStep: 5, endStep: 27, frequency: 4 };
  const before = tf.memory().numTensors;
  const seen: number[] = [];
  let previous: Masks | undefined;
  const result = await train(initCheckpoint({ model, seed: 5 }), {
    dataset: data,
    steps: 34,
    batchSize: 32,
    learningRate: 0.05,
    weightDecay: 1e-4,
    dataSeed: 2,
    onStep: (ctx) => {
      // What nodes/prune/run.ts does.
      if (isPruningStep(ctx.step, schedule)) {
        ctx.setMasks(magnitudeMasks(ctx.weights(), ctx.masks(), { scope: 'layerwise', names, sparsity: scheduledSparsity(ctx.step, schedule) }));
        seen.push(ctx.step);
        const s = scheduledSparsity(ctx.step, schedule);
        const w = ctx.weights();
        for (const name of names) {
          const n = w[name]!.data.length;
          assert.equal(weightSparsity(w, [name]).overall, prunedCount(s, n) / n, `${name} at step ${ctx.step}`);
          assert.equal(maskSparsity({ [name]: ctx.masks()[name]! }).overall, prunedCount(s, n) / n);
        }
      }
      const masks = ctx.masks();
      assert.deepEqual(Object.keys(masks).sort(), names, 'only weights are masked, never biases');
      const w = ctx.weights();
      for (const name of names) {
        const m = masks[name]!.data;
        const d = w[name]!.data;
        for (let i = 0; i < m.length; i++) {
          if (m[i] === 0) assert.ok(Object.is(d[i], 0), `${name}[${i}] = ${d[i]} at step ${ctx.step} is masked`);
          if (previous && previous[name]!.data[i] === 0) assert.equal(m[i], 0, `${name}[${i}] regrew at step ${ctx.step}`);
        }
      }
      previous = masks;
    },
  });
  assert.deepEqual(seen, [5, 9, 13, 17, 21, 25, 27]);
  assert.deepEqual(pruningSteps(schedule, 34).map((p) => p.step), seen);
  const final = result.checkpoint;
  for (const name of names) {
    const n = final.tensors[name]!.data.length;
    assert.equal(maskSparsity({ [name]: final.masks[name]! }).overall, prunedCount(0.8, n) / n);
    assert.equal(weightSparsity(final.tensors, [name]).overall, prunedCount(0.8, n) / n, `${name}: only masked weights are zero`);
  }
  // fc1: 192 weights -> 154 zeros; fc2: 128 -> 102; fc3: 24 -> 19.
  assert.deepEqual(names.map((n) => zerosOf(final.masks[n]!).length), [154, 102, 19]);
  for (const bias of ['fc1.bias', 'fc2.bias', 'fc3.bias']) {
    assert.equal(final.masks[bias], undefined);
    assert.ok([...final.tensors[bias]!.data].some((v) => v !== 0), `${bias} trained`);
  }
  assert.equal(tf.memory().numTensors, before);
});
