import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadDataset } from '../../science/data/load.js';
import { selectBackend } from '../../science/nn/backend.js';
import { evaluate } from '../../science/nn/evaluate.js';
import { denseMasks, initCheckpoint } from '../../science/nn/init.js';
import { learningRate } from '../../science/nn/schedules.js';
import { checkpointFromSafetensors, checkpointToSafetensors } from '../../science/nn/safetensors.js';
import { DivergenceError, train, type TrainState } from '../../science/nn/train.js';
import { tf } from '../../science/nn/tf.js';
import type { ModelSpec } from '../../base/values.js';

await selectBackend();
const data = loadDataset({ name: 'synthetic', seed: 1, train: 300, test: 100, sampleShape: [12], numClasses: 3 });
const model: ModelSpec = { arch: 'mlp', inputShape: [12], numClasses: 3, options: { hidden: [16, 8] } };
const base = { dataset: data, batchSize: 32, learningRate: 0.05, momentum: 0.9, weightDecay: 1e-4, dataSeed: 9 } as const;

test('masked weights stay exactly zero through training and after a mask change; the model learns', async () => {
  const masks = denseMasks(model);
  const m1 = masks['fc1.weight']!.data;
  for (let k = 0; k < m1.length; k++) m1[k] = k % 5 === 0 ? 0 : 1;
  const start = initCheckpoint({ model, seed: 1, masks });
  let checked = 0;
  const result = await train(start, {
    ...base,
    epochs: 4,
    nesterov: true,
    onStep: (ctx) => {
      const w = ctx.weights()['fc1.weight']!.data;
      const m = ctx.masks()['fc1.weight']!.data;
      for (let k = 0; k < w.length; k++) if (m[k] === 0) assert.equal(w[k], 0);
      checked++;
      if (ctx.step === 10) {
        // Prune fc2 by half mid-run, as a pruning schedule would.
        const next = ctx.masks();
        next['fc2.weight']!.data.forEach((_, k, a) => (a[k] = k % 2));
        ctx.setMasks(next);
      }
    },
  });
  assert.equal(checked, 38);
  for (const name of ['fc1.weight', 'fc2.weight']) {
    const w = result.checkpoint.tensors[name]!.data;
    const m = result.checkpoint.masks[name]!.data;
    let nonzero = 0;
    for (let k = 0; k < w.length; k++) {
      if (m[k] === 0) assert.equal(w[k], 0, `${name}[${k}]`);
      else if (w[k] !== 0) nonzero++;
    }
    assert.ok(nonzero > 0);
  }
  const { accuracy } = evaluate(result.checkpoint, data.test);
  assert.ok(accuracy > 0.9, `accuracy ${accuracy}`);
});

test('no tensor leaks: live tensors equal after every epoch, and none remain after training', async () => {
  const before = tf.memory().numTensors;
  const counts: number[] = [];
  await train(initCheckpoint({ model, seed: 2 }), { ...base, epochs: 3, onState: () => void counts.push(tf.memory().numTensors) });
  assert.equal(counts.length, 3);
  assert.ok(counts.every((c) => c === counts[0]), `tensor counts per epoch: ${counts.join(', ')}`);
  assert.equal(tf.memory().numTensors, before);
});

test('resuming from an epoch state gives a bit-identical final result; snapshots at requested steps', async () => {
  const start = initCheckpoint({ model, seed: 3 });
  const opts = { ...base, epochs: 3, schedule: { kind: 'cosine' }, labelSmoothing: 0.1, snapshotSteps: [0, 15] } as const;
  const states: TrainState[] = [];
  const full = await train(start, { ...opts, onState: (s) => void states.push(s) });
  assert.deepEqual(full.snapshots.map((s) => s.step), [0, 15]);
  assert.deepEqual(full.snapshots[0]!.tensors['fc1.weight']!.data, start.tensors['fc1.weight']!.data);
  const resumed = await train(start, { ...opts, resume: states[0]! });
  assert.equal(states[0]!.checkpoint.step, 10);
  assert.equal(resumed.checkpoint.step, full.checkpoint.step);
  for (const name of Object.keys(full.checkpoint.tensors)) assert.deepEqual(resumed.checkpoint.tensors[name]!.data, full.checkpoint.tensors[name]!.data, name);
  assert.equal(resumed.metrics.values.trainLossMean, full.metrics.values.trainLossMean);
  // The state carries the snapshots taken before it, so the resumed run returns them all.
  assert.deepEqual(states[0]!.snapshots.map((s) => s.step), [0]);
  assert.deepEqual(resumed.snapshots.map((s) => s.step), [0, 15]);
  for (const [i, snap] of full.snapshots.entries()) assert.deepEqual(resumed.snapshots[i]!.tensors['fc2.weight']!.data, snap.tensors['fc2.weight']!.data);
  assert.equal(resumed.metrics.values.lastLoss, full.metrics.values.lastLoss);
});

