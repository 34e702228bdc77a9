import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryStore } from '../../cache/memory-store.js';
import type { NodeKey } from '../../base/brand.js';
import { loadDataset } from '../../science/data/load.js';
import type { ProgressEvent } from '../../base/values.js';
import { selectBackend } from '../../science/nn/backend.js';
import { denseMasks, initCheckpoint } from '../../science/nn/init.js';
import { decodeTrainState, encodeTrainState, resumableTraining, TRAIN_STATE_FORMAT, type ProgressChannel } from '../../science/nn/resumable.js';
import { tf } from '../../science/nn/tf.js';
import { train, type TrainOptions, type TrainResult } from '../../science/nn/train.js';
import type { Checkpoint, HostTensor, ModelSpec } from '../../base/values.js';

await selectBackend();
// 200 samples at batch 32: epochs end inside batches (after steps 7, 13, 19, 25), 32 steps in all.
const data = loadDataset({ name: 'synthetic', seed: 5, train: 200, test: 50, sampleShape: [10], numClasses: 3 });
const model: ModelSpec = { arch: 'mlp', inputShape: [10], numClasses: 3, options: { hidden: [12] } };
const masks = denseMasks(model);
masks['fc1.weight']!.data.forEach((_, k, a) => (a[k] = k % 3 === 0 ? 0 : 1));
const start = initCheckpoint({ model, seed: 7, masks });
const options: TrainOptions = {
  dataset: data,
  epochs: 5,
  batchSize: 32,
  learningRate: 0.05,
  momentum: 0.9,
  nesterov: true,
  weightDecay: 1e-4,
  schedule: { kind: 'cosine' },
  labelSmoothing: 0.1,
  dataSeed: 3,
  snapshotSteps: [0, 9, 20],
};
const KEY = 'ab'.repeat(32) as NodeKey;

/** What a RunContext gives a node, over a real store; records progress events and saved steps. */
function nodeContext(store: MemoryStore, signal: AbortSignal, onEvent: (e: ProgressEvent) => void = () => {}): ProgressChannel & { events: ProgressEvent[]; savedSteps: number[] } {
  const events: ProgressEvent[] = [];
  const savedSteps: number[] = [];
  return {
    events,
    savedSteps,
    signal,
    progress: (e) => {
      events.push(e);
      onEvent(e);
    },
    saveProgress: async (state) => {
      savedSteps.push((state['checkpoint'] as Checkpoint).step);
      await store.saveProgress(KEY, state);
    },
    loadProgress: () => store.loadProgress(KEY),
  };
}

const bytes = (t: HostTensor): Buffer => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);

function assertSameCheckpoint(actual: Checkpoint, expected: Checkpoint, what: string): void {
  assert.equal(actual.step, expected.step, `${what}: step`);
  assert.deepEqual(actual.meta, expected.meta, `${what}: meta`);
  for (const group of ['tensors', 'masks'] as const) {
    assert.deepEqual(Object.keys(actual[group]).sort(), Object.keys(expected[group]).sort(), `${what}: ${group}`);
    for (const [name, t] of Object.entries(expected[group])) {
      assert.deepEqual(actual[group][name]!.shape, t.shape, `${what}: ${name} shape`);
      assert.ok(bytes(actual[group][name]!).equals(bytes(t)), `${what}: ${group} ${name} differs`);
    }
  }
}

function assertSameResult(actual: TrainResult, expected: TrainResult): void {
  assertSameCheckpoint(actual.checkpoint, expected.checkpoint, 'final');
  assert.deepEqual(actual.metrics, expected.metrics);
  assert.deepEqual(actual.snapshots.map((s) => s.step), [0, 9, 20]);
  expected.snapshots.forEach((s, i) => assertSameCheckpoint(actual.snapshots[i]!, s, `snapshot ${s.step}`));
}

