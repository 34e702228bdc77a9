/**
 * Magnitude pruning on the host, in checkpoint layout: masks that remove the smallest-magnitude weights,
 * layer by layer (every layer reaches the sparsity, to the weight) or with one threshold across layers
 * (open_lth's `sparse_global`), and the gradual schedule of Zhu & Gupta (2017):
 *
 *   s_t = s_f + (s_i - s_f) * (1 - (t - t0) / (t_end - t0))^3   for t0 <= t <= t_end,
 *
 * applied every `frequency` steps. A weight already pruned counts as smaller than any kept one, so masks
 * only ever lose entries, and ties between equal magnitudes go to the lower index: the same weights give
 * the same mask on every backend.
 */
import type { HostTensor } from '../../base/values.js';

export type Masks = Record<string, HostTensor<'uint8'>>;
export type Weights = Readonly<Record<string, HostTensor<'float32'>>>;

/** The gradual schedule's parameters, in the paper's notation. */
export interface GradualSchedule {
  /** s_i: sparsity at t0. */
  readonly initialSparsity: number;
  /** s_f: sparsity from t_end on. */
  readonly finalSparsity: number;
  /** t0 and t_end, in completed steps. */
  readonly beginStep: number;
  readonly endStep: number;
  /** Prune every k steps from t0. */
  readonly frequency: number;
}

/** s_t of the cubic schedule (0 before t0: nothing is pruned before pruning begins). */
export function scheduledSparsity(step: number, s: GradualSchedule): number {
  if (step < s.beginStep) return 0;
  if (step >= s.endStep || s.endStep === s.beginStep) return s.finalSparsity;
  const progress = (step - s.beginStep) / (s.endStep - s.beginStep);
  return s.finalSparsity + (s.initialSparsity - s.finalSparsity) * (1 - progress) ** 3;
}

/**
 * Whether masks are recomputed after completed step `step`: t0, t0 + k, ... up to t_end, and t_end
 * itself even when k does not divide t_end - t0, so that s_f is always reached.
 */
export function isPruningStep(step: number, s: GradualSchedule): boolean {
  if (step < s.beginStep || step > s.endStep) return false;
  return (step - s.beginStep) % s.frequency === 0 || step === s.endStep;
}

/** Every step at which the schedule prunes, with the sparsity it sets (for metrics and checks). */
export function pruningSteps(s: GradualSchedule, totalSteps: number): { step: number; sparsity: number }[] {
  const out: { step: number; sparsity: number }[] = [];
  for (let t = s.beginStep; t <= Math.min(s.endStep, totalSteps); t++) if (isPruningStep(t, s)) out.push({ step: t, sparsity: scheduledSparsity(t, s) });
  return out;
}

export interface MagnitudeOptions {
  /** Target fraction of zeros in each pruned tensor (layerwise) or across them (global). */
  readonly sparsity: number;
  readonly scope: 'layerwise' | 'global';
  /** The tensors to prune; the others keep their masks. */
  readonly names: readonly string[];
}

/** How many entries a mask already removes. */
const maskedCount = (mask: HostTensor<'uint8'> | undefined): number => (mask ? mask.data.reduce((a, v) => a + (v === 0 ? 1 : 0), 0) : 0);

/** |w| with already-masked entries at -1, so they are pruned first and stay pruned. */
function scores(w: HostTensor<'float32'>, mask: HostTensor<'uint8'> | undefined): Float32Array {
  const out = new Float32Array(w.data.length);
  for (let i = 0; i < out.length; i++) out[i] = mask && mask.data[i] === 0 ? -1 : Math.abs(w.data[i]!);
  return out;
}

/**
 * Marks the `k` smallest scores (ties to the lower position in `order`) in `pruned`. Exactly k entries
 * are marked, whatever the ties.
 */
function markSmallest(all: Float32Array, k: number, pruned: Uint8Array): void {
  if (k <= 0) return;
  if (k >= all.length) {
    pruned.fill(1);
    return;
  }
  const sorted = all.slice().sort();
  const threshold = sorted[k - 1]!;
  let below = 0;
  for (let i = 0; i < all.length; i++) if (all[i]! < threshold) below++;
  let ties = k - below;
  for (let i = 0; i < all.length; i++) {
    const v = all[i]!;
    if (v < threshold) pruned[i] = 1;
    else if (v === threshold && ties > 0) {
      pruned[i] = 1;
      ties--;
    }
  }
}

