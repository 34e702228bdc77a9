/**
 * `sparsegraph export PIPELINE.yaml --out DIR`: every cached landscape, metrics and figure of a pipeline
 * (and the checkpoints asked for) as files for people, with an index, and the pipeline's report when
 * there is one. What the files are called and hold is science/export/pipeline-files.ts; this writes them.
 */
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { CorruptEntryError, MissingResultError, type CacheStore } from '../cache/store.js';
import { FileStems, indexCsv, indexJson, isCheckpointType, isExported, outputFiles, type IndexEntry } from '../science/export/pipeline-files.js';
import type { KeyedInstance, ValidGraph } from '../engine/lang/analyze.js';
import { matchInstances } from '../engine/plan.js';
import type { PortType, PortValue } from '../base/values.js';
import { analyzeOrExit, openCache, refuseIrregularOut, type AnalysisOptions, type CacheOptions } from './common.js';
import { printJson, UsageError } from './output.js';

export interface PipelineExportOptions extends CacheOptions, AnalysisOptions {
  readonly out: string;
  /** Nodes or instance ids whose Checkpoint and Curve outputs to export too. */
  readonly checkpoints: readonly string[];
}

/**
 * The pipeline form is chosen by the target's name: node ids cannot hold a dot and keys are hex digits,
 * so a target ending in .yaml or .yml can only mean a pipeline file.
 */
export function isPipelineTarget(target: string): boolean {
  return /\.ya?ml$/i.test(target);
}


const NOUNS: Readonly<Record<PortType, [string, string]>> = {
  Landscape: ['landscape', 'landscapes'],
  Metrics: ['metrics', 'metrics'],
  Figure: ['figure', 'figures'],
  Checkpoint: ['checkpoint', 'checkpoints'],
  Curve: ['curve', 'curves'],
  Mask: ['mask', 'masks'],
};

/** Refuses an --out that exists and is not a directory, before anything is analysed or written. */
async function checkOutDir(out: string): Promise<void> {
  const existing = await stat(out).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined;
    if (e.code === 'ENOTDIR') throw new UsageError(`--out ${out} cannot be a directory: a folder on its path is a file`);
    throw e;
  });
  if (existing && !existing.isDirectory()) {
    throw new UsageError(`--out ${out} is a file; exporting a pipeline writes a directory (give a new or existing directory)`);
  }
}

/**
 * The instances named with --checkpoints (a node id: all its instances). A name that is no node or
 * instance, or one whose kind has no Checkpoint or Curve output, is a usage error.
 */
function checkpointInstances(graph: ValidGraph, names: readonly string[], file: string): Set<string> {
  const { matched, unknown } = matchInstances(graph, names);
  if (unknown.length > 0) throw new UsageError(`--checkpoints: no node or instance named ${unknown.map((u) => `'${u}'`).join(', ')} in ${file}`);
  for (const name of names) {
    const [first] = matchInstances(graph, [name]).matched;
    const kind = graph.byId.get(first!)!.kind;
    if (!Object.values(kind.outputs).some((o) => isCheckpointType(o.type))) {
      const outputs = Object.entries(kind.outputs).map(([port, o]) => `${port} (${o.type})`).join(', ');
      throw new UsageError(`--checkpoints: ${name} (${kind.kind}) has no Checkpoint or Curve output; its outputs: ${outputs}`);
    }
  }
  return matched;
}

/** Writes files below `out`, making each folder once, and keeps the paths written (relative to `out`). */
class OutFiles {
  readonly written: string[] = [];
  private readonly folders = new Set<string>();

  constructor(private readonly out: string) {}

  async write(path: string, bytes: Uint8Array): Promise<void> {
    const target = join(this.out, ...path.split('/'));
    const folder = dirname(target);
    if (!this.folders.has(folder)) {
      await mkdir(folder, { recursive: true });
      this.folders.add(folder);
    }
    refuseIrregularOut(target, `${target} (in --out ${this.out})`);
    await writeFile(target, bytes);
    this.written.push(path);
  }
}

/**
 * Writes the exported outputs of one instance and returns their index entries (none when its kind has
 * no output exported here), or undefined when its result is not in the cache.
 */
