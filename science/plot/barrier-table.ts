/**
 * Figure 4 of the reproduction: the training-loss barrier height of every path between scratch (or
 * lottery, or the initialisation) and pruned solutions, per sparsity and seed, as a table drawn with
 * text marks on a diverging colour scale (red: a barrier, blue: none), with the claims' verdicts below.
 */
import type { GatheredValue } from '../../base/values.js';
import { judgeClaims, type ClaimsReport } from '../report/claims.js';
import type { Metrics } from '../../base/values.js';
import { FIGURE_CONFIG } from './render.js';

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
  const rows = [...new Set(cells.map((c) => c.row))];
  const paths = [...new Set(cells.map((c) => c.path))];
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    ...(opts.title ? { title: opts.title } : {}),
    config: FIGURE_CONFIG,
    vconcat: [
      {
        width: Math.max(240, 96 * paths.length),
        height: Math.max(60, 20 * rows.length),
        data: { values: cells },
        encoding: {
          x: { field: 'path', type: 'nominal', sort: paths, axis: { orient: 'top', labelAngle: 0, grid: false, ticks: false, domain: false, title: 'training-loss barrier height (max on the path minus the larger end)' } },
          y: { field: 'row', type: 'nominal', sort: rows, title: null, axis: { grid: false, ticks: false, domain: false } },
        },
        layer: [
          { mark: 'rect', encoding: { color: { field: 'value', type: 'quantitative', scale: { scheme: 'redblue', reverse: true, domainMid: 0 }, legend: null } } },
          { mark: { type: 'text', fontSize: 11 }, encoding: { text: { field: 'text' } } },
        ],
      },
      {
        width: Math.max(240, 96 * paths.length),
        height: 16 * verdicts.length,
        view: { stroke: null },
        data: { values: verdicts },
        mark: { type: 'text', align: 'left', fontSize: 12 },
        encoding: { y: { field: 'i', type: 'ordinal', axis: null }, x: { value: 0 }, text: { field: 'line' } },
      },
    ],
  };
  return { spec, data: report };
}
