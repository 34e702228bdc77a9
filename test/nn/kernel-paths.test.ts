/**
 * The native path (kernels/host-mlp.ts on native/kernels.c and the system BLAS) against the wasm path
 * (models/mlp.ts and sgd.ts on tfjs): the same training gives the same losses, weights and masks to
 * float32 rounding, masked entries are +0 on both, the sparse and dense formats of a layer agree, and
 * a native run repeats bit for bit. Skipped, with the reason, only where the native kernels cannot load
 * (no compiler at install, no OpenBLAS); .ci/run installs both.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Checkpoint, HostTensor, ModelSpec } from '../../base/values.js';
import { loadDataset } from '../../science/data/load.js';
import { selectBackend } from '../../science/nn/backend.js';
import { fitCurve } from '../../science/nn/curve-fit.js';
import { bernstein, grid, lineCoefficients } from '../../science/nn/curves.js';
import { denseMasks, initCheckpoint } from '../../science/nn/init.js';
import { evaluatePath } from '../../science/nn/landscape.js';
import { buildNetwork } from '../../science/nn/models/index.js';
import { loadNativeKernels } from '../../science/nn/kernels/native.js';
import { train, type TrainOptions, type TrainResult } from '../../science/nn/train.js';

const native = loadNativeKernels();
const skip = native.ok ? false : `native kernels unavailable: ${native.reason}`;

const data = loadDataset({ name: 'synthetic', seed: 3, train: 640, test: 100, sampleShape: [40], numClasses: 5 });
const model: ModelSpec = { arch: 'mlp', inputShape: [40], numClasses: 5, options: { hidden: [48, 24] } };
const base = { dataset: data, batchSize: 64, learningRate: 0.05, momentum: 0.9, weightDecay: 5e-4, dataSeed: 4, steps: 300 } as const;

/** Masks keeping about `density` of every weight matrix, from a fixed pattern. */
function masksAt(density: number): Record<string, HostTensor<'uint8'>> {
  const masks = denseMasks(model);
  let s = 7;
  for (const m of Object.values(masks)) for (let k = 0; k < m.data.length; k++) m.data[k] = (s = (s * 48271) % 2147483647) / 2147483647 < density ? 1 : 0;
  return masks;
}

async function trainOn(backend: string, start: Checkpoint, opts: Partial<TrainOptions> = {}, sparseBelow?: number): Promise<TrainResult> {
  await selectBackend(backend);
  const before = process.env.SPARSEGRAPH_SPARSE_BELOW;
  if (sparseBelow === undefined) delete process.env.SPARSEGRAPH_SPARSE_BELOW;
  else process.env.SPARSEGRAPH_SPARSE_BELOW = String(sparseBelow);
  try {
    return await train(start, { ...base, ...opts });
  } finally {
    if (before === undefined) delete process.env.SPARSEGRAPH_SPARSE_BELOW;
    else process.env.SPARSEGRAPH_SPARSE_BELOW = before;
  }
}

/** Largest |a - b| over every tensor, relative to the largest |a| of that tensor. */
function maxRelativeDifference(a: Checkpoint, b: Checkpoint): number {
  let worst = 0;
  for (const [name, t] of Object.entries(a.tensors)) {
    const u = b.tensors[name]!.data;
    let scale = 0;
    let diff = 0;
    for (let k = 0; k < t.data.length; k++) {
      scale = Math.max(scale, Math.abs(t.data[k]!));
      diff = Math.max(diff, Math.abs(t.data[k]! - u[k]!));
    }
    worst = Math.max(worst, diff / Math.max(scale, 1e-12));
  }
  return worst;
}

function assertMaskedZero(c: Checkpoint): void {
  for (const [name, m] of Object.entries(c.masks)) {
    const w = c.tensors[name]!.data;
    for (let k = 0; k < w.length; k++) if (!m.data[k]) assert.ok(Object.is(w[k], 0), `${name}[${k}] is ${w[k]}, masked`);
  }
}

