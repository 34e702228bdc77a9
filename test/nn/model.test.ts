import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadDataset } from '../../science/data/load.js';
import { Rng } from '../../science/data/random.js';
import { backendDescription, selectBackend } from '../../science/nn/backend.js';
import { uploadCheckpoint } from '../../science/nn/device.js';
import { initCheckpoint } from '../../science/nn/init.js';
import { conv2d, conv2dFilterGrad } from '../../science/nn/layers.js';
import { buildNetwork } from '../../science/nn/models/index.js';
import { crossEntropy, isTrainable, targets } from '../../science/nn/network.js';
import { tf } from '../../science/nn/tf.js';
import { train } from '../../science/nn/train.js';
import type { Checkpoint, ModelSpec } from '../../base/values.js';

await selectBackend();

test('a one-layer model: loss and gradients equal the hand-computed values', () => {
  const model: ModelSpec = { arch: 'mlp', inputShape: [2], numClasses: 2, options: { hidden: [] } };
  const ckpt: Checkpoint = {
    model,
    step: 0,
    masks: {},
    tensors: {
      'fc1.weight': { dtype: 'float32', shape: [2, 2], data: Float32Array.from([1, 2, 3, 4]) },
      'fc1.bias': { dtype: 'float32', shape: [2], data: Float32Array.from([0.5, -0.5]) },
    },
  };
  const net = buildNetwork(model);
  const p = uploadCheckpoint(net, ckpt);
  const before = tf.memory().numTensors;
  const [loss, gw, gb] = tf.tidy(() => {
    const r = net.lossAndGrads(p, tf.tensor2d([[1, -1]]), tf.tensor1d([0], 'int32'), {});
    // Device layout of fc1.weight is [in, out]: transpose back to PyTorch's [out, in].
    return [r.loss, tf.transpose(r.grads['fc1.weight']!), r.grads['fc1.bias']!];
  });
  // logits = W x + b = [-0.5, -1.5]; p0 = 1/(1+e^-1); loss = ln(1+e^-1); dz = p - y; dW = dz x^T
  const p0 = 1 / (1 + Math.exp(-1));
  assert.ok(Math.abs(loss!.dataSync()[0]! - Math.log(1 + Math.exp(-1))) < 1e-6);
  const dz = [p0 - 1, 1 - p0];
  const expected = [dz[0]!, -dz[0]!, dz[1]!, -dz[1]!];
  Array.from(gw!.dataSync()).forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) < 1e-6, `dW[${i}] = ${v}, expected ${expected[i]}`));
  Array.from(gb!.dataSync()).forEach((v, i) => assert.ok(Math.abs(v - dz[i]!) < 1e-6));
  tf.dispose([loss!, gw!, gb!]);
  assert.equal(tf.memory().numTensors, before);
  tf.dispose(Object.values(p));
});

test('hand-written MLP backward pass equals autodiff, with label smoothing', () => {
  const model: ModelSpec = { arch: 'mlp', inputShape: [6], numClasses: 3, options: { hidden: [5, 4] } };
  const net = buildNetwork(model);
  const p = uploadCheckpoint(net, initCheckpoint({ model, seed: 3, initializer: 'he_normal' }));
  tf.tidy(() => {
    const x = tf.randomNormal([7, 6], 0, 1, 'float32', 1);
    const y = tf.tensor1d([0, 1, 2, 0, 1, 2, 1], 'int32');
    const mine = net.lossAndGrads(p, x, y, { labelSmoothing: 0.1 });
    const names = net.params.map((q) => q.name);
    const ref = tf.valueAndGrads((...ws: tf.Tensor[]) => {
      const q: Record<string, tf.Tensor> = {};
      names.forEach((n, i) => (q[n] = ws[i]!));
      return crossEntropy(net.logits(q, x), targets(y, 3, 0.1));
    })(names.map((n) => p[n]!));
    assert.ok(Math.abs(mine.loss.dataSync()[0]! - ref.value.dataSync()[0]!) < 1e-6);
    names.forEach((n, i) => {
      const diff = tf.max(tf.abs(tf.sub(mine.grads[n]!, ref.grads[i]!))).dataSync()[0]!;
      assert.ok(diff < 1e-5, `${n}: max difference ${diff}`);
    });
  });
  tf.dispose(Object.values(p));
});

