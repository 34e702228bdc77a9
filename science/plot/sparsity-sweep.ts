/**
 * Figure 1 of the reproduction: test accuracy and final training loss against sparsity, one line per
 * method (dense, pruned, scratch, lottery...), the mean over seeds with its min-max band. A method without
 * the x coordinate (the dense baseline) is drawn as a horizontal line with its band across the panel.
 */
import type { GatheredValue } from '../../base/values.js';
import type { Metrics } from '../../base/values.js';
import { FIGURE_CONFIG, panelTitle } from './render.js';
import { aggregate, seriesName, type Aggregate, type Sample } from './series.js';

export interface SweepOptions {
  readonly title: string;
  /** The sweep axis on x (e.g. `s`). */
  readonly x: string;
  /** The split whose loss is drawn. */
  readonly split: 'train' | 'test';
}

/** The two panels' metrics: the first is drawn on the left. */
const PANELS = (split: string) => [
  { metric: 'test_accuracy', title: 'test accuracy' },
  { metric: `${split}_loss`, title: `${split} loss (final weights)` },
];

export function sparsitySweepSpec(series: readonly GatheredValue<Metrics>[], opts: SweepOptions): { spec: Record<string, unknown>; data: unknown } {
  const panels = PANELS(opts.split);
  const samples: (Sample & { metric: string })[] = [];
  const baselines: (Sample & { metric: string })[] = [];
  for (const g of series) {
    const name = seriesName(g.label, g.coords, [opts.x]);
    const x = g.coords[opts.x];
    for (const { metric } of panels) {
      const y = g.value.values[metric];
      if (y === undefined || !Number.isFinite(y)) continue;
      if (typeof x === 'number') samples.push({ series: name, x, y, metric });
      else baselines.push({ series: name, x: 0, y, metric });
    }
  }
  const rows = panels.flatMap(({ metric }) => aggregate(samples.filter((s) => s.metric === metric)).map((a) => ({ ...a, metric })));
  const flat = panels.flatMap(({ metric }) => aggregate(baselines.filter((s) => s.metric === metric)).map((a) => ({ ...a, metric })));
  if (rows.length === 0) throw new Error(`sparsity-sweep: no gathered metrics have the x coordinate '${opts.x}' and ${panels.map((p) => p.metric).join(' / ')}`);
  return { spec: sparsitySweepLayout({ rows, baselines: flat }, opts), data: { rows, baselines: flat } };
}

/** What the figure draws: per metric, the mean and band of each method, and the baselines without x. */
export interface SweepRows {
  readonly rows: readonly (Aggregate & { metric: string })[];
  readonly baselines: readonly (Aggregate & { metric: string })[];
}

/** The Vega-Lite spec of the figure from its rows (data inlined). */
export function sparsitySweepLayout({ rows, baselines: flat }: SweepRows, opts: SweepOptions): Record<string, unknown> {
  const panels = PANELS(opts.split);
  const color = { field: 'series', type: 'nominal', title: null };
  // A whole-number axis (repeat levels) is labelled at its levels: 1, 2, 3, not 1.2, 1.4, ...
  const xs = [...new Set(rows.map((r) => r.x))].sort((a, b) => a - b);
  const xAxis = xs.length > 0 && xs.every(Number.isInteger) ? { axis: { values: xs, format: '.0f', labelOverlap: false } } : {};
  const bandColor = color;
  const panel = ({ metric, title }: { metric: string; title: string }) => ({
    width: 300,
    height: 240,
    title: panelTitle(title),
    layer: [
      ...(flat.some((r) => r.metric === metric)
        ? [
            { data: { values: flat.filter((r) => r.metric === metric) }, mark: { type: 'rect', opacity: 0.12 }, encoding: { y: { field: 'min', type: 'quantitative' }, y2: { field: 'max' }, color: bandColor } },
            { data: { values: flat.filter((r) => r.metric === metric) }, mark: { type: 'rule', strokeDash: [4, 3] }, encoding: { y: { field: 'mean', type: 'quantitative' }, color } },
          ]
        : []),
      {
        data: { values: rows.filter((r) => r.metric === metric) },
        layer: [
          { mark: { type: 'area', opacity: 0.18 }, encoding: { x: { field: 'x', type: 'quantitative', ...xAxis }, y: { field: 'min', type: 'quantitative' }, y2: { field: 'max' }, color: bandColor } },
          {
            mark: { type: 'line', point: true },
            encoding: {
              x: { field: 'x', type: 'quantitative', title: opts.x === 's' ? 'sparsity' : opts.x, scale: { zero: false }, ...xAxis },
              // Flush labels: the top one would stick up into the panel's title, higher on one panel than another.
              y: { field: 'mean', type: 'quantitative', title: title, scale: { zero: false }, axis: { labelFlush: true } },
              color,
              tooltip: [{ field: 'series' }, { field: 'x' }, { field: 'mean', format: '.4f' }, { field: 'min', format: '.4f' }, { field: 'max', format: '.4f' }, { field: 'n' }],
            },
          },
        ],
      },
    ],
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    ...(opts.title ? { title: opts.title } : {}),
    config: FIGURE_CONFIG,
    hconcat: panels.map(panel),
    spacing: 32,
    resolve: { scale: { color: 'shared' } },
  };
}
