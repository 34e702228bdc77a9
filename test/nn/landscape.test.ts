import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadDataset, type Split } from '../../science/data/load.js';
import { selectBackend } from '../../science/nn/backend.js';
import { bernstein, mixCheckpoints } from '../../science/nn/curves.js';
import { uploadCheckpoint } from '../../science/nn/device.js';
import { evaluate } from '../../science/nn/evaluate.js';
import { initCheckpoint } from '../../science/nn/init.js';
import { evaluatePath, type EvalResult } from '../../science/nn/landscape.js';
import { buildNetwork } from '../../science/nn/models/index.js';
import type { Network } from '../../science/nn/network.js';
import { tf } from '../../science/nn/tf.js';
import { train } from '../../science/nn/train.js';
import type { Checkpoint, HostTensor, ModelSpec } from '../../base/values.js';

await selectBackend();

const data = loadDataset({ name: 'synthetic', seed: 3, train: 300, test: 90, sampleShape: [12], numClasses: 3 });
const mlp: ModelSpec = { arch: 'mlp', inputShape: [12], numClasses: 3, options: { hidden: [16, 8] } };
const opts = { dataset: data, batchSize: 32, learningRate: 0.05, dataSeed: 1, steps: 20 } as const;

/** Relative agreement of a path point with an independent evaluation (accuracy within one sample). */
function agrees(got: EvalResult, want: EvalResult, what: string, tol = 1e-5): void {
  assert.ok(Math.abs(got.loss - want.loss) <= tol * Math.max(1, Math.abs(want.loss)), `${what}: loss ${got.loss} vs ${want.loss}`);
  assert.ok(Math.abs(got.accuracy - want.accuracy) <= 1 / want.n + 1e-12, `${what}: accuracy ${got.accuracy} vs ${want.accuracy}`);
  assert.equal(got.n, want.n);
}

const trained = async (seed: number): Promise<Checkpoint> => (await train(initCheckpoint({ model: mlp, seed }), { ...opts, dataSeed: seed })).checkpoint;
const [a, b, c1, c2] = [await trained(1), await trained(2), initCheckpoint({ model: mlp, seed: 3 }), initCheckpoint({ model: mlp, seed: 4 })];

test('line on the fast (firstLinear) path: exact at the ends, the mixed checkpoint inside and outside [0, 1]', () => {
  const net = buildNetwork(mlp);
  assert.ok(net.firstLinear, 'an mlp has the fast path');
  const before = tf.memory().numTensors;
  const alphas = [0, 0.25, 0.5, 0.9, 1, -0.2, 1.2];
  for (const split of [data.train, data.test]) {
    const r = evaluatePath(net, [a, b], alphas.map((x) => [1 - x, x]), split);
    assert.equal(r.length, alphas.length);
    // The ends: the same arithmetic as evaluating the checkpoints themselves.
    assert.deepEqual(r[0], evaluate(a, split));
    assert.deepEqual(r[4], evaluate(b, split));
    alphas.forEach((x, i) => agrees(r[i]!, evaluate(mixCheckpoints([a, b], [1 - x, x]), split), `alpha ${x}`));
    assert.notEqual(r[0]!.loss, r[4]!.loss, 'two different solutions');
  }
  assert.equal(tf.memory().numTensors, before);
});

test('a cubic Bezier basis of four points with bernstein(3, t), ends exact', () => {
  const net = buildNetwork(mlp);
  const before = tf.memory().numTensors;
  const basis = [a, c1, c2, b];
  const ts = [0, 0.1, 0.3, 0.5, 0.75, 1];
  const r = evaluatePath(net, basis, ts.map((t) => bernstein(3, t)), data.train);
  assert.deepEqual(r[0], evaluate(a, data.train));
  assert.deepEqual(r[5], evaluate(b, data.train));
  ts.forEach((t, i) => agrees(r[i]!, evaluate(mixCheckpoints(basis, bernstein(3, t)), data.train), `t ${t}`));
  // The control points (random initialisations) pull the middle of the curve well away from the line.
  const line = evaluate(mixCheckpoints([a, b], [0.5, 0.5]), data.train);
  assert.ok(Math.abs(r[3]!.loss - line.loss) > 1e-3, `curve ${r[3]!.loss} vs line ${line.loss}`);
  assert.equal(tf.memory().numTensors, before);
});