test('conv2d filter gradient by convolution equals the reference gradient (stride 1 and 2)', () => {
  for (const [stride, pad] of [
    [1, 1],
    [2, 1],
    [1, 0],
  ] as const) {
    tf.tidy(() => {
      const x = tf.randomNormal([2, 7, 7, 3], 0, 1, 'float32', 5);
      const w = tf.randomNormal([3, 3, 3, 4], 0, 1, 'float32', 6);
      const padded = tf.pad(x, [[0, 0], [pad, pad], [pad, pad], [0, 0]]) as tf.Tensor4D;
      const reference = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, 'valid'))));
      // Reference on the same backend only where its own kernel exists; otherwise compare to a finite sum.
      const dy = tf.mul(tf.conv2d(padded, w as tf.Tensor4D, stride, 'valid'), 2);
      const trick = conv2dFilterGrad(x, dy, w.shape, stride, pad);
      const mine = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(conv2d(a, b, stride, pad, true))))([x, w]);
      assert.ok(tf.max(tf.abs(tf.sub(mine[1]!, trick))).dataSync()[0]! < 1e-4);
      if (tf.getKernel('Conv2DBackpropFilter', tf.getBackend())) {
        const ref = reference([padded, w]);
        assert.ok(tf.max(tf.abs(tf.sub(ref[1]!, trick))).dataSync()[0]! < 1e-3);
      } else {
        // Explicit sum for one filter entry: dW[i,j,c,o] = sum xpad[n, h*s+i, w*s+j, c] dy[n,h,w,o].
        const xp = padded.arraySync();
        const g = dy.arraySync() as number[][][][];
        let s = 0;
        for (let n = 0; n < 2; n++) for (let h = 0; h < g[0]!.length; h++) for (let q = 0; q < g[0]![0]!.length; q++) s += xp[n]![h * stride + 1]![q * stride + 2]![1]! * g[n]![h]![q]![3]!;
        assert.ok(Math.abs((trick.arraySync() as number[][][][])[1]![2]![1]![3]! - s) < 1e-3 * Math.max(1, Math.abs(s)));
      }
    });
  }
});

/** Per-channel mean and unbiased variance over every axis but the last, on the host in float64. */
function channelMoments(t: tf.Tensor): { mean: number[]; variance: number[] } {
  const c = t.shape[t.shape.length - 1]!;
  const v = t.dataSync();
  const count = v.length / c;
  const mean = Array.from({ length: c }, (_, k) => {
    let s = 0;
    for (let i = k; i < v.length; i += c) s += v[i]!;
    return s / count;
  });
  const variance = mean.map((m, k) => {
    let s = 0;
    for (let i = k; i < v.length; i += c) s += (v[i]! - m) ** 2;
    return s / (count - 1);
  });
  return { mean, variance };
}

const close = (actual: ArrayLike<number>, expected: readonly number[], tol: number, what: string): void =>
  expected.forEach((e, i) => assert.ok(Math.abs(actual[i]! - e) <= tol * Math.max(1, Math.abs(e)), `${what}[${i}] = ${actual[i]}, expected ${e}`));

