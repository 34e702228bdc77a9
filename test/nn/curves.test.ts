import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pathMetricValues, summarisePath } from '../../science/nn/barrier.js';
import { bernstein, grid, lineCoefficients, lineControlPoints, mixCheckpoints } from '../../science/nn/curves.js';
import type { Checkpoint, HostTensor, LandscapePoint, ModelSpec } from '../../base/values.js';

const close = (a: number, b: number, tol = 1e-12, what = '') => assert.ok(Math.abs(a - b) <= tol, `${what} ${a} vs ${b}`);
const f32 = (shape: number[], values: number[]): HostTensor<'float32'> => ({ dtype: 'float32', shape, data: Float32Array.from(values) });
const u8 = (shape: number[], values: number[]): HostTensor<'uint8'> => ({ dtype: 'uint8', shape, data: Uint8Array.from(values) });
const model: ModelSpec = { arch: 'mlp', inputShape: [2], numClasses: 2, options: { hidden: [] } };
const ckpt = (w: number[], b: number[], mask: number[] | undefined, step = 3): Checkpoint => ({
  model,
  step,
  tensors: { 'fc1.weight': f32([2, 2], w), 'fc1.bias': f32([2], b) },
  masks: mask ? { 'fc1.weight': u8([2, 2], mask) } : {},
});
const C = (n: number, k: number): number => {
  let r = 1;
  for (let i = 0; i < k; i++) r = (r * (n - i)) / (i + 1);
  return r;
};

test('bernstein: hand values, (1,0..) at t=0 and (0..,1) at t=1 exactly, and they sum to 1', () => {
  assert.deepEqual([...bernstein(2, 0.25)], [0.5625, 0.375, 0.0625]);
  assert.deepEqual([...bernstein(3, 0.5)], [0.125, 0.375, 0.375, 0.125]);
  assert.deepEqual([...bernstein(1, 0.3)], [0.7, 0.3]);
  const b4 = bernstein(4, 0.1);
  [0.6561, 0.2916, 0.0486, 0.0036, 0.0001].forEach((v, k) => close(b4[k]!, v, 1e-15, `b4[${k}]`));
  for (let n = 1; n <= 4; n++) {
    assert.deepEqual([...bernstein(n, 0)], [1, ...Array(n).fill(0)], `degree ${n} at 0`);
    assert.deepEqual([...bernstein(n, 1)], [...Array(n).fill(0), 1], `degree ${n} at 1`);
    for (let i = 0; i <= 200; i++) {
      const t = i / 200;
      const b = bernstein(n, t);
      assert.equal(b.length, n + 1);
      close(b.reduce((a, v) => a + v, 0), 1, 1e-14, `sum at degree ${n}, t=${t}`);
      for (let k = 0; k <= n; k++) {
        close(b[k]!, C(n, k) * t ** k * (1 - t) ** (n - k), 1e-15, `C(${n},${k}) t=${t}`);
        assert.ok(b[k]! >= 0);
      }
    }
  }
  assert.deepEqual([...lineCoefficients(0.25)], [0.75, 0.25]);
  assert.deepEqual([...lineCoefficients(-0.2)], [1.2, -0.2]);
});

test('grid: exact ends, evenly spaced, n points', () => {
  const g = grid(-0.2, 1.2, 29);
  assert.equal(g.length, 29);
  assert.equal(g[0], -0.2);
  assert.equal(g[28], 1.2);
  g.forEach((x, i) => close(x, -0.2 + (1.4 * i) / 28, 1e-15, `grid[${i}]`));
  const h = grid(0, 1, 61);
  assert.equal(h.length, 61);
  assert.equal(h[0], 0);
  assert.equal(h[60], 1);
  assert.equal(h[30], 0.5);
  for (let i = 1; i < 61; i++) close(h[i]! - h[i - 1]!, 1 / 60, 1e-15);
  assert.deepEqual(grid(0.3, 0.9, 1), [0.3]);
  assert.deepEqual(grid(0, 1, 2), [0, 1]);
});

