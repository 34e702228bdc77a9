/**
 * The report command's file work: reads a pipeline's figures from the cache and writes
 * `results/<pipeline name>/` beside the pipeline file: `report.html` (one self-contained file, readable
 * offline) and `report.md` with `figures/` (SVG, PNG and the Vega-Lite spec of each). What the report
 * says is science/report/report.ts; this module only loads and writes.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Figure } from '../base/values.js';
import { CorruptEntryError, MissingResultError, type ResultStore } from '../cache/store.js';
import type { ValidGraph } from '../engine/lang/analyze.js';
import { figureFileName, reportHtml, reportMarkdown, type ReportFigure } from '../science/report/report.js';

export interface ReportFiles {
  readonly dir: string;
  readonly html: string;
  readonly markdown: string;
  readonly figures: readonly string[];
  /** Figure instances not in the cache (not run yet, or failed). */
  readonly missing: readonly string[];
}

/** Where a pipeline's report goes: `results/<name>/` beside the pipeline file. */
export const reportDir = (graph: ValidGraph): string => join(dirname(resolve(graph.file)), 'results', graph.name);

/** Writes the report of `graph` from `store`; returns what it wrote. */
export async function writeReport(graph: ValidGraph, store: ResultStore, opts: { readonly dir?: string; readonly now?: Date } = {}): Promise<ReportFiles> {
  const dir = opts.dir ?? reportDir(graph);
  const figureDir = join(dir, 'figures');
  mkdirSync(figureDir, { recursive: true });
  const { figures, missing } = await loadFigures(graph, store);
  const written = figures.flatMap((f) => writeFigure(figureDir, f));
  const view = {
    name: graph.name,
    file: graph.file,
    instances: graph.instances.length,
    notCached: graph.instances.filter((i) => !store.has(i.key)).length,
    figures,
    missing,
    when: (opts.now ?? new Date()).toISOString(),
  };
  const mdFile = join(dir, 'report.md');
  const htmlFile = join(dir, 'report.html');
  writeFileSync(mdFile, reportMarkdown(view));
  writeFileSync(htmlFile, reportHtml(view));
  return { dir, html: htmlFile, markdown: mdFile, figures: written, missing };
}

/** The figures of the pipeline's `figure` instances that the cache holds, and the ids of those it lacks. */
async function loadFigures(graph: ValidGraph, store: ResultStore): Promise<{ figures: ReportFigure[]; missing: string[] }> {
  const figures: ReportFigure[] = [];
  const missing: string[] = [];
  for (const instance of graph.instances) {
    if (instance.kind.kind !== 'figure') continue;
    if (!store.has(instance.key)) {
      missing.push(instance.id);
      continue;
    }
    let outputs: Record<string, unknown>;
    try {
      outputs = await store.load(instance.key);
    } catch (e) {
      // Removed since `has`, or found damaged and removed by `load` (the next run recomputes it).
      if (e instanceof MissingResultError || e instanceof CorruptEntryError) {
        missing.push(instance.id);
        continue;
      }
      throw e;
    }
    const figure = outputs['figure'] as Figure | undefined;
    if (figure) figures.push({ id: instance.id, figure });
  }
  return { figures, missing };
}

/** Writes one figure's SVG, PNG and Vega-Lite spec (those it has); returns the files written. */
function writeFigure(figureDir: string, { id, figure }: ReportFigure): string[] {
  const base = join(figureDir, figureFileName(id));
  const files: [string, string | Uint8Array][] = [[`${base}.svg`, figure.svg]];
  if (figure.png) files.push([`${base}.png`, figure.png]);
  if (figure.spec) files.push([`${base}.vl.json`, `${JSON.stringify(figure.spec, null, 1)}\n`]);
  for (const [file, content] of files) writeFileSync(file, content);
  return files.map(([file]) => file);
}
