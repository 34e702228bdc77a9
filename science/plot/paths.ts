/**
 * Figures 2 and 3 of the reproduction: the loss along paths through weight space (lines and Bezier
 * curves), one panel per value of the facet axis (the sparsity), one line per path kind, the mean over
 * seeds with its min-max band.
 */
import type { GatheredValue } from '../../base/values.js';
import type { Landscape } from '../../base/values.js';
import { FIGURE_CONFIG } from './render.js';
import { aggregate, seriesName, type Sample } from './series.js';

export interface PathsOptions {
  readonly title: string;
  /** The split whose loss is drawn. */
  readonly split: 'train' | 'test';
  /** The sweep axis giving one panel per value (default `s` when the paths have it). */
  readonly facet: string;
}

export function pathsSpec(series: readonly GatheredValue<Landscape>[], opts: PathsOptions): { spec: Record<string, unknown>; data: unknown } {
  const facetUsed = series.some((g) => g.coords[opts.facet] !== undefined);
  const samples: Sample[] = [];
  let axis = 't';
  for (const g of series) {
    axis = g.value.axis;
    const name = seriesName(g.label, g.coords, facetUsed ? [opts.facet] : []);
    const facet = facetUsed ? g.coords[opts.facet] : undefined;
    for (const p of g.value.points) {
      if (p.split !== opts.split || !Number.isFinite(p.loss)) continue;
      samples.push({ series: name, ...(facet === undefined ? {} : { facet: typeof facet === 'boolean' ? String(facet) : facet }), x: p.x, y: p.loss });
    }
  }
  if (samples.length === 0) throw new Error(`paths: the gathered landscapes have no ${opts.split} points`);
  const rows = aggregate(samples);
  const color = { field: 'series', type: 'nominal', title: null };
  const bandColor = color;
  const layers = {
    layer: [
      { mark: { type: 'area', opacity: 0.18 }, encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'min', type: 'quantitative' }, y2: { field: 'max' }, color: bandColor } },
      {
        mark: { type: 'line' },
        encoding: {
          x: { field: 'x', type: 'quantitative', title: axis === 'alpha' ? 'alpha' : 't' },
          y: { field: 'mean', type: 'quantitative', title: `${opts.split} loss`, scale: { type: 'log' } },
          color,
          tooltip: [{ field: 'series' }, { field: 'x', format: '.3f' }, { field: 'mean', format: '.4f' }, { field: 'min', format: '.4f' }, { field: 'max', format: '.4f' }],
        },
      },
    ],
  };
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    ...(opts.title ? { title: opts.title } : {}),
    config: FIGURE_CONFIG,
    data: { values: rows },
    ...(facetUsed
      ? { facet: { column: { field: 'facet', type: 'ordinal', title: opts.facet === 's' ? 'sparsity' : opts.facet } }, spec: { width: 220, height: 200, ...layers } }
      : { width: 420, height: 280, ...layers }),
  };
  return { spec, data: { rows } };
}