function assertSameRun(a: TrainResult, b: TrainResult, tolerance: number): void {
  assert.deepEqual(b.checkpoint.masks, a.checkpoint.masks);
  const la = a.metrics.series!.loss!;
  const lb = b.metrics.series!.loss!;
  assert.equal(lb.length, la.length);
  // Relative, with a floor of 1e-6: once a loss is near 0 its rounding is absolute, not relative.
  for (let i = 0; i < la.length; i++) assert.ok(Math.abs(la[i]! - lb[i]!) <= tolerance * Math.abs(la[i]!) + 1e-6, `loss window ${i}: ${la[i]} against ${lb[i]}`);
  const d = maxRelativeDifference(a.checkpoint, b.checkpoint);
  assert.ok(d <= tolerance, `weights differ by ${d} relative`);
  assertMaskedZero(a.checkpoint);
  assertMaskedZero(b.checkpoint);
}

test('dense training: native and wasm agree over 300 steps (losses, weights) to float32 rounding', { skip }, async () => {
  const start = initCheckpoint({ model, seed: 1 });
  const wasm = await trainOn('wasm', start, { nesterov: true, labelSmoothing: 0.1 });
  const fast = await trainOn('native', start, { nesterov: true, labelSmoothing: 0.1 });
  assert.equal(wasm.checkpoint.meta?.backend, 'wasm');
  assert.equal(fast.checkpoint.meta?.backend, 'native');
  assertSameRun(wasm, fast, 2e-4);
  // The loss fell: the comparison is of a run that learned, not of two that stood still.
  const curve = fast.metrics.series!.loss!;
  assert.ok(curve[curve.length - 1]! < 0.8 * curve[0]!, `loss ${curve[0]} -> ${curve[curve.length - 1]}`);
});

test('masked training at 90% sparsity: the sparse format, the dense format and wasm agree; masked entries stay +0', { skip }, async () => {
  const start = initCheckpoint({ model, seed: 2, masks: masksAt(0.1) });
  const wasm = await trainOn('wasm', start);
  const sparse = await trainOn('native', start, {}, 1);
  const dense = await trainOn('native', start, {}, 0);
  assertSameRun(wasm, sparse, 2e-4);
  assertSameRun(dense, sparse, 2e-4);
});

test('a mask replaced mid-run (pruning past the threshold) switches the format and keeps the numbers', { skip }, async () => {
  const start = initCheckpoint({ model, seed: 5 });
  const sparser = masksAt(0.15);
  const opts: Partial<TrainOptions> = {
    onStep: (ctx) => {
      if (ctx.step === 100) ctx.setMasks(sparser);
    },
  };
  const wasm = await trainOn('wasm', start, opts);
  const fast = await trainOn('native', start, opts, 0.2);
  assertSameRun(wasm, fast, 2e-4);
  assert.deepEqual(fast.checkpoint.masks, sparser);
});

test('dense gradients (RigL regrowth) are unmasked on both paths and agree', { skip }, async () => {
  const start = initCheckpoint({ model, seed: 6, masks: masksAt(0.1) });
  const grads: Record<string, Record<string, HostTensor<'float32'>>> = {};
  for (const backend of ['wasm', 'native']) {
    await trainOn(backend, start, {
      steps: 3,
      onStep: (ctx) => {
        if (ctx.step === 3) grads[backend] = ctx.denseGradients();
      },
    }, 1);
  }
  for (const [name, g] of Object.entries(grads.wasm!)) {
    const h = grads.native![name]!.data;
    let scale = 0;
    let diff = 0;
    for (let k = 0; k < g.data.length; k++) {
      scale = Math.max(scale, Math.abs(g.data[k]!));
      diff = Math.max(diff, Math.abs(g.data[k]! - h[k]!));
    }
    assert.ok(diff <= 1e-4 * scale, `${name}: gradients differ by ${diff} (scale ${scale})`);
  }
  // Gradients exist where the mask is 0: the regrowth criterion reads them there.
  const m = start.masks['fc1.weight']!.data;
  const g = grads.native!['fc1.weight']!.data;
  assert.ok(g.some((v, k) => !m[k] && v !== 0));
});

test('native training repeats bit for bit; a resumed native run ends where the uninterrupted one does', { skip }, async () => {
  const start = initCheckpoint({ model, seed: 8, masks: masksAt(0.1) });
  const a = await trainOn('native', start);
  const b = await trainOn('native', start);
  assert.deepEqual(b.checkpoint.tensors, a.checkpoint.tensors);
  let saved: Parameters<NonNullable<TrainOptions['onState']>>[0] | undefined;
  await trainOn('native', start, { steps: 300, stateEvery: 150, onState: (s) => void (saved ??= s) });
  assert.equal(saved!.checkpoint.step, 150);
  const resumed = await trainOn('native', start, { resume: saved! });
  assert.deepEqual(resumed.checkpoint.tensors, a.checkpoint.tensors);
});

