import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadDataset } from '../../science/data/load.js';
import { Rng } from '../../science/data/random.js';
import { selectBackend } from '../../science/nn/backend.js';
import { dropFractionAt, dynamicSparseHook, isUpdateStep, rewire, type DynamicSparseOptions } from '../../science/nn/dynamic-sparse.js';
import { denseMasks, initCheckpoint } from '../../science/nn/init.js';
import type { Masks } from '../../science/nn/pruning.js';
import { tf } from '../../science/nn/tf.js';
import { train, type StepContext } from '../../science/nn/train.js';
import type { HostTensor, ModelSpec } from '../../base/values.js';

const f32 = (shape: number[], values: number[]): HostTensor<'float32'> => ({ dtype: 'float32', shape, data: Float32Array.from(values) });
const u8 = (shape: number[], values: number[]): HostTensor<'uint8'> => ({ dtype: 'uint8', shape, data: Uint8Array.from(values) });
const active = (m: HostTensor<'uint8'>): number[] => [...m.data.keys()].filter((i) => m.data[i] === 1);
const close = (a: number, b: number, what = '') => assert.ok(Math.abs(a - b) < 1e-12, `${what} ${a} vs ${b}`);

test('dropFractionAt: f0/2 (1 + cos(pi t / t_end)), 0 from t_end = endFraction * total', () => {
  const o = { dropFraction: 0.3, endFraction: 0.75 };
  close(dropFractionAt(0, 100, o), 0.3);
  close(dropFractionAt(25, 100, o), 0.15 * 1.5); // cos(pi/3) = 1/2
  close(dropFractionAt(37.5, 100, o), 0.15); // cos(pi/2) = 0
  close(dropFractionAt(50, 100, o), 0.15 * 0.5); // cos(2pi/3) = -1/2
  for (let t = 0; t < 75; t++) close(dropFractionAt(t, 100, o), 0.15 * (1 + Math.cos((Math.PI * t) / 75)), `t=${t}`);
  assert.equal(dropFractionAt(75, 100, o), 0);
  assert.equal(dropFractionAt(99, 100, o), 0);
  assert.equal(dropFractionAt(0, 100, { dropFraction: 0.5, endFraction: 1 }), 0.5);
});

test('isUpdateStep: every delta steps, not at step 0, only before endFraction of training', () => {
  const o = { delta: 10, endFraction: 0.75 };
  const updates = [...Array(101).keys()].filter((s) => isUpdateStep(s, 100, o));
  assert.deepEqual(updates, [10, 20, 30, 40, 50, 60, 70]);
  assert.deepEqual([...Array(101).keys()].filter((s) => isUpdateStep(s, 100, { delta: 25, endFraction: 0.75 })), [25, 50]);
  assert.deepEqual([...Array(41).keys()].filter((s) => isUpdateStep(s, 40, { delta: 5, endFraction: 0.75 })), [5, 10, 15, 20, 25]);
});

// w: |w| of the active entries 0, 2, 3, 5, 6, 7, 8 is 0.5, 0.3, 0.7, 0.9, 0.3, 0.05, 0.6.
const W = f32([2, 5], [0.5, 0, 0.3, -0.7, 0, 0.9, -0.3, 0.05, 0.6, 0]);
const M = u8([2, 5], [1, 0, 1, 1, 0, 1, 1, 1, 1, 0]);
// Large gradients: 7 (active now, dropped next), 4, 9, 1, then 2; 0 has the largest but stays active.
const G = f32([2, 5], [100, 1, 0.5, 0, 3, 0, 0, 5, 0, 2]);

