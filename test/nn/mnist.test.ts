import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadDataset } from '../../science/data/load.js';
import { selectBackend } from '../../science/nn/backend.js';
import { evaluate } from '../../science/nn/evaluate.js';
import { initCheckpoint } from '../../science/nn/init.js';
import { modelSpecFor } from '../../science/nn/models/index.js';
import { train } from '../../science/nn/train.js';

test('LeNet-300-100 reaches over 90% MNIST test accuracy in one epoch', async () => {
  await selectBackend();
  const ds = loadDataset({ name: 'mnist' });
  const model = modelSpecFor('lenet300', ds.sampleShape, ds.numClasses);
  const result = await train(initCheckpoint({ model, seed: 0 }), { dataset: ds, epochs: 1, batchSize: 128, learningRate: 0.1, momentum: 0.9, weightDecay: 1e-4, schedule: { kind: 'cosine' }, dataSeed: 0 });
  assert.equal(result.checkpoint.step, 469);
  const { accuracy, loss } = evaluate(result.checkpoint, ds.test);
  assert.ok(accuracy > 0.9, `test accuracy ${accuracy}`);
  assert.ok(loss < 0.3, `test loss ${loss}`);
});
