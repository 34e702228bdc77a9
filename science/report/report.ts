/**
 * A pipeline's report as text: one line per claim C1-C5 with its criterion, numbers and verdict, the
 * sanity checks, the barrier table, and every figure (SVG inline in the HTML, PNG linked from the
 * Markdown). It renders plain values: the CLI's report command reads them from the cache and writes
 * `results/<pipeline name>/`. No tensor library, no cache, no training.
 */
import type { Figure } from '../../base/values.js';
import { showSpread, type ClaimsReport } from './claims.js';

/** One figure of the report: the instance that drew it and what it drew. */
export interface ReportFigure {
  readonly id: string;
  readonly figure: Figure;
}

/** Everything a report shows. */
export interface ReportView {
  /** The pipeline's name and file, as given. */
  readonly name: string;
  readonly file: string;
  /** Node instances in the pipeline, and how many of them are not computed yet. */
  readonly instances: number;
  readonly notCached: number;
  readonly figures: readonly ReportFigure[];
  /** Figure instances not in the cache (not run yet, or failed). */
  readonly missing: readonly string[];
  /** When the report was built (ISO 8601). */
  readonly when: string;
}

/** A file name for an instance id: `figure-curves`, `claims[seed=1]` -> `claims_seed-1`. */
export const figureFileName = (id: string): string => id.replace(/[[\]]/g, (c) => (c === '[' ? '_' : '')).replace(/[^A-Za-z0-9._-]+/g, '-');

const isClaims = (data: unknown): data is ClaimsReport =>
  typeof data === 'object' && data !== null && Array.isArray((data as ClaimsReport).claims) && Array.isArray((data as ClaimsReport).barriers);

/** The claims figure's data, when the pipeline has one. */
const claimsOf = (view: ReportView): ClaimsReport | undefined => view.figures.map((f) => f.figure.data).find(isClaims);

const escapeHtml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function claimLines(claims: ClaimsReport): { head: string[]; rows: string[][] }[] {
  return claims.claims.map((c) => ({
    head: [c.id, c.verdict, c.claim, c.criterion, c.note ?? ''],
    rows: c.perSparsity.map((p) => [p.s === undefined ? 'all' : String(p.s), p.holds ? 'holds' : 'does not hold', p.reason, Object.entries(p.values).map(([k, v]) => `${k} ${showSpread(v)}`).join('; ')]),
  }));
}

function barrierColumns(claims: ClaimsReport): string[] {
  return [...new Set(claims.barriers.flatMap((r) => Object.keys(r.barriers)))];
}

/** The report as Markdown; figures are linked as `figures/NAME.png` (or `.svg`) beside it. */
export function reportMarkdown(view: ReportView): string {
  const { figures: loaded, missing, notCached, when } = view;
  const claims = claimsOf(view);
  const out: string[] = [`# ${view.name}: report`, '', `Built from the cache of \`${view.file}\` on ${when}.`, ''];
  if (notCached > 0) out.push(`**Incomplete:** ${notCached} of ${view.instances} node instances are not computed yet${missing.length ? ` (figures missing: ${missing.join(', ')})` : ''}. Run the pipeline to complete it.`, '');
  if (claims) {
    out.push('## Claims', '', 'Each claim of Evci et al. (2019), the criterion applied (barrier height = max training loss on the path minus the larger end point loss), and what this run measured: mean [min, max] over seeds.', '');
    out.push('| claim | verdict | statement | criterion |', '| --- | --- | --- | --- |');
    for (const c of claims.claims) out.push(`| ${c.id} | **${c.verdict}** | ${c.claim} | ${c.criterion} |`);
    out.push('');
    for (const c of claimLines(claims)) {
      out.push(`### ${c.head[0]}: ${c.head[1]}`, '');
      if (c.head[4]) out.push(c.head[4], '');
      if (c.rows.length === 0) out.push('No results for this claim in the cache.', '');
      else {
        out.push('| sparsity | | why | measured |', '| --- | --- | --- | --- |');
        for (const r of c.rows) out.push(`| ${r.join(' | ')} |`);
        out.push('');
      }
    }
    if (claims.sanity.length > 0) {
      out.push('## Sanity checks', '');
      for (const s of claims.sanity) out.push(`- ${s.passed ? 'passed' : '**failed**'}: ${s.check} (${s.detail})`);
      out.push('');
    }
    const cols = barrierColumns(claims);
    out.push('## Barrier heights (training loss)', '', `| sparsity | seed | ${cols.join(' | ')} |`, `| --- | --- | ${cols.map(() => '---:').join(' | ')} |`);
    for (const r of claims.barriers) out.push(`| ${r.s ?? ''} | ${r.seed ?? ''} | ${cols.map((c) => (r.barriers[c] === undefined ? '' : r.barriers[c]!.toFixed(4))).join(' | ')} |`);
    out.push('');
  }
  out.push('## Figures', '');
  for (const { id, figure } of loaded) {
    const name = figureFileName(id);
    out.push(`### ${figure.title || id}`, '', figure.png ? `![${figure.title || id}](figures/${name}.png)` : `[${name}.svg](figures/${name}.svg)`, '', `Vega-Lite spec: [figures/${name}.vl.json](figures/${name}.vl.json)`, '');
  }
  return `${out.join('\n')}\n`;
}

