/**
 * Rewinding (Frankle et al. 2020, as open_lth implements it): a run continued from a checkpoint at step k
 * trains exactly the steps k+1..total, reads the batches and learning rates the uninterrupted run reads
 * there, and restarts momentum at zero. With plain SGD (no optimizer state) it therefore ends
 * bit-identical to the uninterrupted run; a step-0 checkpoint trains exactly as without continuing.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadDataset } from '../../science/data/load.js';
import { selectBackend } from '../../science/nn/backend.js';
import { denseMasks, initCheckpoint } from '../../science/nn/init.js';
import { freshCounters, runLoop, type LoopOptions } from '../../science/nn/loop.js';
import { decodeTrainState, encodeTrainState } from '../../science/nn/resumable.js';
import { learningRate, type LrOptions } from '../../science/nn/schedules.js';
import { train, type TrainOptions, type TrainResult, type TrainState } from '../../science/nn/train.js';
import { tf } from '../../science/nn/tf.js';
import type { Checkpoint, ModelSpec } from '../../base/values.js';

await selectBackend();
// 100 samples at batch 32: an epoch ends mid-batch, so a continued run crosses epoch boundaries.
const data = loadDataset({ name: 'synthetic', seed: 2, train: 100, test: 40, sampleShape: [10], numClasses: 3 });
const model: ModelSpec = { arch: 'mlp', inputShape: [10], numClasses: 3, options: { hidden: [12] } };
const TOTAL = 20;
const K = 7;
// A schedule that changes every step (warm-up, then cosine), so a shifted schedule cannot pass.
const rate: LrOptions = { base: 0.08, schedule: { kind: 'cosine', final: 0.1 }, warmupSteps: 4 };
const base = {
  dataset: data,
  steps: TOTAL,
  batchSize: 32,
  learningRate: rate.base,
  schedule: rate.schedule,
  warmupSteps: rate.warmupSteps,
  weightDecay: 1e-3,
  dataSeed: 4,
} as const;

/** Steps and rates a run's step hook saw. */
async function trace(start: Checkpoint, opts: TrainOptions): Promise<{ result: TrainResult; steps: number[]; lrs: number[] }> {
  const steps: number[] = [];
  const lrs: number[] = [];
  const result = await train(start, {
    ...opts,
    onStep: (s) => {
      steps.push(s.step);
      lrs.push(s.lr);
    },
  });
  return { result, steps, lrs };
}

function assertSameWeights(a: Checkpoint, b: Checkpoint, what: string): void {
  assert.deepEqual(Object.keys(a.tensors).sort(), Object.keys(b.tensors).sort());
  for (const name of Object.keys(a.tensors)) assert.deepEqual(a.tensors[name]!.data, b.tensors[name]!.data, `${what}: ${name}`);
}

const differs = (a: Checkpoint, b: Checkpoint): boolean => Object.keys(a.tensors).some((n) => a.tensors[n]!.data.some((v, i) => v !== b.tensors[n]!.data[i]));

test('the step loop from step k reads the batches and rates the uninterrupted loop reads from k on', async () => {
  const seen = (resumeAt: number) => {
    const out: { step: number; lr: number; x: number[]; y: number[] }[] = [];
    const opts: LoopOptions = {
      split: data.train,
      batchSize: 32,
      totalSteps: TOTAL,
      dataSeed: 4,
      rate,
      step: (batch, lr, step) => {
        out.push({ step, lr, x: Array.from(batch.x), y: Array.from(batch.y) });
        return tf.scalar(1);
      },
      ...(resumeAt > 0 ? { resume: { ...freshCounters(), step: resumeAt } } : {}),
    };
    return runLoop(opts).then((c) => ({ out, c }));
  };
  const full = await seen(0);
  const rewound = await seen(K);
  assert.equal(rewound.out.length, TOTAL - K);
  assert.equal(rewound.c.step, TOTAL);
  assert.equal(rewound.c.lossCount, TOTAL - K);
  assert.deepEqual(rewound.out, full.out.slice(K));
  // The first rate is the schedule's at step index k (the uninterrupted run's (k+1)-th step), not its start.
  assert.equal(rewound.out[0]!.lr, learningRate(K, TOTAL, rate));
  assert.notEqual(rewound.out[0]!.lr, full.out[0]!.lr);
});

test('a run continued from a step-k snapshot trains exactly steps k+1..total on the same schedule; with plain SGD it ends bit-identical', async () => {
  const start = initCheckpoint({ model, seed: 5 });
  const opts = { ...base, momentum: 0 } as const;
  const full = await trace(start, { ...opts, snapshotSteps: [K] });
  const snapshot = full.result.snapshots.find((s) => s.step === K)!;
  assert.equal(snapshot.step, K);
  const rewound = await trace(snapshot, { ...opts, continueFromCheckpointStep: true });

  // Step counts: total - k steps, ending at step total.
  assert.deepEqual(rewound.steps, Array.from({ length: TOTAL - K }, (_, i) => K + 1 + i));
  assert.equal(rewound.result.checkpoint.step, TOTAL);
  assert.equal(rewound.result.metrics.values['steps'], TOTAL);
  // The schedule continues: the rate of its first step is the uninterrupted run's rate at step k+1.
  assert.equal(rewound.lrs[0], full.lrs[full.steps.indexOf(K + 1)]);
  assert.deepEqual(rewound.lrs, full.lrs.slice(K));
  // Plain SGD keeps no state, so weights + data order + schedule from k is the whole run from k.
  assertSameWeights(rewound.result.checkpoint, full.result.checkpoint, 'rewound vs uninterrupted');
  // The final training loss of both runs is the loss of the same last step.
  assert.equal(rewound.result.metrics.values['lastLoss'], full.result.metrics.values['lastLoss']);

  // The equality depends on the data order: another data seed from the same snapshot ends elsewhere.
  const otherOrder = await train(snapshot, { ...opts, dataSeed: 5, continueFromCheckpointStep: true });
  assert.ok(differs(otherOrder.checkpoint, full.result.checkpoint));
  // Retraining the full length from the rewound weights (the old behaviour) is another run.
  const restarted = await trace(snapshot, opts);
  assert.equal(restarted.steps.length, TOTAL);
  assert.ok(differs(restarted.result.checkpoint, full.result.checkpoint));
});

