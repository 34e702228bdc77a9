/**
 * The paper's claims C1-C5 (docs/paper.md), judged on a run's gathered metrics. Each claim states
 * the criterion it applies, the numbers per sparsity (mean and min-max over seeds) and whether they
 * support it there; a claim is supported when it holds at every sparsity, partly when at some. The
 * criteria are fixed here and stated in the report; nothing in them depends on a run's outcome.
 *
 * The figure node that judges them (`plot: barrier-table`) gathers metrics under these labels:
 * `pruned`, `scratch`, `lottery` (evaluations of the solutions: test_accuracy, train_loss), `init-linear`
 * (the line from the sparse initialisation to the pruned solution), `linear` (scratch to pruned),
 * `lottery-linear` (lottery to pruned), `bezier` (curves from scratch to pruned, with `degree` and
 * `subspace` coordinates). Sparsity is the `s` coordinate, seeds the `seed` coordinate.
 */
import type { GatheredValue } from '../../base/values.js';
import type { Metrics } from '../../base/values.js';

export interface Spread {
  readonly mean: number;
  readonly min: number;
  readonly max: number;
  readonly n: number;
}

export interface ClaimAtSparsity {
  /** The sparsity (the `s` coordinate); undefined in a pipeline without a sparsity sweep. */
  readonly s: number | undefined;
  /** Named measurements at this sparsity. */
  readonly values: Readonly<Record<string, Spread>>;
  readonly holds: boolean;
  /** Why it holds or not, in words with the numbers. */
  readonly reason: string;
}

export type Verdict = 'supported' | 'partly supported' | 'not supported' | 'no data';

export interface ClaimResult {
  readonly id: 'C1' | 'C2' | 'C3' | 'C4' | 'C5';
  readonly claim: string;
  readonly criterion: string;
  readonly verdict: Verdict;
  readonly perSparsity: readonly ClaimAtSparsity[];
  /** Anything else the reader should know (a trend, a missing input). */
  readonly note?: string;
}

export interface SanityCheck {
  readonly check: string;
  readonly passed: boolean;
  readonly detail: string;
}

export interface BarrierRow {
  readonly s: number | undefined;
  readonly seed: number | undefined;
  /** Path name (label plus curve coordinates) to its training-loss barrier height. */
  readonly barriers: Readonly<Record<string, number>>;
}

export interface ClaimsReport {
  readonly claims: readonly ClaimResult[];
  readonly sanity: readonly SanityCheck[];
  readonly barriers: readonly BarrierRow[];
}

/** Rises between consecutive points smaller than this fraction of the line's total drop count as flat. */
export const MONOTONE_TOLERANCE = 1e-3;
/** C5: a dense curve's barrier "far smaller" than the sparse one's means below this fraction of it. */
export const FAR_SMALLER = 0.1;

const spread = (xs: readonly number[]): Spread =>
  xs.length === 0 ? { mean: NaN, min: NaN, max: NaN, n: 0 } : { mean: xs.reduce((a, b) => a + b, 0) / xs.length, min: xs.reduce((a, b) => Math.min(a, b), Infinity), max: xs.reduce((a, b) => Math.max(a, b), -Infinity), n: xs.length };

const fmt = (v: number, digits = 4): string => (Number.isFinite(v) ? v.toFixed(digits) : String(v));
export const showSpread = (s: Spread, digits = 4): string => (s.n > 1 ? `${fmt(s.mean, digits)} [${fmt(s.min, digits)}, ${fmt(s.max, digits)}]` : fmt(s.mean, digits));

const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);

export function curveName(g: GatheredValue<Metrics>): string {
  const d = g.coords['degree'];
  const sub = g.coords['subspace'];
  const shape = d === 2 ? 'quadratic' : d === 3 ? 'cubic' : d === undefined ? 'bezier' : `degree ${d}`;
  return sub === undefined ? shape : `${shape} ${sub}`;
}

function verdictOf(per: readonly ClaimAtSparsity[]): Verdict {
  if (per.length === 0) return 'no data';
  const held = per.filter((p) => p.holds).length;
  return held === per.length ? 'supported' : held === 0 ? 'not supported' : 'partly supported';
}

