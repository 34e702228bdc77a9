import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadDataset } from '../../science/data/load.js';
import { Rng } from '../../science/data/random.js';
import { selectBackend } from '../../science/nn/backend.js';
import { curveT, fitCurve, offMaskMass, type CurveFitState, type FitCurveOptions } from '../../science/nn/curve-fit.js';
import { bernstein } from '../../science/nn/curves.js';
import { denseMasks, initCheckpoint } from '../../science/nn/init.js';
import { evaluatePath } from '../../science/nn/landscape.js';
import { buildNetwork } from '../../science/nn/models/index.js';
import type { Masks } from '../../science/nn/pruning.js';
import { decodeCurveFitState, encodeCurveFitState } from '../../science/nn/resumable.js';
import { tf } from '../../science/nn/tf.js';
import { train } from '../../science/nn/train.js';
import type { Checkpoint, ModelSpec } from '../../base/values.js';

await selectBackend();

const data = loadDataset({ name: 'synthetic', seed: 6, train: 256, test: 64, sampleShape: [12], numClasses: 3, noise: 1 });
const model: ModelSpec = { arch: 'mlp', inputShape: [12], numClasses: 3, options: { hidden: [16, 8] } };
const names = ['fc1.weight', 'fc2.weight', 'fc3.weight'];
const mask: Masks = denseMasks(model);
{
  const rng = new Rng(11, 'test-mask');
  for (const n of names) mask[n]!.data.forEach((_, i, a) => (a[i] = rng.uniform() < 0.4 ? 1 : 0));
}
const solution = async (seed: number): Promise<Checkpoint> =>
  (await train(initCheckpoint({ model, seed, masks: mask }), { dataset: data, steps: 60, batchSize: 32, learningRate: 0.1, dataSeed: seed })).checkpoint;
const [start, end] = [await solution(1), await solution(2)];
const base: FitCurveOptions = { dataset: data, degree: 2, subspace: 'sparse', steps: 40, batchSize: 32, learningRate: 0.05, tSeed: 1, dataSeed: 3 };

const controlsOf = (c: { curve: { points: readonly Checkpoint[] } }): Checkpoint[] => c.curve.points.slice(1, -1);
const sameBits = (a: readonly Checkpoint[], b: readonly Checkpoint[], what: string): void => {
  assert.equal(a.length, b.length);
  a.forEach((p, k) => {
    for (const name of Object.keys(p.tensors)) assert.deepEqual(p.tensors[name]!.data, b[k]!.tensors[name]!.data, `${what}: control ${k + 1} ${name}`);
  });
};

test('the ends share the mask and are different solutions', () => {
  for (const n of names) {
    assert.deepEqual(start.masks[n]!.data, mask[n]!.data);
    assert.deepEqual(end.masks[n]!.data, mask[n]!.data);
  }
  assert.notDeepEqual(start.tensors['fc1.weight']!.data, end.tensors['fc1.weight']!.data);
});

test('sparse subspace: the end points are the inputs; every control entry off the mask is exactly 0; no leaks', async () => {
  const before = tf.memory().numTensors;
  for (const degree of [2, 3]) {
    const r = await fitCurve(start, end, { ...base, degree });
    assert.equal(r.curve.points.length, degree + 1);
    assert.equal(r.curve.points[0], start);
    assert.equal(r.curve.points[degree], end);
    assert.equal(r.curve.degree, degree);
    assert.equal(r.curve.subspace, 'sparse');
    assert.equal(r.curve.family, 'bezier');
    const controls = controlsOf(r);
    for (const c of controls) {
      for (const n of names) {
        const w = c.tensors[n]!.data;
        const m = mask[n]!.data;
        let movedOn = 0;
        for (let i = 0; i < w.length; i++) {
          if (m[i] === 0) assert.ok(Object.is(w[i], 0), `${n}[${i}] off the mask is ${w[i]}`);
          else if (w[i] !== 0) movedOn++;
        }
        assert.ok(movedOn > 0);
        assert.deepEqual(c.masks[n]!.data, m);
      }
    }
    assert.deepEqual(offMaskMass(controls, mask), { massFraction: 0, nonzeroFraction: 0 });
    assert.equal(r.metrics.values['steps'], 40);
    assert.ok(Number.isFinite(r.metrics.values['trainLossMean']));
  }
  assert.equal(tf.memory().numTensors, before);
});

test('dense subspace: off-mask entries move away from zero; the fitted curve beats the line at t = 1/2', async () => {
  const before = tf.memory().numTensors;
  const r = await fitCurve(start, end, { ...base, subspace: 'dense', steps: 120 });
  const controls = controlsOf(r);
  const off = offMaskMass(controls, mask);
  assert.ok(off.massFraction > 0 && off.massFraction < 1, `mass fraction ${off.massFraction}`);
  assert.ok(off.nonzeroFraction > 0.5, `nonzero fraction ${off.nonzeroFraction}`);
  for (const n of names) assert.ok(controls[0]!.masks[n]!.data.every((v) => v === 1), 'dense control points carry all-ones masks');

  const net = buildNetwork(model);
  const ts = [0, 0.5, 1];
  const curve = evaluatePath(net, r.curve.points, ts.map((t) => bernstein(2, t)), data.train);
  const line = evaluatePath(net, [start, end], ts.map((t) => [1 - t, t]), data.train);
  assert.deepEqual(curve[0], line[0], 'the same start point');
  assert.deepEqual(curve[2], line[2], 'the same end point');
  assert.ok(curve[1]!.loss < line[1]!.loss, `curve ${curve[1]!.loss} vs line ${line[1]!.loss} at t = 0.5`);
  assert.equal(tf.memory().numTensors, before);
});