test('a batch size that does not divide n, a chunk smaller than the number of points, and a limit', () => {
  const net = buildNetwork(mlp);
  const before = tf.memory().numTensors;
  const alphas = [-0.2, 0, 0.2, 0.4, 0.6, 0.8, 1, 1.2];
  const coefficients = alphas.map((x) => [1 - x, x]);
  const small = evaluatePath(net, [a, b], coefficients, data.train, { batchSize: 64, chunk: 3 });
  assert.equal(small.length, alphas.length);
  assert.deepEqual(small[1], evaluate(a, data.train, { batchSize: 64 }));
  assert.deepEqual(small[6], evaluate(b, data.train, { batchSize: 64 }));
  const whole = evaluatePath(net, [a, b], coefficients, data.train);
  alphas.forEach((x, i) => {
    agrees(small[i]!, evaluate(mixCheckpoints([a, b], [1 - x, x]), data.train, { batchSize: 64 }), `alpha ${x}, batch 64`);
    // Only the summation order differs between batchings.
    agrees(small[i]!, whole[i]!, `alpha ${x}, batch 64 vs 2000`, 1e-6);
  });
  // chunk 1 and a limit of 100 samples (batch 7): each point on its own, on the first 100 samples.
  const limited = evaluatePath(net, [a, b], coefficients, data.train, { batchSize: 7, chunk: 1, limit: 100 });
  const first100: Split = { x: data.train.x.subarray(0, 100 * 12), y: data.train.y.subarray(0, 100), n: 100 };
  alphas.forEach((x, i) => {
    assert.equal(limited[i]!.n, 100);
    agrees(limited[i]!, evaluate(mixCheckpoints([a, b], [1 - x, x]), first100), `alpha ${x}, limit 100`);
  });
  assert.throws(() => evaluatePath(net, [a, b], [[1]], data.train), /1 coefficients for 2 basis points/);
  assert.equal(tf.memory().numTensors, before);
});

test('a one-layer model (first layer = output layer, linear activation) on the fast path', () => {
  const spec: ModelSpec = { arch: 'mlp', inputShape: [12], numClasses: 3, options: { hidden: [] } };
  const net = buildNetwork(spec);
  assert.equal(net.firstLinear?.activation, 'linear');
  const [p, q] = [initCheckpoint({ model: spec, seed: 1 }), initCheckpoint({ model: spec, seed: 2 })];
  const alphas = [0, 0.3, 1, 1.2];
  const r = evaluatePath(net, [p, q], alphas.map((x) => [1 - x, x]), data.test, { chunk: 3 });
  assert.deepEqual(r[0], evaluate(p, data.test));
  assert.deepEqual(r[2], evaluate(q, data.test));
  alphas.forEach((x, i) => agrees(r[i]!, evaluate(mixCheckpoints([p, q], [1 - x, x]), data.test), `one layer, alpha ${x}`));
});

test('the loss of a point is its mean cross-entropy, checked against an independent forward pass', () => {
  const net = buildNetwork(mlp);
  const mixed = mixCheckpoints([a, b], [0.3, 0.7]);
  const [r] = evaluatePath(net, [a, b], [[0.3, 0.7]], data.test);
  const want = tf.tidy(() => {
    const p = uploadCheckpoint(net, mixed);
    const x = tf.tensor2d(data.test.x, [data.test.n, 12]);
    let h = tf.relu(tf.add(tf.matMul(x, p['fc1.weight']!), p['fc1.bias']!));
    h = tf.relu(tf.add(tf.matMul(h, p['fc2.weight']!), p['fc2.bias']!));
    const logits = tf.add(tf.matMul(h, p['fc3.weight']!), p['fc3.bias']!);
    const loss = tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d(data.test.y, 'int32'), 3), logits);
    const acc = tf.mean(tf.cast(tf.equal(tf.argMax(logits, 1), tf.tensor1d(data.test.y, 'int32')), 'float32'));
    return [loss.dataSync()[0]!, acc.dataSync()[0]!];
  });
  agrees(r!, { loss: want[0]!, accuracy: want[1]!, n: data.test.n }, 'independent forward');
});