/** Judges the claims on gathered metrics (see the module comment for the labels). */
export function judgeClaims(gathered: readonly GatheredValue<Metrics>[]): ClaimsReport {
  const g = grouped(gathered);
  const claims = [claimC1(g), claimC2(g), claimC3(g), claimC4(g), claimC5(g)];
  return { claims, sanity: sanityChecks(g), barriers: barrierRows(gathered) };
}

type Item = GatheredValue<Metrics>;

/** The gathered metrics as the claims read them: by label and sparsity, and the Bezier curves. */
interface Groups {
  /** Sparsities present, ascending; a pipeline without a sparsity sweep has one group, `s` undefined. */
  readonly sparsities: readonly (number | undefined)[];
  /** The items of `label` at sparsity `s`. */
  readonly at: (label: string, s: number | undefined) => Item[];
  readonly curves: readonly Item[];
  /** The degrees of the curves, in the order first seen. */
  readonly degrees: readonly unknown[];
}

const sOf = (g: Item): number | undefined => num(g.coords['s']);

/** The values of `metric` among `items`, where they have one. */
const values = (items: readonly Item[], metric: string) => items.map((g) => g.value.values[metric]).filter((v): v is number => typeof v === 'number');

function grouped(gathered: readonly Item[]): Groups {
  const by = (label: string) => gathered.filter((g) => g.label === label);
  const curves = by('bezier');
  return {
    sparsities: [...new Set(gathered.map(sOf))].sort((a, b) => (a ?? 0) - (b ?? 0)),
    at: (label, s) => by(label).filter((g) => sOf(g) === s),
    curves,
    degrees: [...new Set(curves.map((g) => g.coords['degree']))],
  };
}

/** The curves at sparsity `s` in `subspace`. */
const curvesAt = (g: Groups, s: number | undefined, subspace: 'sparse' | 'dense') => g.curves.filter((c) => sOf(c) === s && c.coords['subspace'] === subspace);

/** The barrier heights of `items` (curves of one subspace) per degree, named as the report names the curves. */
function barriersByDegree(g: Groups, items: readonly Item[], subspace: 'sparse' | 'dense'): Record<string, Spread> {
  const v: Record<string, Spread> = {};
  for (const d of g.degrees) v[`${curveName({ label: 'bezier', coords: { degree: d as number, subspace }, value: { values: {} } })} barrier`] = spread(values(items.filter((c) => c.coords['degree'] === d), 'train_barrier_loss'));
  return v;
}

/** What each claim says and the criterion it is judged by, as the report states them. */
const STATEMENTS: Readonly<Record<ClaimResult['id'], { readonly claim: string; readonly criterion: string }>> = {
  C1: {
    claim: 'With the same mask, scratch and lottery training end with higher training loss and lower test accuracy than pruning, and the gap grows with sparsity.',
    criterion: 'At each sparsity, the mean over seeds of scratch and of lottery test accuracy is below pruning\'s and their final training loss above it. The growth of the gap is reported, not required.',
  },
  C2: {
    claim: 'On the straight line from the sparse initialisation to the pruned solution, the training loss decreases monotonically.',
    criterion: `For every seed, no rise between consecutive points of the line larger than ${MONOTONE_TOLERANCE} x the loss drop from one end to the other.`,
  },
  C3: {
    claim: 'On the straight line from the scratch solution to the pruned solution, the training loss rises above both ends (a barrier).',
    criterion: 'For every seed, barrier height (max training loss on the line minus the larger end point loss) above 0.',
  },
  C4: {
    claim: 'Quadratic and cubic Bezier curves between scratch and pruned solutions with control points on the mask still have a barrier.',
    criterion: 'For every seed and degree, the fitted sparse-subspace curve\'s barrier height is above 0.',
  },
  C5: {
    claim: 'With control points that may use all weights, the fitted curves lose the barrier, or keep a far smaller one than the sparse curves, consistently across seeds.',
    criterion: `For every seed and degree, the dense-subspace curve\'s barrier height is at most 0, or below ${FAR_SMALLER} x the sparse curve\'s of the same seed and degree.`,
  },
};