test('mixCheckpoints: values in float64 rounded once; masks are the union; step 0', () => {
  const a = ckpt([1, 2, 3, 4], [0.5, -0.5], [1, 0, 0, 1]);
  const b = ckpt([-1, 0, 0.1, 8], [1.5, 2], [0, 0, 1, 1]);
  const m = mixCheckpoints([a, b], [0.25, 0.75]);
  assert.deepEqual([...m.tensors['fc1.weight']!.data], [-0.5, 0.5, Math.fround(0.25 * 3 + 0.75 * Math.fround(0.1)), 7]);
  assert.deepEqual([...m.tensors['fc1.bias']!.data], [1.25, 1.375]);
  assert.deepEqual(m.tensors['fc1.weight']!.shape, [2, 2]);
  assert.deepEqual([...m.masks['fc1.weight']!.data], [1, 0, 1, 1]);
  assert.equal(m.step, 0);
  assert.equal(m.model, a.model);
  // Exact at a unit coefficient; three points; the input masks are not mutated.
  assert.deepEqual(mixCheckpoints([a, b], [1, 0]).tensors['fc1.weight']!.data, a.tensors['fc1.weight']!.data);
  assert.deepEqual(mixCheckpoints([a, b], [0, 1]).tensors['fc1.bias']!.data, b.tensors['fc1.bias']!.data);
  const c = ckpt([10, 20, 30, 40], [0, 0], [0, 1, 0, 0]);
  const three = mixCheckpoints([a, b, c], [0.5, 0.25, 0.25]);
  assert.deepEqual([...three.tensors['fc1.weight']!.data], [0.5 + -0.25 + 2.5, 1 + 0 + 5, Math.fround(1.5 + 0.25 * Math.fround(0.1) + 7.5), 2 + 2 + 10]);
  assert.deepEqual([...three.masks['fc1.weight']!.data], [1, 1, 1, 1]);
  assert.deepEqual([...a.masks['fc1.weight']!.data], [1, 0, 0, 1]);
  // A point without a mask is dense there, so the union is all ones.
  assert.deepEqual([...mixCheckpoints([a, ckpt([0, 0, 0, 0], [0, 0], undefined)], [0.5, 0.5]).masks['fc1.weight']!.data], [1, 1, 1, 1]);
  // Extrapolation: coefficients outside [0, 1].
  assert.deepEqual([...mixCheckpoints([a, b], [1.5, -0.5]).tensors['fc1.bias']!.data], [0, -1.75]);
});

test('lineControlPoints: evenly spaced on the straight line, with the start point\'s masks', () => {
  const a = ckpt([1, 2, 3, 4], [0.5, -0.5], [1, 0, 0, 1]);
  const b = ckpt([4, -1, 0, 10], [2, 1], [1, 0, 0, 1]);
  assert.deepEqual(lineControlPoints(a, b, 1), []);
  const [q] = lineControlPoints(a, b, 2);
  assert.deepEqual([...q!.tensors['fc1.weight']!.data], [2.5, 0.5, 1.5, 7]);
  const cubic = lineControlPoints(a, b, 3);
  assert.equal(cubic.length, 2);
  cubic.forEach((p, j) => {
    const alpha = (j + 1) / 3;
    assert.equal(p.masks, a.masks);
    for (const name of ['fc1.weight', 'fc1.bias']) {
      const s = a.tensors[name]!.data;
      const e = b.tensors[name]!.data;
      p.tensors[name]!.data.forEach((v, i) => {
        assert.equal(v, Math.fround((1 - alpha) * s[i]! + alpha * e[i]!), `${name}[${i}] at ${alpha}`);
        // On the line: (p - a) = alpha (b - a).
        close(v - s[i]!, alpha * (e[i]! - s[i]!), 1e-6);
      });
    }
  });
  // The untrained Bezier curve is the line: at t, sum_k b_k(t) theta_k = (1 - t) a + t b.
  const points = [a, ...cubic, b];
  for (const t of [0.1, 0.5, 0.8]) {
    const onCurve = mixCheckpoints(points, bernstein(3, t)).tensors['fc1.weight']!.data;
    const onLine = mixCheckpoints([a, b], [1 - t, t]).tensors['fc1.weight']!.data;
    onCurve.forEach((v, i) => close(v, onLine[i]!, 1e-6));
  }
});

