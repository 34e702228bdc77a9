/**
 * Figures 2 and 3 of the reproduction: the loss along paths through weight space (lines and Bezier
 * curves), one panel per value of the facet axis (the sparsity), one line per path kind, the mean over
 * seeds with its min-max band.
 */
import type { GatheredValue } from '../../base/values.js';
import type { Landscape } from '../../base/values.js';
import { bottomLegend, FIGURE_CONFIG, logTicks } from './render.js';
import { aggregate, seriesName, type Aggregate, type Sample } from './series.js';

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
  return { spec: pathsLayout(rows, { title: opts.title, split: opts.split, facet: facetUsed ? opts.facet : undefined, axis }), data: { rows } };
}

export interface PathsLayoutOptions {
  readonly title: string;
  readonly split: 'train' | 'test';
  /** The axis the rows' `facet` holds, or undefined for one panel. */
  readonly facet: string | undefined;
  /** The landscapes' x axis: `alpha` (lines) or `t` (curves). */
  readonly axis: string;
}

/** Panels in one row, each this wide: four of them, their axis and gaps fit the report's column. */
const PANEL_WIDTH = 200;
const PANEL_HEIGHT = 220;
const PANELS_PER_ROW = 4;

/** The Vega-Lite spec of the figure from its rows (mean and band per series, facet and x; data inlined). */
export function pathsLayout(rows: readonly Aggregate[], opts: PathsLayoutOptions): Record<string, unknown> {
  const names = new Set(rows.map((r) => r.series));
  const longest = Math.max(...[...names].map((n) => n.length));
  // Legend under the panels: as many entries a row as fit the width the panels take.
  const columns = Math.max(1, Math.min(names.size, longest > 24 ? 3 : 4));
  const color = { field: 'series', type: 'nominal', title: null, legend: bottomLegend(columns) };
  const bandColor = { field: 'series', type: 'nominal' };
  const lo = rows.reduce((a, r) => Math.min(a, r.min, r.mean), Infinity);
  const hi = rows.reduce((a, r) => Math.max(a, r.max, r.mean), -Infinity);
  const layers = {
    layer: [
      { mark: { type: 'area', opacity: 0.18 }, encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'min', type: 'quantitative' }, y2: { field: 'max' }, color: bandColor } },
      {
        mark: { type: 'line' },
        encoding: {
          x: { field: 'x', type: 'quantitative', title: opts.axis === 'alpha' ? 'alpha' : 't', axis: { values: [0, 0.25, 0.5, 0.75, 1], format: '.2~f' } },
          y: { field: 'mean', type: 'quantitative', title: `${opts.split} loss`, scale: { type: 'log' }, axis: { values: logTicks(lo, hi), format: '~g' } },
          color,
          tooltip: [{ field: 'series' }, { field: 'x', format: '.3f' }, { field: 'mean', format: '.4f' }, { field: 'min', format: '.4f' }, { field: 'max', format: '.4f' }],
        },
      },
    ],
  };
  const facetName = opts.facet === 's' ? 'sparsity' : opts.facet;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    ...(opts.title ? { title: opts.title } : {}),
    config: FIGURE_CONFIG,
    data: { values: rows },
    ...(opts.facet !== undefined
      ? {
          // One header per panel, "sparsity 0.9", instead of a header title over a row of bare numbers
          // (the parentheses: vega-lite substitutes datum.label by a conditional without them).
          facet: { field: 'facet', type: 'ordinal', title: null, header: { labelExpr: `${JSON.stringify(`${facetName} `)} + (datum.label)`, labelFontWeight: 'bold' } },
          // At most four panels a row: more would not fit the report's column.
          columns: PANELS_PER_ROW,
          spacing: 16,
          spec: { width: PANEL_WIDTH, height: PANEL_HEIGHT, ...layers },
        }
      : { width: 2 * PANEL_WIDTH, height: PANEL_HEIGHT, ...layers }),
  };
}