/** A claim's result from its judgement at each sparsity. */
function judged(id: ClaimResult['id'], perSparsity: readonly ClaimAtSparsity[], note?: string): ClaimResult {
  return { id, ...STATEMENTS[id], verdict: verdictOf(perSparsity), perSparsity, ...(note === undefined ? {} : { note }) };
}

/** C1: the same mask trained from scratch or from the lottery initialisation ends worse than pruning. */
function claimC1(g: Groups): ClaimResult {
  const per = g.sparsities.flatMap((s): ClaimAtSparsity[] => {
    const v: Record<string, Spread> = {};
    for (const m of ['pruned', 'scratch', 'lottery']) {
      v[`${m} test accuracy`] = spread(values(g.at(m, s), 'test_accuracy'));
      v[`${m} train loss`] = spread(values(g.at(m, s), 'train_loss'));
    }
    if (v['pruned test accuracy']!.n === 0 || (v['scratch test accuracy']!.n === 0 && v['lottery test accuracy']!.n === 0)) return [];
    const worse = (m: string) =>
      v[`${m} test accuracy`]!.n === 0 || (v[`${m} test accuracy`]!.mean < v['pruned test accuracy']!.mean && v[`${m} train loss`]!.mean > v['pruned train loss']!.mean);
    const holds = worse('scratch') && worse('lottery');
    const gap = (m: string) => `${m} ${fmt(100 * (v['pruned test accuracy']!.mean - v[`${m} test accuracy`]!.mean), 2)} points below pruned, train loss ${fmt(v[`${m} train loss`]!.mean)} vs ${fmt(v['pruned train loss']!.mean)}`;
    return [{ s, values: v, holds, reason: `${gap('scratch')}; ${gap('lottery')}` }];
  });
  const gaps = per.map((p) => p.values['pruned test accuracy']!.mean - Math.max(p.values['scratch test accuracy']!.mean, p.values['lottery test accuracy']!.mean || -Infinity));
  const grows = gaps.length > 1 && gaps.every((x, i) => i === 0 || x >= gaps[i - 1]!);
  const trend = `gap between pruning and the better of scratch and lottery (test accuracy): ${gaps.map((x) => `${fmt(100 * x, 2)}`).join(', ')} points at sparsities ${per.map((p) => p.s).join(', ')}: ${grows ? 'grows' : 'does not grow'} with sparsity`;
  return judged('C1', per, gaps.length > 1 ? trend : undefined);
}

/** C2: the line from the sparse initialisation to the pruned solution decreases monotonically. */
function claimC2(g: Groups): ClaimResult {
  const per = g.sparsities.flatMap((s): ClaimAtSparsity[] => {
    const items = g.at('init-linear', s);
    if (items.length === 0) return [];
    const flatEnough = items.map((x) => {
      const drop = (x.value.values['train_loss_start'] ?? NaN) - (x.value.values['train_loss_end'] ?? NaN);
      return (x.value.values['train_max_rise'] ?? Infinity) <= MONOTONE_TOLERANCE * Math.abs(drop);
    });
    const holds = flatEnough.every(Boolean);
    const v = { 'largest rise': spread(values(items, 'train_max_rise')), 'barrier height': spread(values(items, 'train_barrier_loss')) };
    return [{ s, values: v, holds, reason: `${flatEnough.filter(Boolean).length} of ${items.length} seeds monotone; largest rise ${showSpread(v['largest rise'])}` }];
  });
  return judged('C2', per);
}

/** C3: the line from scratch to pruned rises above both ends. */
function claimC3(g: Groups): ClaimResult {
  const per = g.sparsities.flatMap((s): ClaimAtSparsity[] => {
    const b = values(g.at('linear', s), 'train_barrier_loss');
    if (b.length === 0) return [];
    return [{ s, values: { 'barrier height': spread(b) }, holds: b.every((x) => x > 0), reason: `barrier ${showSpread(spread(b))} (${b.filter((x) => x > 0).length} of ${b.length} seeds above 0)` }];
  });
  return judged('C3', per);
}