test('lenet5 and resnet20 train on cpu and wasm: finite gradients, batch-norm statistics move, SGD lowers the loss', async () => {
  const models: ModelSpec[] = [
    { arch: 'lenet5', inputShape: [28, 28, 1], numClasses: 10 },
    { arch: 'resnet20', inputShape: [8, 8, 3], numClasses: 4, options: { blocks: 1, width: 4 } },
  ];
  const cpuLosses = new Map<string, number[]>();
  const images = loadDataset({ name: 'synthetic', seed: 1, train: 8, test: 4, sampleShape: [8, 8, 3], numClasses: 4 });
  const previous = backendDescription()?.name;
  try {
    for (const backend of ['cpu', 'wasm'] as const) {
      await selectBackend(backend);
      assert.equal(tf.getBackend(), backend);
      for (const model of models) {
        const what = `${model.arch} on ${backend}`;
        const net = buildNetwork(model);
        const trainable = net.params.filter(isTrainable);
        const before = tf.memory().numTensors;
        const p: Record<string, tf.Tensor> = uploadCheckpoint(net, initCheckpoint({ model, seed: 1 }));
        // The same batch on every backend: drawn on the host.
        const rng = new Rng(2, 'model-test');
        const x = tf.tensor(Float32Array.from({ length: 4 * model.inputShape.reduce((a, b) => a * b, 1) }, () => rng.normal()), [4, ...model.inputShape]);
        const y = tf.tensor1d([0, 1, 2, 3], 'int32');
        const losses: number[] = [];
        for (let s = 0; s < 5; s++) {
          const r = tf.tidy(() => {
            const out = net.lossAndGrads(p, x, y, {});
            const next: Record<string, tf.Tensor> = {};
            for (const q of trainable) next[q.name] = tf.sub(p[q.name]!, tf.mul(out.grads[q.name]!, 0.05));
            return { loss: out.loss, grads: out.grads, next, stats: out.stats };
          });
          losses.push(r.loss.dataSync()[0]!);
          assert.ok(Number.isFinite(losses[s]), `${what}: loss ${losses[s]} at step ${s}`);
          if (s === 0) {
            for (const q of trainable) {
              const g = r.grads[q.name]!;
              assert.deepEqual(g.shape, p[q.name]!.shape, `${what}: ${q.name}`);
              assert.ok(Number.isFinite(tf.tidy(() => tf.sum(tf.abs(g)).dataSync()[0]!)), `${what}: ${q.name}`);
            }
            assert.equal(Object.keys(r.stats).length, net.params.length - trainable.length, `${what}: statistics`);
          }
          if (s === 0 && model.arch === 'resnet20') {
            // Running statistics move from (0, 1) by 0.1 toward the batch's: mean and unbiased variance of conv1's output.
            const { mean, variance } = tf.tidy(() => channelMoments(tf.conv2d(x as tf.Tensor4D, p['conv1.weight'] as tf.Tensor4D, 1, 'same')));
            close(r.stats['bn1.running_mean']!.dataSync(), mean.map((m) => 0.1 * m), 1e-4, `${what}: bn1.running_mean`);
            close(r.stats['bn1.running_var']!.dataSync(), variance.map((v) => 0.9 + 0.1 * v), 1e-4, `${what}: bn1.running_var`);
            const deep = Array.from(r.stats['layer3.0.bn2.running_var']!.dataSync());
            assert.ok(deep.every((v) => v !== 1 && v > 0.9), `${what}: layer3.0.bn2.running_var ${deep.join(', ')}`);
          }
          tf.dispose([r.loss, ...Object.values(r.grads)]);
          for (const [name, t] of [...Object.entries(r.next), ...Object.entries(r.stats)]) {
            p[name]!.dispose();
            p[name] = t;
          }
        }
        // Plain SGD on one fixed batch: every step lowers its loss.
        losses.slice(1).forEach((l, i) => assert.ok(l < losses[i]!, `${what}: losses ${losses.join(', ')}`));
        // Same weights and batch: both backends follow the same trajectory (up to float rounding).
        const cpu = cpuLosses.get(model.arch);
        if (cpu) close(losses, cpu, 1e-4, `${what}: losses against cpu's`);
        else cpuLosses.set(model.arch, losses);
        tf.dispose([x, y, ...Object.values(p)]);
        assert.equal(tf.memory().numTensors, before, `${what}: live tensors`);
      }
      // The trainer keeps the statistics each step returns: every running mean and variance entry moves.
      const resnet = models[1]!;
      const start = initCheckpoint({ model: resnet, seed: 1 });
      const { checkpoint } = await train(start, { dataset: images, steps: 2, batchSize: 4, learningRate: 0.05, dataSeed: 1 });
      for (const q of buildNetwork(resnet).params.filter((q) => !isTrainable(q))) {
        const [now, then] = [checkpoint.tensors[q.name]!.data, start.tensors[q.name]!.data];
        now.forEach((v, i) => assert.ok(Number.isFinite(v) && v !== then[i], `${q.name}[${i}] = ${v} on ${backend}`));
      }
    }
  } finally {
    if (previous) await selectBackend(previous);
  }
});
