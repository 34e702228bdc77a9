/**
 * Shaping gathered results into the rows a figure draws: one series per legend label (and per sweep
 * coordinate that is neither the x axis, the facet nor the seed), with the mean and the min-max band
 * over seeds. Plain data, no tensor library.
 */
import type { Coordinates } from '../../base/values.js';

/** The sweep axis averaged over (and drawn as a band). */
export const SEED_AXIS = 'seed';

/** A point of one series before aggregation. */
export interface Sample {
  readonly series: string;
  readonly facet?: string | number;
  readonly x: number;
  readonly y: number;
}

/** The mean and spread of one (series, facet, x) over seeds. */
export interface Aggregate {
  readonly series: string;
  readonly facet?: string | number;
  readonly x: number;
  readonly mean: number;
  readonly min: number;
  readonly max: number;
  readonly n: number;
}

/** The legend name of a gathered value: its label, then the coordinates not used elsewhere. */
export function seriesName(label: string, coords: Coordinates, used: readonly string[]): string {
  const rest = Object.entries(coords).filter(([k]) => !used.includes(k) && k !== SEED_AXIS);
  return rest.length === 0 ? label : `${label} (${rest.map(([k, v]) => `${k}=${v}`).join(', ')})`;
}

/** Mean, min and max of the samples sharing series, facet and x, in first-seen order. */
export function aggregate(samples: readonly Sample[]): Aggregate[] {
  const groups = new Map<string, { s: Sample; ys: number[] }>();
  for (const s of samples) {
    const key = JSON.stringify([s.series, s.facet ?? null, s.x]);
    const g = groups.get(key);
    if (g) g.ys.push(s.y);
    else groups.set(key, { s, ys: [s.y] });
  }
  return [...groups.values()].map(({ s, ys }) => ({
    series: s.series,
    ...(s.facet === undefined ? {} : { facet: s.facet }),
    x: s.x,
    mean: ys.reduce((a, b) => a + b, 0) / ys.length,
    // Folds, not spreads: a long series would not fit in one call's arguments.
    min: ys.reduce((a, b) => Math.min(a, b), Infinity),
    max: ys.reduce((a, b) => Math.max(a, b), -Infinity),
    n: ys.length,
  }));
}
