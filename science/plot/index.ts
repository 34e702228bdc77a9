/** The figures a `figure` node can draw, by name; each builds a Vega-Lite spec from gathered results. */
import type { GatheredValue } from '../../base/values.js';
import type { Landscape, Metrics } from '../../base/values.js';
import { barrierTableSpec } from './barrier-table.js';
import { pathsSpec } from './paths.js';
import { sparsitySweepSpec } from './sparsity-sweep.js';

export const PLOT_DOCS = {
  'sparsity-sweep': 'test accuracy and final training loss against sparsity per method (gathered Metrics), mean and min-max band over seeds',
  paths: 'loss along gathered landscapes (lines, curves), one panel per sparsity, mean and band over seeds',
  'barrier-table': 'barrier heights per sparsity and seed and the verdict on each claim C1-C5 (gathered Metrics of paths and solutions)',
} as const;
export type PlotName = keyof typeof PLOT_DOCS;

export interface PlotOptions {
  readonly title: string;
  readonly split: 'train' | 'test';
  /** sparsity-sweep: the x axis; paths: the facet axis. */
  readonly x: string;
}

const isLandscape = (v: Landscape | Metrics): v is Landscape => 'points' in v;

/** The spec and data of a named plot; throws with a message naming what the inputs lack. */
export function plotSpec(plot: PlotName, series: readonly GatheredValue<Landscape | Metrics>[], opts: PlotOptions): { spec: Record<string, unknown>; data: unknown } {
  const landscapes = series.filter((g): g is GatheredValue<Landscape> => isLandscape(g.value));
  const metrics = series.filter((g): g is GatheredValue<Metrics> => !isLandscape(g.value));
  switch (plot) {
    case 'sparsity-sweep':
      return sparsitySweepSpec(metrics, { title: opts.title, x: opts.x || 's', split: opts.split });
    case 'paths':
      return pathsSpec(landscapes, { title: opts.title, split: opts.split, facet: opts.x || 's' });
    case 'barrier-table':
      return barrierTableSpec(metrics, { title: opts.title });
  }
}