test('rewire (RigL): drops the smallest |w| (ties to the lower index), grows the largest |grad| inactive, may regrow a dropped one', () => {
  const r = rewire({ a: W, fixed: W }, { a: M, fixed: M }, 0.3, { method: 'rigl', seed: 1, names: ['a'] }, 10, { a: G });
  // round(0.3 * 7) = 2 dropped: 7 (0.05), then the tie at 0.3 between 2 and 6 goes to 2.
  assert.deepEqual(active(r.afterDrop['a']!), [0, 3, 5, 6, 8]);
  // Inactive now: 1, 2, 4, 7, 9; largest |grad| among them: 7 (5) and 4 (3). Entry 0's gradient is ignored.
  assert.deepEqual(active(r.final['a']!), [0, 3, 4, 5, 6, 7, 8]);
  assert.equal(active(r.final['a']!).length, active(M).length);
  assert.deepEqual(r.moved, { a: 2 });
  assert.equal(r.final['fixed'], M, 'names not listed keep their mask');
  assert.deepEqual([...M.data], [1, 0, 1, 1, 0, 1, 1, 1, 1, 0], 'the input mask is not mutated');
  assert.deepEqual(r.final['a']!.shape, [2, 5]);
  assert.throws(() => rewire({ a: W }, { a: M }, 0.3, { method: 'rigl', seed: 1, names: ['a'] }, 10), /RigL needs the dense gradient of a/);
  assert.throws(() => rewire({ a: W }, { a: M }, 0.3, { method: 'rigl', seed: 1, names: ['b'] }, 10, { a: G }), /cannot rewire b/);
  // Fraction 0: nothing moves; fraction 1: every active weight is dropped and as many regrown.
  assert.deepEqual(rewire({ a: W }, { a: M }, 0, { method: 'rigl', seed: 1, names: ['a'] }, 10, { a: G }).final['a']!.data, M.data);
  const all = rewire({ a: W }, { a: M }, 1, { method: 'rigl', seed: 1, names: ['a'] }, 10, { a: G });
  assert.deepEqual(active(all.afterDrop['a']!), []);
  // The seven largest |grad| of all ten: 0 (100), 7, 4, 9, 1, 2 (0.5), then the zero-gradient tie goes to 3.
  assert.deepEqual(active(all.final['a']!), [0, 1, 2, 3, 4, 7, 9]);
});