/** The number of entries to prune for a sparsity: the nearest integer, so each layer is exact to one weight. */
export const prunedCount = (sparsity: number, n: number): number => Math.min(n, Math.max(0, Math.round(sparsity * n)));

/** Masks after magnitude pruning of `weights` (checkpoint layout) to `opts.sparsity`. */
export function magnitudeMasks(weights: Weights, current: Readonly<Masks>, opts: MagnitudeOptions): Masks {
  const next: Masks = {};
  for (const [name, m] of Object.entries(current)) next[name] = { dtype: 'uint8', shape: [...m.shape], data: m.data.slice() };
  const tensor = (name: string): HostTensor<'float32'> => {
    const w = weights[name];
    if (!w) throw new Error(`cannot prune ${name}: no such weight`);
    return w;
  };
  const write = (name: string, pruned: Uint8Array, offset: number, n: number): void => {
    const data = new Uint8Array(n);
    for (let i = 0; i < n; i++) data[i] = pruned[offset + i] ? 0 : 1;
    next[name] = { dtype: 'uint8', shape: [...tensor(name).shape], data };
  };
  if (opts.scope === 'layerwise') {
    for (const name of opts.names) {
      const s = scores(tensor(name), current[name]);
      const pruned = new Uint8Array(s.length);
      // A target below the mask's current sparsity prunes nothing more and revives nothing.
      markSmallest(s, Math.max(prunedCount(opts.sparsity, s.length), maskedCount(current[name])), pruned);
      write(name, pruned, 0, s.length);
    }
    return next;
  }
  const sizes = opts.names.map((n) => tensor(n).data.length);
  const all = new Float32Array(sizes.reduce((a, b) => a + b, 0));
  let offset = 0;
  opts.names.forEach((name, i) => {
    all.set(scores(tensor(name), current[name]), offset);
    offset += sizes[i]!;
  });
  const pruned = new Uint8Array(all.length);
  const already = opts.names.reduce((a, n) => a + maskedCount(current[n]), 0);
  markSmallest(all, Math.max(prunedCount(opts.sparsity, all.length), already), pruned);
  offset = 0;
  opts.names.forEach((name, i) => {
    write(name, pruned, offset, sizes[i]!);
    offset += sizes[i]!;
  });
  return next;
}

/** Fraction of zeros of each named tensor, and over all of them together (missing names are skipped). */
export function zeroFractions(tensors: Readonly<Record<string, { readonly data: ArrayLike<number> }>>, names: readonly string[]): { perTensor: Record<string, number>; overall: number } {
  const perTensor: Record<string, number> = {};
  let zeros = 0;
  let total = 0;
  for (const name of names) {
    const t = tensors[name];
    if (!t) continue;
    let z = 0;
    for (let i = 0; i < t.data.length; i++) if (t.data[i] === 0) z++;
    perTensor[name] = t.data.length ? z / t.data.length : 0;
    zeros += z;
    total += t.data.length;
  }
  return { perTensor, overall: total ? zeros / total : 0 };
}

/** Fraction of zeros of each mask, and over all of them together. */
export const maskSparsity = (masks: Readonly<Masks>) => zeroFractions(masks, Object.keys(masks));

/** Fraction of exact zeros in each weight (what a checkpoint's sparsity really is, masks aside). */
export const weightSparsity = (weights: Weights, names: readonly string[]) => zeroFractions(weights, names);

/** Weights times masks, with every masked entry exactly +0 (never -0); unmasked tensors as they are. */
export function applyMasks(
  tensors: Readonly<Record<string, HostTensor<'float32'>>>,
  masks: Readonly<Record<string, HostTensor<'uint8'>>>,
): Record<string, HostTensor<'float32'>> {
  const out: Record<string, HostTensor<'float32'>> = {};
  for (const [name, t] of Object.entries(tensors)) {
    const m = masks[name];
    if (!m) {
      out[name] = t;
      continue;
    }
    if (m.data.length !== t.data.length) throw new Error(`mask for ${name} has ${m.data.length} entries, the weight ${t.data.length}`);
    const data = new Float32Array(t.data.length);
    for (let i = 0; i < data.length; i++) data[i] = m.data[i] ? t.data[i]! : 0;
    out[name] = { dtype: 'float32', shape: [...t.shape], data };
  }
  return out;
}
