/**
 * Training and evaluation throughput of LeNet-300-100 on MNIST on the active backend. Warm-up steps
 * (kernel compilation, memory growth) are excluded; each figure is the best of `repeats` timings,
 * since other work on a shared machine only ever slows a run down.
 */
import { loadDataset } from '../science/data/load.js';
import { selectBackend, type BackendInfo } from '../science/nn/backend.js';
import { grid, lineCoefficients, bernstein } from '../science/nn/curves.js';
import { evaluate } from '../science/nn/evaluate.js';
import { evaluatePath } from '../science/nn/landscape.js';
import { buildNetwork } from '../science/nn/models/index.js';
import { initCheckpoint } from '../science/nn/init.js';
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

export async function benchNumerics(opts: BenchNumericsOptions = {}): Promise<Record<string, number>> {
  benchBackend = await selectBackend(opts.backend);
  const ds = loadDataset({ name: 'mnist' });
  const model = modelSpecFor('lenet300', ds.sampleShape, ds.numClasses);
  const start = initCheckpoint({ model, seed: 0 });
  const B = 128;
  const warm = opts.warmupSteps ?? 30;
  const steps = opts.steps ?? 300;
  const repeats = opts.repeats ?? 3;
  let bestTrain = 0;
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
    bestTrain = Math.max(bestTrain, (steps * B) / ((t1 - t0) / 1000));
  }
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
    'eval.lenet300.samples_per_s': Math.round(bestEval),
    'landscape.lenet300.points_per_eval': Number((bestLine / evalMs).toFixed(2)),
    'landscape.lenet300.cubic.points_per_eval': Number((bestCubic / evalMs).toFixed(2)),
  };
}

/** Name of the backend measured, for the report (`wasm`, `tensorflow`...). */
export function benchBackendName(): string {
  return benchBackend?.name ?? 'none';
}