test('landscapes: a line and a cubic curve between sparse and dense solutions give the same losses and accuracies on both paths', { skip }, async () => {
  const sparse = (await trainOn('native', initCheckpoint({ model, seed: 9, masks: masksAt(0.05) }), { steps: 100 })).checkpoint;
  const dense = (await trainOn('native', initCheckpoint({ model, seed: 10 }), { steps: 100 })).checkpoint;
  const mid = initCheckpoint({ model, seed: 11 });
  const net = buildNetwork(model);
  const ts = grid(0, 1, 11);
  const paths: [readonly Checkpoint[], number[][]][] = [
    [[sparse, dense], ts.map((t) => Array.from(lineCoefficients(t)))],
    [[sparse, mid, dense, mid], ts.map((t) => Array.from(bernstein(3, t)))],
  ];
  for (const [basis, coefficients] of paths) {
    const results: Record<string, ReturnType<typeof evaluatePath>> = {};
    for (const backend of ['wasm', 'native']) {
      await selectBackend(backend);
      // A batch that does not divide the split: the last, short batch is counted on both paths.
      results[backend] = evaluatePath(net, basis, coefficients, data.train, { batchSize: 192 });
    }
    results.wasm!.forEach((w, j) => {
      const h = results.native![j]!;
      assert.equal(h.n, 640);
      assert.ok(Math.abs(w.loss - h.loss) <= 1e-5 * w.loss + 1e-6, `point ${j}: loss ${w.loss} against ${h.loss}`);
      // A prediction may flip only where two logits tie to rounding: at most one sample in 640.
      assert.ok(Math.abs(w.accuracy - h.accuracy) <= 1 / 640, `point ${j}: accuracy ${w.accuracy} against ${h.accuracy}`);
    });
    // The landscape is not flat: the comparison covers points of different loss.
    const losses = results.native!.map((r) => r.loss);
    assert.ok(Math.max(...losses) > 1.5 * Math.min(...losses));
  }
});

test('Bezier fits in the sparse and the dense subspace: native and wasm give the same control points and losses', { skip }, async () => {
  const masks = masksAt(0.1);
  const a = (await trainOn('native', initCheckpoint({ model, seed: 12, masks }), { steps: 100 })).checkpoint;
  const b = (await trainOn('native', initCheckpoint({ model, seed: 13, masks }), { steps: 100 })).checkpoint;
  for (const subspace of ['sparse', 'dense'] as const) {
    const fits: Record<string, Awaited<ReturnType<typeof fitCurve>>> = {};
    for (const backend of ['wasm', 'native']) {
      await selectBackend(backend);
      fits[backend] = await fitCurve(a, b, { dataset: data, steps: 200, batchSize: 64, learningRate: 0.05, momentum: 0.9, weightDecay: 5e-4, dataSeed: 1, tSeed: 2, degree: 3, subspace });
    }
    const [w, h] = [fits.wasm!, fits.native!];
    const lw = w.metrics.series!.loss!;
    const lh = h.metrics.series!.loss!;
    lw.forEach((v, i) => assert.ok(Math.abs(v - lh[i]!) <= 2e-4 * v + 1e-6, `${subspace} loss window ${i}: ${v} against ${lh[i]}`));
    for (let k = 1; k < 3; k++) {
      const d = maxRelativeDifference(w.curve.points[k]!, h.curve.points[k]!);
      assert.ok(d <= 2e-4, `${subspace} control point ${k} differs by ${d}`);
      assert.deepEqual(h.curve.points[k]!.masks, w.curve.points[k]!.masks);
      if (subspace === 'sparse') assertMaskedZero(h.curve.points[k]!);
    }
    // The control points moved off the line they started on: the fit did something to compare.
    const moved = maxRelativeDifference(h.curve.points[1]!, { ...a, tensors: a.tensors });
    assert.ok(moved > 1e-3);
  }
});