/** C4: Bezier curves in the sparse subspace still have a barrier. */
function claimC4(g: Groups): ClaimResult {
  const per = g.sparsities.flatMap((s): ClaimAtSparsity[] => {
    const items = curvesAt(g, s, 'sparse');
    if (items.length === 0) return [];
    const b = values(items, 'train_barrier_loss');
    return [{ s, values: barriersByDegree(g, items, 'sparse'), holds: b.every((x) => x > 0), reason: `${b.filter((x) => x > 0).length} of ${b.length} sparse curves keep a barrier above 0` }];
  });
  return judged('C4', per);
}

/** C5: with dense control points the barrier disappears, or stays far below the sparse curve's. */
function claimC5(g: Groups): ClaimResult {
  const per = g.sparsities.flatMap((s): ClaimAtSparsity[] => {
    const dense = curvesAt(g, s, 'dense');
    if (dense.length === 0) return [];
    const ok = dense.map((d) => {
      const b = d.value.values['train_barrier_loss'] ?? NaN;
      const twin = g.curves.find((c) => c.coords['subspace'] === 'sparse' && sOf(c) === s && c.coords['degree'] === d.coords['degree'] && c.coords['seed'] === d.coords['seed']);
      const sparseB = twin?.value.values['train_barrier_loss'];
      return b <= 0 || (sparseB !== undefined && sparseB > 0 && b < FAR_SMALLER * sparseB);
    });
    return [{ s, values: barriersByDegree(g, dense, 'dense'), holds: ok.every(Boolean), reason: `${ok.filter(Boolean).length} of ${ok.length} dense curves without a barrier or below ${FAR_SMALLER} x the sparse curve's` }];
  });
  return judged('C5', per);
}

/** Checks of the inputs themselves: curves reproduce their ends, dense control points leave the mask. */
function sanityChecks(g: Groups): SanityCheck[] {
  const sanity: SanityCheck[] = [];
  const ends = g.curves.map((c) => {
    const scratch = g.at('scratch', sOf(c)).find((x) => x.coords['seed'] === c.coords['seed']);
    const pruned = g.at('pruned', sOf(c)).find((x) => x.coords['seed'] === c.coords['seed']);
    return scratch && pruned ? c.value.values['train_loss_start'] === scratch.value.values['train_loss'] && c.value.values['train_loss_end'] === pruned.value.values['train_loss'] : undefined;
  });
  const compared = ends.filter((e) => e !== undefined);
  if (compared.length > 0) {
    sanity.push({
      check: 'Every curve reproduces its end points\' training losses exactly at t=0 and t=1',
      passed: compared.every(Boolean),
      detail: `${compared.filter(Boolean).length} of ${compared.length} curves`,
    });
  }
  const dense = g.curves.filter((c) => c.coords['subspace'] === 'dense');
  if (dense.length > 0) {
    const off = values(dense, 'offmask_mass_fraction');
    sanity.push({ check: 'Off-mask entries of dense control points move away from zero', passed: off.every((x) => x > 0), detail: `share of control-point L1 mass off the mask ${showSpread(spread(off))}` });
  }
  return sanity;
}

/** Every path's training-loss barrier, one row per sparsity and seed, ordered by both. */
function barrierRows(gathered: readonly Item[]): BarrierRow[] {
  const pathItems = gathered.filter((g) => ['linear', 'lottery-linear', 'init-linear', 'bezier'].includes(g.label));
  const rows = new Map<string, { s: number | undefined; seed: number | undefined; barriers: Record<string, number> }>();
  for (const g of pathItems) {
    const s = num(g.coords['s']);
    const seed = num(g.coords['seed']);
    const key = JSON.stringify([s ?? null, seed ?? null]);
    const row = rows.get(key) ?? { s, seed, barriers: {} };
    rows.set(key, row);
    const b = g.value.values['train_barrier_loss'];
    if (b !== undefined) row.barriers[g.label === 'bezier' ? curveName(g) : g.label] = b;
  }
  return [...rows.values()].sort((a, b) => (a.s ?? 0) - (b.s ?? 0) || (a.seed ?? 0) - (b.seed ?? 0));
}