test('generic path (lenet5, no firstLinear): ends exact, mixed checkpoints inside', async () => {
  const img = loadDataset({ name: 'synthetic', seed: 4, train: 96, test: 30, sampleShape: [12, 12, 1], numClasses: 3 });
  const spec: ModelSpec = { arch: 'lenet5', inputShape: [12, 12, 1], numClasses: 3 };
  const net = buildNetwork(spec);
  assert.equal(net.firstLinear, undefined);
  const s = (await train(initCheckpoint({ model: spec, seed: 1 }), { dataset: img, batchSize: 32, learningRate: 0.05, dataSeed: 1, steps: 6 })).checkpoint;
  const e = initCheckpoint({ model: spec, seed: 2 });
  const before = tf.memory().numTensors;
  const alphas = [0, 0.5, 1, -0.2, 1.2];
  const r = evaluatePath(net, [s, e], alphas.map((x) => [1 - x, x]), img.train, { batchSize: 40, chunk: 2 });
  assert.deepEqual(r[0], evaluate(s, img.train, { batchSize: 40 }));
  assert.deepEqual(r[2], evaluate(e, img.train, { batchSize: 40 }));
  alphas.forEach((x, i) => agrees(r[i]!, evaluate(mixCheckpoints([s, e], [1 - x, x]), img.train, { batchSize: 40 }), `lenet5 alpha ${x}`));
  assert.equal(tf.memory().numTensors, before);
});

const resnetSpec: ModelSpec = { arch: 'resnet20', inputShape: [8, 8, 3], numClasses: 3, options: { blocks: 1, width: 4 } };
const resnetData = loadDataset({ name: 'synthetic', seed: 5, train: 64, test: 32, sampleShape: [8, 8, 3], numClasses: 3 });
/** Two short runs, so the running statistics are real ones (not the initial 0 / 1). */
const resnetEnds = async (): Promise<[Checkpoint, Checkpoint]> => {
  const run = async (seed: number) =>
    (await train(initCheckpoint({ model: resnetSpec, seed }), { dataset: resnetData, batchSize: 16, learningRate: 0.05, dataSeed: seed, steps: 4 })).checkpoint;
  return [await run(1), await run(2)];
};

/**
 * Independent recomputation of a checkpoint's batch-norm statistics: each batch's moments at its weights,
 * averaged over batches with equal weights ('per-batch') or weighted by batch size ('per-sample', as
 * dnn-mode-connectivity's update_bn: momentum = b / (seen + b)).
 */
function recomputed(net: Network, ckpt: Checkpoint, split: Split, batch: number, weighting: 'per-batch' | 'per-sample'): Checkpoint {
  const p = uploadCheckpoint(net, ckpt);
  const sums: Record<string, Float64Array> = {};
  const d = split.x.length / split.n;
  let total = 0;
  for (let start = 0; start < split.n; start += batch) {
    const b = Math.min(batch, split.n - start);
    const w = weighting === 'per-batch' ? 1 : b;
    const m = tf.tidy(() => net.batchStatistics!(p, tf.tensor2d(split.x.subarray(start * d, (start + b) * d), [b, d])));
    for (const [name, t] of Object.entries(m)) {
      const v = t.dataSync();
      const acc = (sums[name] ??= new Float64Array(v.length));
      v.forEach((x, i) => (acc[i]! += w * x));
    }
    tf.dispose(Object.values(m));
    total += w;
  }
  tf.dispose(Object.values(p));
  const tensors: Record<string, HostTensor<'float32'>> = { ...ckpt.tensors };
  for (const [name, acc] of Object.entries(sums)) tensors[name] = { dtype: 'float32', shape: [acc.length], data: Float32Array.from(acc, (x) => x / total) };
  return { ...ckpt, tensors };
}