test('under a mask, a rewound run keeps masked weights at zero and still trains only steps k+1..total', async () => {
  const start = initCheckpoint({ model, seed: 6 });
  const masks = denseMasks(model);
  masks['fc1.weight']!.data.forEach((_, i, a) => (a[i] = i % 3 === 0 ? 0 : 1));
  const opts = { ...base, momentum: 0 } as const;
  const full = await train(start, { ...opts, snapshotSteps: [K] });
  const snapshot = full.snapshots[0]!;
  const rewound = await trace({ ...snapshot, masks }, { ...opts, continueFromCheckpointStep: true });
  assert.equal(rewound.steps.length, TOTAL - K);
  assert.equal(rewound.steps[0], K + 1);
  assert.equal(rewound.result.checkpoint.step, TOTAL);
  const w = rewound.result.checkpoint.tensors['fc1.weight']!.data;
  for (let i = 0; i < w.length; i++) if (i % 3 === 0) assert.ok(Object.is(w[i], 0), `fc1.weight[${i}] is ${w[i]}`);
});

test('momentum restarts at zero at the rewind (open_lth builds a new optimizer for every level); all else continues', async () => {
  const start = initCheckpoint({ model, seed: 7 });
  const opts = { ...base, momentum: 0.9 } as const;
  const states: TrainState[] = [];
  const full = await train(start, { ...opts, snapshotSteps: [K], stateEvery: K, onState: (s) => void states.push(s) });
  const atK = states.find((s) => s.checkpoint.step === K)!;
  assert.ok(Object.values(atK.momentum).some((m) => m.data.some((v) => v !== 0)), 'the uninterrupted run has momentum at k');
  const rewound = await train(full.snapshots[0]!, { ...opts, continueFromCheckpointStep: true });
  // The uninterrupted run's own state at k, momentum set to zero, resumed: exactly the rewound run.
  const zeroed: TrainState = {
    ...atK,
    momentum: Object.fromEntries(Object.entries(atK.momentum).map(([n, m]) => [n, { ...m, data: new Float32Array(m.data.length) }])),
  };
  const resumedZero = await train(start, { ...opts, resume: zeroed });
  assertSameWeights(rewound.checkpoint, resumedZero.checkpoint, 'rewound vs resumed with zero momentum');
  // With its momentum the resumed run is the uninterrupted one, which the rewound run is not.
  assertSameWeights((await train(start, { ...opts, resume: atK })).checkpoint, full.checkpoint, 'resumed vs uninterrupted');
  assert.ok(differs(rewound.checkpoint, full.checkpoint));
});

test('k = 0: continuing from a step-0 checkpoint is bit-identical to training from it', async () => {
  const start = initCheckpoint({ model, seed: 8 });
  const opts = { ...base, momentum: 0.9 } as const;
  const plain = await trace(start, opts);
  const continued = await trace(start, { ...opts, continueFromCheckpointStep: true });
  assert.deepEqual(continued.steps, plain.steps);
  assert.deepEqual(continued.lrs, plain.lrs);
  assertSameWeights(continued.result.checkpoint, plain.result.checkpoint, 'k = 0');
  assert.deepEqual(continued.result.metrics, plain.result.metrics);
});

test('a rewound run killed mid-way resumes from its saved state to the same result', async () => {
  const start = initCheckpoint({ model, seed: 9 });
  const opts = { ...base, momentum: 0.9 } as const;
  const snapshot = (await train(start, { ...opts, snapshotSteps: [K] })).snapshots[0]!;
  const states: TrainState[] = [];
  const rewound = await train(snapshot, { ...opts, continueFromCheckpointStep: true, stateEvery: 5, onState: (s) => void states.push(s) });
  // States at steps 10 and 15 of the continued run (and the end): none before k.
  assert.deepEqual(states.map((s) => s.checkpoint.step), [10, 15, 20]);
  const decoded = decodeTrainState(encodeTrainState(states[0]!));
  assert.ok(decoded.ok);
  const steps: number[] = [];
  const resumed = await train(snapshot, { ...opts, continueFromCheckpointStep: true, resume: decoded.state, onStep: (s) => void steps.push(s.step) });
  assert.deepEqual(steps, [11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
  assertSameWeights(resumed.checkpoint, rewound.checkpoint, 'resumed vs uninterrupted continuation');
  assert.equal(resumed.metrics.values['trainLossMean'], rewound.metrics.values['trainLossMean']);
});