test('a training run aborted mid-epoch resumes from its saved state to a bit-identical result', async () => {
  const reference = await train(start, options);
  const store = new MemoryStore();
  const before = tf.memory().numTensors;

  // First attempt: saves at each epoch's end, killed at step 16 (mid-epoch 3, last save at step 13).
  const controller = new AbortController();
  const first = nodeContext(store, controller.signal, (e) => {
    if (e.step === 16) controller.abort(new Error('killed'));
  });
  await assert.rejects(train(start, { ...options, ...(await resumableTraining(first, { progressEvery: 1 })) }), { message: 'killed' });
  assert.deepEqual(first.savedSteps, [7, 13]);
  assert.equal(tf.memory().numTensors, before, 'the aborted run left tensors behind');
  // Progress forwards step, total, epoch and the step's loss.
  assert.deepEqual(
    first.events.map((e) => [e.step, e.totalSteps, e.epoch]),
    Array.from({ length: 16 }, (_, i) => [i + 1, 32, Math.floor(((i + 1) * 32) / 200)]),
  );
  assert.ok(first.events.every((e) => typeof e.loss === 'number' && Number.isFinite(e.loss)));

  // Second attempt: a fresh call with a fresh signal, as the executor's rerun makes.
  const second = nodeContext(store, new AbortController().signal);
  const resumed = await train(start, { ...options, ...(await resumableTraining(second)) });
  assert.deepEqual(second.events[0], { step: 13, message: 'resumed at step 13' });
  assert.deepEqual(second.savedSteps, [19, 25, 32]);
  const last = second.events.at(-1)!;
  assert.deepEqual({ ...last, lr: undefined }, { step: 32, totalSteps: 32, epoch: 5, loss: reference.metrics.values['lastLoss'], lr: undefined });
  // The cosine schedule's rate at the last step (0-based 31 of 32), carried in the progress event.
  assert.equal(last.lr, options.learningRate * 0.5 * (1 + Math.cos((Math.PI * 31) / 32)));
  assertSameResult(resumed, reference);
  assert.equal(tf.memory().numTensors, before);
});

test('a state saved after the last step resumes to the same result without training', async () => {
  const reference = await train(start, options);
  const store = new MemoryStore();
  const ctx = nodeContext(store, new AbortController().signal);
  await train(start, { ...options, ...(await resumableTraining(ctx, { stateEvery: 10 })) });
  assert.deepEqual(ctx.savedSteps, [10, 20, 30, 32]);
  const again = nodeContext(store, new AbortController().signal);
  const resumed = await train(start, { ...options, ...(await resumableTraining(again)) });
  assert.deepEqual(again.savedSteps, []);
  assertSameResult(resumed, reference);
});

test('a saved state that does not fit is reported and ignored', async () => {
  const store = new MemoryStore();
  const ctx = nodeContext(store, new AbortController().signal);
  await store.saveProgress(KEY, { format: 99 });
  assert.equal((await resumableTraining(ctx)).resume, undefined);
  assert.deepEqual(ctx.events, [{ message: 'saved training state ignored (format 99, expected 2); training from the start' }]);

  let state: Record<string, unknown> | undefined;
  await train(start, { ...options, steps: 1, onState: (s) => void (state = encodeTrainState(s)) });
  const momentum = { ...(state!['momentum'] as Record<string, HostTensor>), 'fc1.bias': { dtype: 'int32', shape: [12], data: new Int32Array(12) } };
  assert.deepEqual(decodeTrainState({ ...state!, momentum }), { ok: false, reason: 'momentum.fc1.bias is not a float32 tensor' });
  const ckpt = state!['checkpoint'] as Checkpoint;
  const short = { ...ckpt, masks: { 'fc1.weight': { dtype: 'uint8', shape: [12, 10], data: new Uint8Array(119) } } };
  assert.deepEqual(decodeTrainState({ ...state!, snapshots: [short] }), { ok: false, reason: 'snapshots[0].masks.fc1.weight has 119 values for shape [12, 10]' });
  assert.equal(decodeTrainState({ ...state!, lastLoss: '0.5' }).ok, false);
  assert.equal(state!['format'], TRAIN_STATE_FORMAT);
  assert.ok(decodeTrainState(state!).ok);
});
