/**
 * Dynamic sparse training as a step hook of the one training loop: every `delta` steps until
 * `endFraction` of training, each layer drops the fraction f(t) of its active weights with the smallest
 * magnitude and regrows as many inactive connections: by the largest dense gradient (RigL, Evci et al.
 * 2020) or at random (SET, Mocanu et al. 2018). f(t) = f0/2 * (1 + cos(pi t / t_end)) (cosine
 * annealing). Each layer's number of active weights never changes; regrown connections start at zero,
 * with zero momentum, including those dropped and regrown in the same update.
 */
import { Rng } from '../data/random.js';
import type { HostTensor } from '../../base/values.js';
import type { Masks, Weights } from './pruning.js';
import type { StepContext } from './train.js';

export interface DynamicSparseOptions {
  readonly method: 'set' | 'rigl';
  /** Update the masks every this many steps (RigL's delta T, default 100). */
  readonly delta: number;
  /** Initial drop fraction f0 (default 0.3). */
  readonly dropFraction: number;
  /** Stop updating at this fraction of training (default 0.75). */
  readonly endFraction: number;
  /** Seed of SET's random regrowth. */
  readonly seed: number;
  /** Tensors whose masks change; the others stay fixed. */
  readonly names: readonly string[];
}

/** f(t) of the cosine-annealed drop fraction, for updates before t_end = endFraction * total. */
export function dropFractionAt(step: number, totalSteps: number, opts: Pick<DynamicSparseOptions, 'dropFraction' | 'endFraction'>): number {
  const end = opts.endFraction * totalSteps;
  if (step >= end) return 0;
  return (opts.dropFraction / 2) * (1 + Math.cos((Math.PI * step) / end));
}

export const isUpdateStep = (step: number, totalSteps: number, opts: Pick<DynamicSparseOptions, 'delta' | 'endFraction'>): boolean =>
  step > 0 && step % opts.delta === 0 && step < opts.endFraction * totalSteps;

/** Indices of the `k` entries with the largest `score` among `candidates` (ties to the lower index). */
function topK(score: (i: number) => number, candidates: Int32Array, k: number): Int32Array {
  const order = Array.from(candidates);
  order.sort((a, b) => score(b) - score(a) || a - b);
  return Int32Array.from(order.slice(0, k));
}

export interface Rewiring {
  /** Masks without the dropped connections. */
  readonly afterDrop: Masks;
  /** Masks with the regrown ones: as many active entries per layer as before. */
  readonly final: Masks;
  /** Connections moved per layer. */
  readonly moved: Record<string, number>;
}

/**
 * One drop-and-grow update. `gradients` (dense, checkpoint layout) are needed for RigL. Connections
 * dropped now may be regrown at once (RigL's rule), and then restart from zero.
 */
export function rewire(
  weights: Weights,
  masks: Readonly<Masks>,
  fraction: number,
  opts: Pick<DynamicSparseOptions, 'method' | 'seed' | 'names'>,
  step: number,
  gradients?: Weights,
): Rewiring {
  const afterDrop: Masks = { ...masks };
  const final: Masks = { ...masks };
  const moved: Record<string, number> = {};
  for (const name of opts.names) {
    const m = masks[name];
    const w = weights[name];
    if (!m || !w) throw new Error(`cannot rewire ${name}: no weight or mask`);
    const active: number[] = [];
    for (let i = 0; i < m.data.length; i++) if (m.data[i]) active.push(i);
    const k = Math.min(Math.round(fraction * active.length), active.length);
    const dropped = topK((i) => -Math.abs(w.data[i]!), Int32Array.from(active), k);
    const drop = m.data.slice();
    for (const i of dropped) drop[i] = 0;
    const inactive: number[] = [];
    for (let i = 0; i < drop.length; i++) if (!drop[i]) inactive.push(i);
    let grown: Int32Array;
    if (opts.method === 'rigl') {
      const g = gradients?.[name];
      if (!g) throw new Error(`RigL needs the dense gradient of ${name}`);
      grown = topK((i) => Math.abs(g.data[i]!), Int32Array.from(inactive), dropped.length);
    } else {
      // SET: a uniformly random subset of the inactive connections (partial Fisher-Yates).
      const rng = new Rng(opts.seed, 'set', step, name);
      const pool = Int32Array.from(inactive);
      for (let j = 0; j < dropped.length; j++) {
        const r = j + rng.int(pool.length - j);
        const t = pool[j]!;
        pool[j] = pool[r]!;
        pool[r] = t;
      }
      grown = pool.slice(0, dropped.length);
    }
    const grow = drop.slice();
    for (const i of grown) grow[i] = 1;
    const tensor = (data: Uint8Array): HostTensor<'uint8'> => ({ dtype: 'uint8', shape: [...m.shape], data });
    afterDrop[name] = tensor(drop);
    final[name] = tensor(grow);
    moved[name] = dropped.length;
  }
  return { afterDrop, final, moved };
}

/** The step hook that applies the updates during `train`, counting what it moved. */
export function dynamicSparseHook(opts: DynamicSparseOptions): { onStep: (ctx: StepContext) => void; updates: { step: number; fraction: number; moved: number }[] } {
  const updates: { step: number; fraction: number; moved: number }[] = [];
  const onStep = (ctx: StepContext): void => {
    if (!isUpdateStep(ctx.step, ctx.totalSteps, opts)) return;
    const fraction = dropFractionAt(ctx.step, ctx.totalSteps, opts);
    const gradients = opts.method === 'rigl' ? ctx.denseGradients() : undefined;
    const r = rewire(ctx.weights(), ctx.masks(), fraction, opts, ctx.step, gradients);
    // Dropping first zeroes the dropped weights and their momentum, so regrown ones start at zero.
    ctx.setMasks(r.afterDrop);
    ctx.setMasks(r.final);
    updates.push({ step: ctx.step, fraction, moved: Object.values(r.moved).reduce((a, b) => a + b, 0) });
  };
  return { onStep, updates };
}