/** A hand-made landscape: a bump at x = 0.5, points outside [0, 1] that must be ignored, shuffled. */
const bumpy: LandscapePoint[] = [
  { x: 0.5, split: 'train', loss: 2.0, accuracy: 0.6 },
  { x: -0.2, split: 'train', loss: 10, accuracy: 0 },
  { x: 1, split: 'train', loss: 0.5, accuracy: 0.95 },
  { x: 0.25, split: 'train', loss: 1.5, accuracy: 0.8 },
  { x: 1.2, split: 'train', loss: 9, accuracy: 0.01 },
  { x: 0, split: 'train', loss: 1.0, accuracy: 0.9 },
  { x: 0.75, split: 'train', loss: 1.2, accuracy: 0.85 },
];

test('summarisePath: barrier heights against the higher end and the mean of the ends, for loss and error', () => {
  const s = summarisePath(bumpy);
  assert.equal(s.lossStart, 1.0);
  assert.equal(s.lossEnd, 0.5);
  assert.equal(s.lossMax, 2.0);
  assert.equal(s.argmax, 0.5);
  assert.equal(s.barrierLoss, 1.0); // 2.0 - max(1.0, 0.5)
  assert.equal(s.barrierLossMean, 1.25); // 2.0 - 0.75
  // Errors 0.1, 0.2, 0.4, 0.15, 0.05: max 0.4.
  close(s.barrierError, 0.4 - 0.1);
  close(s.barrierErrorMean, 0.4 - 0.075);
  assert.equal(s.monotone, false);
  // Rises: 0 -> 0.25: +0.5, 0.25 -> 0.5: +0.5; then falls.
  assert.equal(s.maxRise, 0.5);

  const down: LandscapePoint[] = [1, 0.8, 0.8, 0.3, 0.1].map((loss, i) => ({ x: i / 4, split: 'train', loss, accuracy: 0.5 + i / 10 }));
  const d = summarisePath([...down, { x: 1.1, split: 'train', loss: 5, accuracy: 0 }, { x: -0.1, split: 'train', loss: 0, accuracy: 1 }]);
  assert.equal(d.monotone, true, 'a flat step is not a rise');
  assert.equal(d.maxRise, 0);
  assert.equal(d.barrierLoss, 0);
  assert.equal(d.barrierLossMean, 1 - 0.55);
  assert.equal(d.argmax, 0);
  close(d.barrierError, 0);
  // A path that dips below both ends and comes back up: no barrier against the higher end, a positive one
  // against the mean of the ends (the higher end is the maximum), and not monotone.
  const dip = summarisePath([0, 0.5, 1].map((x, i) => ({ x, split: 'train' as const, loss: [1, 0.2, 0.6][i]!, accuracy: 0.9 })));
  assert.equal(dip.barrierLoss, 0);
  close(dip.barrierLossMean, 1 - 0.8);
  assert.equal(dip.monotone, false);
  close(dip.maxRise, 0.4);

  assert.throws(() => summarisePath(bumpy.filter((p) => p.x !== 1)), /needs the points at 0 and 1/);
  assert.throws(() => summarisePath(bumpy.filter((p) => p.x !== 0)), /needs the points at 0 and 1/);
});

test('pathMetricValues: one set of values per split, named SPLIT_NAME', () => {
  const test_: LandscapePoint[] = [
    { x: 0, split: 'test', loss: 0.3, accuracy: 0.9 },
    { x: 0.5, split: 'test', loss: 0.2, accuracy: 0.95 },
    { x: 1, split: 'test', loss: 0.1, accuracy: 0.97 },
  ];
  const v = pathMetricValues([...bumpy, ...test_]);
  assert.equal(v['train_barrier_loss'], 1.0);
  assert.equal(v['train_barrier_loss_mean'], 1.25);
  assert.equal(v['train_loss_max'], 2);
  assert.equal(v['train_loss_argmax'], 0.5);
  assert.equal(v['train_loss_start'], 1);
  assert.equal(v['train_loss_end'], 0.5);
  assert.equal(v['train_monotone'], 0);
  assert.equal(v['train_max_rise'], 0.5);
  close(v['train_barrier_error']!, 0.3);
  close(v['train_barrier_error_mean']!, 0.325);
  assert.equal(v['test_monotone'], 1);
  assert.equal(v['test_max_rise'], 0);
  assert.equal(v['test_barrier_loss'], 0); // the maximum is the start point
  close(v['test_barrier_loss_mean']!, 0.3 - 0.2);
  close(v['test_barrier_error']!, 0.1 - 0.1);
  assert.equal(Object.keys(v).length, 20);
});