test('divergence is an error naming the step', async () => {
  await assert.rejects(
    train(initCheckpoint({ model, seed: 4 }), { ...base, learningRate: 1e8, steps: 50 }),
    (e: unknown) => e instanceof DivergenceError && /^training diverged at step \d+: loss is (NaN|Infinity)$/.test(e.message) && e.step > 1,
  );
});

test('abort signal stops training', async () => {
  const controller = new AbortController();
  controller.abort(new Error('stop'));
  await assert.rejects(train(initCheckpoint({ model, seed: 4 }), { ...base, steps: 5, signal: controller.signal }), { message: 'stop' });
});

test('safetensors round trip is bit-exact, header as the format specifies', () => {
  const ckpt = { ...initCheckpoint({ model: { arch: 'lenet5', inputShape: [28, 28, 1], numClasses: 10 }, seed: 1 }), step: 7, meta: { seed: 1, note: 'x' } };
  ckpt.masks['conv2.weight']!.data[3] = 0;
  const bytes = checkpointToSafetensors(ckpt);
  const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  const header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + headerLength)).toString()) as Record<string, { dtype: string; shape: number[] }>;
  assert.deepEqual(header['conv1.weight']!.shape, [6, 1, 5, 5]);
  assert.equal(header['conv1.weight']!.dtype, 'F32');
  assert.equal(header['conv2.weight.mask']!.dtype, 'U8');
  assert.equal((8 + headerLength) % 8, 0);
  const back = checkpointFromSafetensors(bytes);
  assert.deepEqual(back.model, ckpt.model);
  assert.equal(back.step, 7);
  assert.deepEqual(back.meta, ckpt.meta);
  assert.deepEqual(Object.keys(back.tensors).sort(), Object.keys(ckpt.tensors).sort());
  for (const [k, v] of Object.entries(ckpt.tensors)) {
    assert.deepEqual(back.tensors[k]!.shape, v.shape);
    assert.deepEqual(new Uint8Array(back.tensors[k]!.data.buffer, back.tensors[k]!.data.byteOffset, v.data.byteLength), new Uint8Array(v.data.buffer, v.data.byteOffset, v.data.byteLength));
  }
  for (const [k, v] of Object.entries(ckpt.masks)) assert.deepEqual(back.masks[k]!.data, v.data);
});

test('learning-rate schedules', () => {
  const mc = { base: 1, schedule: { kind: 'mode-connectivity' } } as const;
  assert.equal(learningRate(0, 100, mc), 1);
  assert.equal(learningRate(50, 100, mc), 1);
  assert.ok(Math.abs(learningRate(70, 100, mc) - 0.505) < 1e-12);
  assert.ok(Math.abs(learningRate(95, 100, mc) - 0.01) < 1e-12);
  assert.equal(learningRate(0, 100, { base: 0.2, schedule: { kind: 'cosine' } }), 0.2);
  assert.ok(Math.abs(learningRate(50, 100, { base: 0.2, schedule: { kind: 'cosine' } }) - 0.1) < 1e-12);
  assert.ok(Math.abs(learningRate(30, 100, { base: 1, schedule: { kind: 'step', milestones: [10, 20], gamma: 0.5 } }) - 0.25) < 1e-12);
  assert.equal(learningRate(1, 100, { base: 1, warmupSteps: 4 }), 0.5);
});

test('a checkpoint without masks (as PyTorch writes one) trains as dense, and comes back with all-ones masks', async () => {
  const start = { ...initCheckpoint({ model, seed: 5 }), masks: {} };
  const result = await train(start, { ...base, steps: 5 });
  for (const name of ['fc1.weight', 'fc2.weight', 'fc3.weight']) {
    assert.ok(result.checkpoint.masks[name]!.data.every((v) => v === 1), name);
    assert.ok(result.checkpoint.tensors[name]!.data.every((v, i) => v !== start.tensors[name]!.data[i] || v === 0), `${name} did not train`);
  }
});

test('a run continued from a snapshot follows the same schedule and data order from its step', async () => {
  const start = initCheckpoint({ model, seed: 6 });
  const opts = { ...base, steps: 20, schedule: { kind: 'cosine' } } as const;
  const seen: number[] = [];
  const full = await train(start, { ...opts, snapshotSteps: [12] });
  const branch = await train(full.snapshots[0]!, { ...opts, continueFromCheckpointStep: true, onStep: (s) => void seen.push(s.step) });
  assert.deepEqual(seen, [13, 14, 15, 16, 17, 18, 19, 20]);
  assert.equal(branch.metrics.values.steps, 20);
  // Momentum restarts at zero, so the branch ends near, not at, the uninterrupted run.
  assert.notDeepEqual(branch.checkpoint.tensors['fc1.weight']!.data, full.checkpoint.tensors['fc1.weight']!.data);
});
