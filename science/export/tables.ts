/**
 * Landscapes and metrics as files for people: JSON (exactly the shape of base/values.ts, pretty printed)
 * or CSV (RFC 4180, one header line, `\n` line ends, numbers as JavaScript prints them so they read back
 * exactly; NaN and Infinity as `NaN`, `Infinity`, which JSON cannot hold and writes as null).
 *
 * - A Landscape's CSV has one row per point under `x,split,loss,accuracy`; its `axis` and `label` are
 *   only in the JSON.
 * - A Metrics CSV is one long table `name,index,value`: a scalar is a row with an empty index, a series
 *   one row per element with its index from 0. A name may be both a scalar and a series.
 */
import type { Landscape, Metrics } from '../../base/values.js';

export function toJson(value: Landscape | Metrics): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** Quotes a field when it holds a comma, a quote or a line break (RFC 4180). */
function field(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** Rows to CSV text, the first row the header. */
export function csv(rows: readonly (readonly (string | number)[])[]): string {
  return rows.map((row) => `${row.map((c) => field(String(c))).join(',')}\n`).join('');
}

export function landscapeToCsv(landscape: Landscape): string {
  return csv([['x', 'split', 'loss', 'accuracy'], ...landscape.points.map((p) => [p.x, p.split, p.loss, p.accuracy])]);
}

export function metricsToCsv(metrics: Metrics): string {
  const rows: (string | number)[][] = [['name', 'index', 'value']];
  for (const [name, value] of Object.entries(metrics.values)) rows.push([name, '', value]);
  for (const [name, series] of Object.entries(metrics.series ?? {})) series.forEach((value, i) => rows.push([name, i, value]));
  return csv(rows);
}