test('deterministic: same seeds give bit-identical control points; another t seed gives others', async () => {
  const [x, y, z] = [await fitCurve(start, end, base), await fitCurve(start, end, base), await fitCurve(start, end, { ...base, tSeed: 2 })];
  sameBits(controlsOf(x), controlsOf(y), 'same seeds');
  assert.notDeepEqual(controlsOf(z)[0]!.tensors['fc1.weight']!.data, controlsOf(x)[0]!.tensors['fc1.weight']!.data);
  assert.deepEqual(x.metrics, y.metrics);
});

test('curveT: in [0, 1), a function of (seed, step), roughly uniform', () => {
  let sum = 0;
  const N = 5000;
  for (let s = 0; s < N; s++) {
    const t = curveT(7, s);
    assert.ok(t >= 0 && t < 1);
    assert.equal(curveT(7, s), t);
    sum += t;
  }
  assert.ok(Math.abs(sum / N - 0.5) < 0.02, `mean ${sum / N}`);
  assert.notEqual(curveT(7, 3), curveT(8, 3));
  assert.notEqual(curveT(7, 3), curveT(7, 4));
  assert.equal(curveT(7, 3), new Rng(7, 'bezier-t', 3).uniform());
});

test('resuming from a saved state (through encode/decode) is bit-identical to an uninterrupted fit', async () => {
  for (const subspace of ['sparse', 'dense'] as const) {
    const opts: FitCurveOptions = { ...base, subspace, degree: 3, steps: 30 };
    const states: CurveFitState[] = [];
    const full = await fitCurve(start, end, { ...opts, stateEvery: 10, onState: (s) => void states.push(s) });
    assert.deepEqual(states.map((s) => s.step), [10, 20, 30]);
    const saved = states[0]!;
    assert.equal(saved.controls.length, 2);
    assert.equal(saved.momentum.length, 2);
    assert.deepEqual(Object.keys(saved.momentum[0]!).sort(), ['fc1.bias', 'fc1.weight', 'fc2.bias', 'fc2.weight', 'fc3.bias', 'fc3.weight']);
    const tree = encodeCurveFitState(saved);
    assert.equal(tree['format'], 1);
    assert.equal(tree['kind'], 'curve-fit');
    const decoded = decodeCurveFitState(tree);
    assert.ok(decoded.ok, decoded.ok ? '' : decoded.reason);
    assert.deepEqual(decoded.state, saved);
    const resumed = await fitCurve(start, end, { ...opts, resume: decoded.state });
    sameBits(controlsOf(resumed), controlsOf(full), `${subspace} resumed at step 10`);
    assert.equal(resumed.metrics.values['lastLoss'], full.metrics.values['lastLoss']);
    assert.equal(resumed.metrics.values['trainLossMean'], full.metrics.values['trainLossMean']);
    assert.deepEqual(resumed.metrics.series, full.metrics.series);
    // The last state is the final result.
    sameBits(states[2]!.controls, controlsOf(full), `${subspace} last state`);
  }
});

test('decodeCurveFitState rejects what encodeCurveFitState would not write', () => {
  const c = initCheckpoint({ model, seed: 1 });
  const state: CurveFitState = { step: 3, lossSum: 1, lossCount: 2, lastLoss: 0.5, curve: [], curveSteps: [], windowSum: 1, windowCount: 2, controls: [c], momentum: [{ 'fc1.weight': c.tensors['fc1.weight']! }] };
  assert.ok(decodeCurveFitState(encodeCurveFitState(state)).ok);
  const bad = (tree: Record<string, unknown>, reason: RegExp) => {
    const d = decodeCurveFitState(tree);
    assert.equal(d.ok, false);
    if (!d.ok) assert.match(d.reason, reason);
  };
  const tree = encodeCurveFitState(state);
  bad({ ...tree, format: 2 }, /not a curve-fit state of format 1/);
  bad({ ...tree, kind: 'train' }, /not a curve-fit state/);
  bad({ ...tree, step: -1 }, /step is not a step count/);
  bad({ ...tree, lossSum: 'x' }, /lossSum is not a number/);
  bad({ ...tree, curve: [1, 'a'] }, /curve is not a list of numbers/);
  bad({ ...tree, momentum: [] }, /momentum does not match the control points/);
  bad({ ...tree, controls: [{ ...c, tensors: { 'fc1.weight': { dtype: 'float32', shape: [2], data: new Float32Array(3) } } }] }, /controls\[0\]\.tensors\.fc1\.weight has 3 values for shape \[2\]/);
});

test('a mask that differs from the ends\' puts the sparse control points on it; invalid degrees are errors', async () => {
  const narrower: Masks = denseMasks(model);
  for (const n of names) narrower[n]!.data.forEach((_, i, a) => (a[i] = mask[n]!.data[i]! && i % 2 === 0 ? 1 : 0));
  const r = await fitCurve(start, end, { ...base, steps: 5, masks: narrower });
  for (const n of names) {
    const w = controlsOf(r)[0]!.tensors[n]!.data;
    for (let i = 0; i < w.length; i++) if (!narrower[n]!.data[i]) assert.ok(Object.is(w[i], 0), `${n}[${i}]`);
  }
  await assert.rejects(fitCurve(start, end, { ...base, degree: 1 }), /needs degree >= 2, got 1/);
  await assert.rejects(fitCurve(start, initCheckpoint({ model: { ...model, numClasses: 4 }, seed: 1 }), base), /different models/);
});