test('rewire (SET): random regrowth among the inactive, deterministic for a seed, different for another', () => {
  const n = 60;
  const w = f32([6, 10], Array.from({ length: n }, (_, i) => ((i * 37) % 61) / 61 - 0.5));
  const m = u8([6, 10], Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 1 : 0))); // 20 active
  const opts = (seed: number): Pick<DynamicSparseOptions, 'method' | 'seed' | 'names'> => ({ method: 'set', seed, names: ['a'] });
  const r1 = rewire({ a: w }, { a: m }, 0.3, opts(1), 10);
  const again = rewire({ a: w }, { a: m }, 0.3, opts(1), 10);
  const r2 = rewire({ a: w }, { a: m }, 0.3, opts(2), 10);
  const later = rewire({ a: w }, { a: m }, 0.3, opts(1), 20);
  // Drops the 6 smallest |w| of the 20 active ones, exactly as RigL would.
  const before = active(m);
  const byMagnitude = [...before].sort((i, j) => Math.abs(w.data[i]!) - Math.abs(w.data[j]!) || i - j);
  assert.deepEqual(active(r1.afterDrop['a']!), before.filter((i) => !byMagnitude.slice(0, 6).includes(i)));
  for (const r of [r1, r2, later]) {
    assert.equal(active(r.final['a']!).length, 20);
    assert.equal(r.moved['a'], 6);
    // Grown entries were inactive after the drop.
    for (const i of active(r.final['a']!)) if (!r.afterDrop['a']!.data[i]) assert.ok(m.data[i] === 0 || byMagnitude.slice(0, 6).includes(i));
  }
  assert.deepEqual(again.final['a']!.data, r1.final['a']!.data);
  assert.notDeepEqual(r2.final['a']!.data, r1.final['a']!.data);
  assert.notDeepEqual(later.final['a']!.data, r1.final['a']!.data, 'the step enters the stream');

  // Uniform: fraction 1 drops all 3 active entries and grows 3 of the 12 now inactive; over 4000 seeds each
  // entry is chosen 3/12 = 25% of the time.
  const small = u8([12], [1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  const sw = f32([12], [0.1, 0.2, 0.3, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  const counts = new Array(12).fill(0);
  for (let seed = 0; seed < 4000; seed++) {
    const r = rewire({ a: sw }, { a: small }, 1, opts(seed), 5);
    for (const i of active(r.final['a']!)) counts[i]++;
  }
  for (const c of counts) assert.ok(Math.abs(c / 4000 - 0.25) < 0.04, `frequency ${c / 4000}`);
});

const data = loadDataset({ name: 'synthetic', seed: 2, train: 320, test: 64, sampleShape: [12], numClasses: 3 });
const model: ModelSpec = { arch: 'mlp', inputShape: [12], numClasses: 3, options: { hidden: [16, 8] } };
const names = ['fc1.weight', 'fc2.weight', 'fc3.weight'];

for (const method of ['rigl', 'set'] as const) {
  test(`${method} through train: constant active counts, regrown weights start at 0, masked weights stay 0, no updates after endFraction`, async () => {
    await selectBackend();
    const masks: Masks = denseMasks(model);
    const rng = new Rng(7, 'test-mask');
    for (const name of names) masks[name]!.data.forEach((_, i, a) => (a[i] = rng.uniform() < 0.5 ? 1 : 0));
    const counts = Object.fromEntries(names.map((n) => [n, active(masks[n]!).length]));
    const opts: DynamicSparseOptions = { method, delta: 5, dropFraction: 0.3, endFraction: 0.75, seed: 3, names };
    const hook = dynamicSparseHook(opts);
    const total = 40;
    const before = tf.memory().numTensors;
    let previous = masks;
    const changedAt: number[] = [];
    await train(initCheckpoint({ model, seed: 1, masks }), {
      dataset: data,
      steps: total,
      batchSize: 32,
      learningRate: 0.1,
      weightDecay: 1e-4,
      dataSeed: 4,
      onStep: (ctx: StepContext) => {
        // What the hook will decide, computed independently before it runs (same weights, same batch).
        const update = isUpdateStep(ctx.step, ctx.totalSteps, opts);
        const expected = update
          ? rewire(ctx.weights(), ctx.masks(), dropFractionAt(ctx.step, total, opts), opts, ctx.step, method === 'rigl' ? ctx.denseGradients() : undefined)
          : undefined;
        hook.onStep(ctx);
        const now = ctx.masks();
        const w = ctx.weights();
        for (const name of names) {
          assert.equal(active(now[name]!).length, counts[name], `${name} active count at step ${ctx.step}`);
          const m = now[name]!.data;
          const d = w[name]!.data;
          for (let i = 0; i < m.length; i++) if (m[i] === 0) assert.ok(Object.is(d[i], 0), `${name}[${i}] masked but ${d[i]} at step ${ctx.step}`);
          if (expected) {
            assert.deepEqual(m, expected.final[name]!.data, `${name} mask at step ${ctx.step}`);
            // Regrown (inactive after the drop, active now), including dropped-and-regrown: exactly 0.
            let regrown = 0;
            for (let i = 0; i < m.length; i++) {
              if (m[i] && !expected.afterDrop[name]!.data[i]) {
                regrown++;
                assert.ok(Object.is(d[i], 0), `${name}[${i}] regrown at step ${ctx.step} is ${d[i]}`);
              }
            }
            assert.equal(regrown, expected.moved[name]);
          }
        }
        const changed = names.some((n) => !now[n]!.data.every((v, i) => v === previous[n]!.data[i]));
        if (changed) changedAt.push(ctx.step);
        if (!update) assert.equal(changed, false, `mask changed at step ${ctx.step}`);
        previous = now;
      },
    });
    assert.deepEqual(hook.updates.map((u) => u.step), [5, 10, 15, 20, 25]);
    assert.deepEqual(changedAt, [5, 10, 15, 20, 25], 'every update moves connections; none after 0.75 * 40 = 30');
    hook.updates.forEach((u) => {
      close(u.fraction, 0.15 * (1 + Math.cos((Math.PI * u.step) / 30)));
      assert.equal(u.moved, names.reduce((a, n) => a + Math.round(u.fraction * counts[n]!), 0));
    });
    assert.equal(tf.memory().numTensors, before);
  });
}
