/**
 * Figure 4 of the reproduction: the training-loss barrier height of every path between scratch (or
 * lottery, or the initialisation) and pruned solutions, per sparsity and seed, as a table drawn with
 * text marks on a diverging colour scale (red: a barrier, blue: none), with the claims' verdicts below.
 */
import type { GatheredValue } from '../../base/values.js';
import { judgeClaims, type ClaimsReport } from '../report/claims.js';
import type { Metrics } from '../../base/values.js';
import { FIGURE_CONFIG, MIN_TEXT_PX } from './render.js';

export function barrierTableSpec(series: readonly GatheredValue<Metrics>[], opts: { readonly title: string }): { spec: Record<string, unknown>; data: ClaimsReport } {
  const report = judgeClaims(series);
  const cells = report.barriers.flatMap((r) =>
    Object.entries(r.barriers).map(([path, value]) => ({
      row: `${r.s === undefined ? '' : `s=${r.s}`}${r.seed === undefined ? '' : ` seed=${r.seed}`}`.trim() || 'all',
      path,
      value,
      text: value.toFixed(3),
    })),
  );
  if (cells.length === 0) throw new Error('barrier-table: no gathered path metrics (labels linear, lottery-linear, init-linear, bezier) with a train_barrier_loss');
  const verdicts = report.claims.map((c, i) => ({ i, line: `${c.id}: ${c.verdict}` }));
  return { spec: barrierTableLayout(cells, verdicts, opts), data: report };
}

/** One cell of the table: a path's barrier at one sparsity and seed. */
export interface BarrierCell {
  readonly row: string;
  readonly path: string;
  readonly value: number;
  readonly text: string;
}

/** Each column this wide: the longest path name ("quadratic sparse") with room either side. */
const COLUMN_WIDTH = 116;
const ROW_HEIGHT = 22;

/** The Vega-Lite spec of the table from its cells and the claims' verdict lines (data inlined). */
export function barrierTableLayout(cells: readonly BarrierCell[], verdicts: readonly { i: number; line: string }[], opts: { readonly title: string }): Record<string, unknown> {
  const rows = [...new Set(cells.map((c) => c.row))];
  const paths = [...new Set(cells.map((c) => c.path))];
  const width = Math.max(240, COLUMN_WIDTH * paths.length);
  // The colour scale runs from the smallest value (blue, when below 0) through 0 to the largest (red);
  // text on the darkest 40% of either end is drawn white.
  const hi = cells.reduce((a, c) => Math.max(a, c.value), 0);
  const lo = cells.reduce((a, c) => Math.min(a, c.value), 0);
  const dark = [...(hi > 0 ? [`datum.value > ${0.6 * hi}`] : []), ...(lo < 0 ? [`datum.value < ${0.6 * lo}`] : [])].join(' || ') || 'false';
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    ...(opts.title ? { title: opts.title } : {}),
    config: FIGURE_CONFIG,
    spacing: 16,
    vconcat: [
      {
        width,
        height: Math.max(60, ROW_HEIGHT * rows.length),
        data: { values: cells },
        encoding: {
          x: { field: 'path', type: 'nominal', sort: paths, axis: { orient: 'top', labelAngle: 0, grid: false, ticks: false, domain: false, labelPadding: 6, titlePadding: 8, title: 'training-loss barrier height (max on the path minus the larger end)' } },
          y: { field: 'row', type: 'nominal', sort: rows, title: null, axis: { grid: false, ticks: false, domain: false } },
        },
        layer: [
          { mark: 'rect', encoding: { color: { field: 'value', type: 'quantitative', scale: { scheme: 'redblue', reverse: true, domainMid: 0 }, legend: null } } },
          // Dark cells (a high barrier) get white text.
          { mark: { type: 'text', fontSize: MIN_TEXT_PX }, encoding: { text: { field: 'text' }, color: { condition: { test: dark, value: 'white' }, value: 'black' } } },
        ],
      },
      {
        width,
        height: 20 * verdicts.length,
        view: { stroke: null },
        data: { values: verdicts },
        mark: { type: 'text', align: 'left', fontSize: 13 },
        encoding: { y: { field: 'i', type: 'ordinal', axis: null }, x: { value: 0 }, text: { field: 'line' } },
      },
    ],
  };
}