async function exportInstance(store: CacheStore, instance: KeyedInstance, withCheckpoints: boolean, stems: FileStems, files: OutFiles): Promise<IndexEntry[] | undefined> {
  if (!store.has(instance.key)) return undefined;
  const ports = Object.entries(instance.kind.outputs).filter(([, spec]) => isExported(spec.type, withCheckpoints));
  if (ports.length === 0) return [];
  let outputs: Record<string, unknown>;
  try {
    outputs = await store.load(instance.key);
  } catch (e) {
    // Removed since `has` (gc in another process), or found damaged and removed by `load`: not cached now.
    if (e instanceof MissingResultError || e instanceof CorruptEntryError) return undefined;
    throw e;
  }
  const entries: IndexEntry[] = [];
  for (const [port, spec] of ports) {
    const value = outputs[port] as PortValue | undefined;
    if (value === undefined) continue;
    const written = outputFiles(spec.type, value, stems.stem(instance.id, port));
    for (const f of written) await files.write(f.path, f.bytes);
    const title = spec.type === 'Figure' ? (value as PortValue<'Figure'>).title : undefined;
    entries.push({
      instance: instance.id,
      node: instance.nodeId,
      kind: instance.kind.kind,
      coords: instance.coords,
      port,
      type: spec.type,
      key: instance.key,
      files: Object.fromEntries(written.map((f) => [f.format, f.path])),
      ...(title === undefined ? {} : { title }),
    });
  }
  return entries;
}

export async function exportPipeline(file: string, opts: PipelineExportOptions): Promise<void> {
  await checkOutDir(opts.out);
  // The file is read (or refused: missing, a FIFO, a directory) the way every command reads it.
  const graph = await analyzeOrExit(file, opts);
  const wantCheckpoints = checkpointInstances(graph, opts.checkpoints, file);
  const out = resolve(opts.out);

  const entries: IndexEntry[] = [];
  const files = new OutFiles(out);
  const report: string[] = [];
  const notCached: string[] = [];
  const stems = new FileStems();
  const store = await openCache(opts, file);
  try {
    await mkdir(out, { recursive: true });
    for (const instance of graph.instances) {
      const exported = await exportInstance(store, instance, wantCheckpoints.has(instance.id), stems, files);
      if (exported === undefined) notCached.push(instance.id);
      else for (const entry of exported) entries.push(entry);
    }
    // The report, rebuilt from the cache into DIR/report/ (its Markdown links figures/ beside it).
    const { writeReport } = await import('./report.js');
    const built = await writeReport(graph, store, { dir: join(out, 'report') });
    for (const f of [built.html, built.markdown, ...built.figures]) report.push(relative(out, f));
    for (const file of report) files.written.push(file);
  } finally {
    await store.close();
  }
  await files.write('index.csv', Buffer.from(indexCsv(entries), 'utf8'));
  await files.write('index.json', Buffer.from(indexJson(entries), 'utf8'));

  const written = files.written;
  if (opts.json) {
    printJson({ pipeline: file, name: graph.name, out: opts.out, instances: graph.instances.length, exported: entries, files: written, report, notCached });
    return;
  }
  printPipelineExport(opts.out, graph.instances.length, { entries, written, report, notCached });
}

/** The lines `export PIPELINE --out DIR` prints: what it wrote, the report, and what was not cached. */
function printPipelineExport(
  out: string,
  instances: number,
  { entries, written, report, notCached }: { entries: readonly IndexEntry[]; written: readonly string[]; report: readonly string[]; notCached: readonly string[] },
): void {
  const held = (Object.keys(NOUNS) as PortType[]).flatMap((type) => {
    const n = entries.filter((e) => e.type === type).length;
    return n === 0 ? [] : [`${n} ${NOUNS[type][n === 1 ? 0 : 1]}`];
  });
  const lines = [
    `wrote ${written.length} file(s) to ${out}: ${held.length > 0 ? held.join(', ') : 'no results'} of ${instances - notCached.length} cached node instance(s); index.csv and index.json list them`,
    `wrote the report: report/report.html and report/report.md, with ${report.length - 2} figure file(s)`,
  ];
  if (notCached.length > 0) {
    const shown = notCached.slice(0, 10).join(', ');
    lines.push(`${notCached.length} node instance(s) not cached, not exported: ${shown}${notCached.length > 10 ? `, and ${notCached.length - 10} more` : ''}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}