test('resnet with statsSplit: batch-norm statistics are recomputed at each point (mean over batches)', async () => {
  const img = resnetData;
  const net = buildNetwork(resnetSpec);
  assert.ok(net.batchStatistics);
  const [s, e] = await resnetEnds();
  assert.ok([...s.tensors['bn1.running_mean']!.data].some((v) => v !== 0));
  const before = tf.memory().numTensors;
  const B = 16; // divides 64: 4 batches of equal size
  const alphas = [0, 0.5, 1];
  assert.throws(() => evaluatePath(net, [s, e], [[0.5, 0.5]], img.test), /batch norm: a path needs a split/);
  const r = evaluatePath(net, [s, e], alphas.map((x) => [1 - x, x]), img.test, { statsSplit: img.train, batchSize: B, chunk: 2 });

  // bn1's batch mean by hand: the per-channel mean of conv1(x) (3x3, pad 1) over the batch and the image.
  const bn1Mean = tf.tidy(() => {
    const mixed = uploadCheckpoint(net, mixCheckpoints([s, e], [0.5, 0.5]));
    const x = tf.tensor4d(img.train.x.subarray(0, B * 192), [B, 8, 8, 3]);
    const y = tf.conv2d(x, mixed['conv1.weight'] as tf.Tensor4D, 1, 'same');
    const out = tf.mean(y, [0, 1, 2]).dataSync();
    tf.dispose(Object.values(mixed));
    return out;
  });
  const firstBatchMean = (() => {
    const p = uploadCheckpoint(net, mixCheckpoints([s, e], [0.5, 0.5]));
    const m = tf.tidy(() => net.batchStatistics!(p, tf.tensor2d(img.train.x.subarray(0, B * 192), [B, 192])));
    const v = m['bn1.running_mean']!.dataSync().slice();
    tf.dispose([...Object.values(p), ...Object.values(m)]);
    return v;
  })();
  bn1Mean.forEach((v, i) => assert.ok(Math.abs(v - firstBatchMean[i]!) < 1e-5, `bn1 mean[${i}] ${v} vs ${firstBatchMean[i]}`));

  alphas.forEach((x, i) => {
    const mixed = mixCheckpoints([s, e], [1 - x, x]);
    const fixed = evaluate(recomputed(net, mixed, img.train, B, 'per-batch'), img.test);
    agrees(r[i]!, fixed, `resnet alpha ${x}, recomputed statistics`, 1e-4);
    const stale = evaluate(mixed, img.test);
    assert.ok(Math.abs(r[i]!.loss - stale.loss) > 1e-4, `alpha ${x}: recomputed ${r[i]!.loss} vs mixed statistics ${stale.loss}`);
  });
  // keepStatistics: the one-point path with the checkpoint's own statistics is evaluate().
  assert.deepEqual(evaluatePath(net, [s], [[1]], img.test, { keepStatistics: true }), [evaluate(s, img.test)]);
  assert.deepEqual(evaluatePath(net, [e], [[1]], img.test, { keepStatistics: true }), [evaluate(e, img.test)]);
  for (const v of r) assert.ok(Number.isFinite(v.loss) && v.accuracy >= 0 && v.accuracy <= 1);
  assert.equal(tf.memory().numTensors, before);
});

test(
  'recomputed batch-norm statistics weight a short last batch by its size, as update_bn does',
  async () => {
    const net = buildNetwork(resnetSpec);
    const [s, e] = await resnetEnds();
    const B = 24; // 64 samples: batches of 24, 24 and 16
    const [r] = evaluatePath(net, [s, e], [[0.5, 0.5]], resnetData.test, { statsSplit: resnetData.train, batchSize: B });
    const mixed = mixCheckpoints([s, e], [0.5, 0.5]);
    const perBatch = evaluate(recomputed(net, mixed, resnetData.train, B, 'per-batch'), resnetData.test);
    const perSample = evaluate(recomputed(net, mixed, resnetData.train, B, 'per-sample'), resnetData.test);
    // The two weightings give measurably different losses here, and the path matches the per-sample one.
    assert.ok(Math.abs(perBatch.loss - perSample.loss) > 1e-4, `per-batch ${perBatch.loss} vs per-sample ${perSample.loss}`);
    agrees(r!, perSample, 'sample-weighted statistics', 1e-4);
  },
);
