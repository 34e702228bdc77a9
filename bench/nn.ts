/**
 * Training and evaluation throughput of LeNet-300-100 on MNIST on the active backend. Warm-up steps
 * (kernel compilation, memory growth) are excluded; each figure is the best of `repeats` timings,
 * since other work on a shared machine only ever slows a run down.
 */
import { loadDataset } from '../science/data/load.js';
import type { Dataset } from '../science/data/load.js';
import { hostKernels, selectBackend, type BackendInfo } from '../science/nn/backend.js';
import type { Masks } from '../science/nn/pruning.js';
import type { Checkpoint, ModelSpec } from '../base/values.js';
import { grid, lineCoefficients, bernstein } from '../science/nn/curves.js';
import { evaluate } from '../science/nn/evaluate.js';
import { evaluatePath } from '../science/nn/landscape.js';
import { buildNetwork } from '../science/nn/models/index.js';
import { denseMasks, initCheckpoint } from '../science/nn/init.js';
import { modelSpecFor } from '../science/nn/models/index.js';
import { train } from '../science/nn/train.js';

export interface BenchNumericsOptions {
  /** Backend to use; default: the best available (see selectBackend). */
  readonly backend?: string;
  /** Timed training steps per repeat (default 300) after `warmupSteps` (default 30). */
  readonly steps?: number;
  readonly warmupSteps?: number;
  /** Default 3. */
  readonly repeats?: number;
}

/** The backend the last benchNumerics ran on. */
export let benchBackend: BackendInfo | undefined;

/** Masks keeping a fixed random `1 - sparsity` of every weight matrix (seeded, the same every run). */
function randomMasks(model: ModelSpec, sparsity: number): Masks {
  const masks = denseMasks(model);
  let s = 12345;
  for (const m of Object.values(masks)) for (let k = 0; k < m.data.length; k++) m.data[k] = (s = (s * 48271) % 2147483647) / 2147483647 < 1 - sparsity ? 1 : 0;
  return masks;
}

/** Training samples/s from `start` through the real loop: best of `repeats` timings of `steps` steps after `warm`. */
async function trainingThroughput(ds: Dataset, start: Checkpoint, warm: number, steps: number, repeats: number): Promise<number> {
  const B = 128;
  let best = 0;
  for (let r = 0; r < repeats; r++) {
    let t0 = 0;
    let t1 = 0;
    await train(start, {
      dataset: ds,
      steps: warm + steps,
      batchSize: B,
      learningRate: 0.1,
      momentum: 0.9,
      weightDecay: 1e-4,
      dataSeed: r,
      progressEvery: warm,
      onProgress: (p) => {
        if (p.step === warm) t0 = performance.now();
        if (p.step === warm + steps) t1 = performance.now();
      },
    });
    best = Math.max(best, (steps * B) / ((t1 - t0) / 1000));
  }
  return best;
}

/**
 * The density below which the sparse format of a masked layer trains faster than the dense one: both
 * formats timed at densities 5%..50% (every layer masked), the crossover interpolated between the last
 * density where sparse wins and the first where it loses. Host kernels only.
 */
async function sparseCrossover(ds: Dataset, model: ModelSpec, steps: number): Promise<number> {
  const before = process.env.SPARSEGRAPH_SPARSE_BELOW;
  const ratios: [number, number][] = [];
  try {
    for (const density of [0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5]) {
      const start = initCheckpoint({ model, seed: 0, masks: randomMasks(model, 1 - density) });
      process.env.SPARSEGRAPH_SPARSE_BELOW = '1';
      const sparse = await trainingThroughput(ds, start, 10, steps, 2);
      process.env.SPARSEGRAPH_SPARSE_BELOW = '0';
      const dense = await trainingThroughput(ds, start, 10, steps, 2);
      ratios.push([density, sparse / dense]);
    }
  } finally {
    if (before === undefined) delete process.env.SPARSEGRAPH_SPARSE_BELOW;
    else process.env.SPARSEGRAPH_SPARSE_BELOW = before;
  }
  for (let i = 1; i < ratios.length; i++) {
    const [[d0, r0], [d1, r1]] = [ratios[i - 1]!, ratios[i]!];
    if (r0 >= 1 && r1 < 1) return Number((d0 + ((r0 - 1) / (r0 - r1)) * (d1 - d0)).toFixed(3));
  }
  return ratios[0]![1] < 1 ? 0 : 1;
}

export async function benchNumerics(opts: BenchNumericsOptions = {}): Promise<Record<string, number>> {
  benchBackend = await selectBackend(opts.backend);
  const ds = loadDataset({ name: 'mnist' });
  const model = modelSpecFor('lenet300', ds.sampleShape, ds.numClasses);
  const start = initCheckpoint({ model, seed: 0 });
  const warm = opts.warmupSteps ?? 30;
  const steps = opts.steps ?? 300;
  const repeats = opts.repeats ?? 3;
  const bestTrain = await trainingThroughput(ds, start, warm, steps, repeats);
  const masked: Record<string, number> = {};
  for (const s of [90, 98]) masked[`train.lenet300.b128.s${s}.samples_per_s`] = Math.round(await trainingThroughput(ds, initCheckpoint({ model, seed: 0, masks: randomMasks(model, s / 100) }), warm, steps, repeats));
  const crossover: Record<string, number> = hostKernels() ? { 'kernels.sparse_crossover_density': await sparseCrossover(ds, model, Math.max(50, Math.round(steps / 3))) } : {};
  evaluate(start, ds.test, { limit: 5000 });
  let bestEval = 0;
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    evaluate(start, ds.train);
    bestEval = Math.max(bestEval, ds.train.n / ((performance.now() - t0) / 1000));
  }
  // A 61-point path on the 60,000 training images against one evaluation there: the line between two
  // checkpoints, and a cubic Bezier curve (four basis points).
  const end = initCheckpoint({ model, seed: 1 });
  const mid = initCheckpoint({ model, seed: 2 });
  const net = buildNetwork(model);
  const ts = grid(0, 1, 61);
  let bestLine = Infinity;
  let bestCubic = Infinity;
  for (let r = 0; r < repeats; r++) {
    let t0 = performance.now();
    evaluatePath(net, [start, end], ts.map(lineCoefficients), ds.train);
    bestLine = Math.min(bestLine, performance.now() - t0);
    t0 = performance.now();
    evaluatePath(net, [start, mid, end, mid], ts.map((t) => bernstein(3, t)), ds.train);
    bestCubic = Math.min(bestCubic, performance.now() - t0);
  }
  const evalMs = (ds.train.n / bestEval) * 1000;
  return {
    'train.lenet300.b128.samples_per_s': Math.round(bestTrain),
    ...masked,
    ...crossover,
    'eval.lenet300.samples_per_s': Math.round(bestEval),
    'landscape.lenet300.points_per_eval': Number((bestLine / evalMs).toFixed(2)),
    'landscape.lenet300.cubic.points_per_eval': Number((bestCubic / evalMs).toFixed(2)),
  };
}

/** Name of the backend measured, for the report (`wasm`, `tensorflow`...). */
export function benchBackendName(): string {
  return benchBackend?.name ?? 'none';
}
