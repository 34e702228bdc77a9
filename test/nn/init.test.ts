import assert from 'node:assert/strict';
import { test } from 'node:test';
import { denseMasks, initCheckpoint } from '../../science/nn/init.js';
import type { ModelSpec } from '../../base/values.js';

const lenet300: ModelSpec = { arch: 'lenet300', inputShape: [784], numClasses: 10 };

test('the same seed gives bit-identical weights; another seed differs', () => {
  const a = initCheckpoint({ model: lenet300, seed: 42 });
  const b = initCheckpoint({ model: lenet300, seed: 42 });
  const c = initCheckpoint({ model: lenet300, seed: 43 });
  for (const name of Object.keys(a.tensors)) assert.deepEqual(a.tensors[name]!.data, b.tensors[name]!.data, name);
  assert.notDeepEqual(a.tensors['fc1.weight']!.data, c.tensors['fc1.weight']!.data);
  assert.deepEqual(a.tensors['fc1.weight']!.shape, [300, 784]);
  assert.deepEqual(Object.keys(a.masks).sort(), ['fc1.weight', 'fc2.weight', 'fc3.weight']);
  assert.equal(a.step, 0);
});

test('glorot_uniform has the right range and variance', () => {
  const w = initCheckpoint({ model: lenet300, seed: 1 }).tensors['fc1.weight']!.data;
  const limit = Math.sqrt(6 / (784 + 300));
  let sq = 0;
  for (const v of w) {
    assert.ok(Math.abs(v) <= limit);
    sq += v * v;
  }
  const variance = sq / w.length;
  assert.ok(Math.abs(variance - 2 / (784 + 300)) / (2 / (784 + 300)) < 0.02, `variance ${variance}`);
});

test('masked entries are exactly zero; scaled init uses the surviving fan-in per unit', () => {
  const masks = denseMasks(lenet300);
  const m = masks['fc1.weight']!.data;
  for (let o = 0; o < 300; o++) for (let i = 0; i < 784; i++) m[o * 784 + i] = i % 10 === 0 ? 1 : 0; // 79 inputs kept per unit
  const plain = initCheckpoint({ model: lenet300, seed: 5, initializer: 'he_normal', masks });
  const scaled = initCheckpoint({ model: lenet300, seed: 5, initializer: 'he_normal_scaled', masks });
  let sq = 0;
  let kept = 0;
  const w = scaled.tensors['fc1.weight']!.data;
  const u = plain.tensors['fc1.weight']!.data;
  for (let k = 0; k < w.length; k++) {
    if (m[k] === 0) {
      assert.equal(w[k], 0);
      assert.equal(u[k], 0);
    } else {
      sq += w[k]! ** 2;
      kept++;
      // Same random stream, only the scale differs: sqrt(784 / 79).
      assert.ok(Math.abs(w[k]! - u[k]! * Math.sqrt(784 / 79)) < 1e-5 * Math.max(1, Math.abs(w[k]!)));
    }
  }
  assert.ok(Math.abs(sq / kept - 2 / 79) / (2 / 79) < 0.05, `variance ${sq / kept}`);
});