/**
 * The width of the HTML report's column in CSS pixels: a figure wider than this is shown scaled down
 * (its SVG has max-width 100%), so figures are laid out to fit it.
 */
export const REPORT_COLUMN_PX = 1200;

/** The report as one self-contained HTML page, figures inline. */
export function reportHtml(view: ReportView): string {
  const { figures: loaded, missing, notCached, when } = view;
  const claims = claimsOf(view);
  const e = escapeHtml;
  const parts: string[] = [];
  parts.push(`<h1>${e(view.name)}: report</h1>`, `<p>Built from the cache of <code>${e(view.file)}</code> on ${e(when)}.</p>`);
  if (notCached > 0) parts.push(`<p class="warn"><b>Incomplete:</b> ${notCached} of ${view.instances} node instances are not computed yet${missing.length ? ` (figures missing: ${e(missing.join(', '))})` : ''}.</p>`);
  if (claims) {
    parts.push('<h2>Claims</h2><p>Barrier height = max training loss on the path minus the larger end point loss. Numbers: mean [min, max] over seeds.</p>');
    parts.push('<table><tr><th>claim</th><th>verdict</th><th>statement</th><th>criterion</th></tr>');
    for (const c of claims.claims) parts.push(`<tr><td>${c.id}</td><td class="${c.verdict.replace(/ /g, '-')}"><b>${e(c.verdict)}</b></td><td>${e(c.claim)}</td><td>${e(c.criterion)}</td></tr>`);
    parts.push('</table>');
    for (const c of claimLines(claims)) {
      parts.push(`<h3>${e(c.head[0]!)}: ${e(c.head[1]!)}</h3>`);
      if (c.head[4]) parts.push(`<p>${e(c.head[4])}</p>`);
      if (c.rows.length === 0) parts.push('<p>No results for this claim in the cache.</p>');
      else parts.push(`<table><tr><th>sparsity</th><th></th><th>why</th><th>measured</th></tr>${c.rows.map((r) => `<tr>${r.map((x) => `<td>${e(x)}</td>`).join('')}</tr>`).join('')}</table>`);
    }
    if (claims.sanity.length > 0) parts.push(`<h2>Sanity checks</h2><ul>${claims.sanity.map((s) => `<li>${s.passed ? 'passed' : '<b>failed</b>'}: ${e(s.check)} (${e(s.detail)})</li>`).join('')}</ul>`);
    const cols = barrierColumns(claims);
    parts.push(`<h2>Barrier heights (training loss)</h2><table><tr><th>sparsity</th><th>seed</th>${cols.map((c) => `<th>${e(c)}</th>`).join('')}</tr>`);
    for (const r of claims.barriers) parts.push(`<tr><td>${r.s ?? ''}</td><td>${r.seed ?? ''}</td>${cols.map((c) => `<td class="num">${r.barriers[c] === undefined ? '' : r.barriers[c]!.toFixed(4)}</td>`).join('')}</tr>`);
    parts.push('</table>');
  }
  parts.push('<h2>Figures</h2>');
  for (const { id, figure } of loaded) parts.push(`<figure><figcaption>${e(figure.title || id)}</figcaption>${figure.svg}</figure>`);
  const style =
    `body{font-family:"DejaVu Sans",sans-serif;max-width:${REPORT_COLUMN_PX}px;margin:2em auto;padding:0 1em;color:#222}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top;font-size:14px}td.num{text-align:right;font-variant-numeric:tabular-nums}.supported{color:#1a7f37}.not-supported{color:#b42318}.partly-supported{color:#b26b00}.warn{background:#fff4e5;padding:.5em}figure{margin:2em 0;overflow-x:auto}figure svg{max-width:100%;height:auto}figcaption{font-weight:bold;margin-bottom:.5em}`;
  return `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>${e(view.name)}: report</title><style>${style}</style></head><body>\n${parts.join('\n')}\n</body></html>\n`;
}
