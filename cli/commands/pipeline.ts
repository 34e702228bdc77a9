/**
 * The commands on a pipeline file: `validate` (check it), `plan` (what would run, and why), `graph`
 * (draw it), `run` (run what is not cached) and `report` (rebuild its report from the cache).
 */
import { existsSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { execute, type ExecutionReport } from '../../engine/exec/executor.js';
import { InlineRunner } from '../../engine/exec/inline-runner.js';
import { WorkerPoolRunner } from '../../engine/exec/worker-pool.js';
import type { ValidGraph } from '../../engine/lang/analyze.js';
import { toDot, toJsonGraph, toMermaid } from '../../engine/lang/render-graph.js';
import { matchInstances, planGraph, type PlanEntry } from '../../engine/plan.js';
import type { CacheStore } from '../../cache/store.js';
import { composerUrl, computePathLine, tensorsFor } from '../compose.js';
import { EXIT, paint, printJson, UsageError } from '../output.js';
import { progressView } from '../progress.js';
import { backendFromEnv } from '../environment.js';
import { openProgressLog } from '../serve/progress-log.js';
import { parsePort, serveGraph, type ServeFlags } from './serve.js';
import {
  analyzeOrExit,
  cacheDirFor,
  cacheOption,
  collect,
  gitCommit,
  jsonOption,
  kindModules,
  kindsOption,
  openCache,
  registryFor,
  reportDamage,
  setOption,
  withStore,
  type AnalysisOptions,
  type CacheOptions,
} from '../common.js';

/** `validate`, `plan`, `graph`, `run` and `report`, in the order `--help` lists them. */
export function registerPipelineCommands(cli: Command): void {
  validateCommand(cli);
  planCommand(cli);
  graphCommand(cli);
  runCommand(cli);
  reportCommand(cli);
}

function printPlan(entries: readonly PlanEntry[]): void {
  // A fold, not a spread: a plan of a hundred thousand entries would not fit in one call's arguments.
  const width = entries.reduce((w, e) => Math.max(w, e.id.length), 4);
  for (const e of entries) {
    const status = e.status === 'cached' ? paint('green', 'cached') : paint('yellow', 'run   ');
    process.stdout.write(`${status}  ${e.id.padEnd(width)}  ${e.key.slice(0, 12)}  ${e.status === 'run' ? e.reason : ''}\n`);
  }
  const runs = entries.filter((e) => e.status === 'run').length;
  process.stdout.write(`${entries.length} node instance(s): ${runs} to run, ${entries.length - runs} cached\n`);
}

const SELECTIONS = {
  '--force': 're-run a node (all its instances, or one instance id) although cached; repeatable',
  '--force-downstream': 're-run a node and everything downstream of it; repeatable',
  '--only': 'only this node and what it needs; repeatable',
} as const;

function selection(flag: keyof typeof SELECTIONS): Option {
  return new Option(`${flag} <node>`, SELECTIONS[flag]).argParser(collect).default([]);
}

/** Which nodes `plan` and `run` (re-)run: --force, --force-downstream, --only. */
interface Selection {
  force: string[];
  forceDownstream: string[];
  only: string[];
}

/** What `plan` and `run` both take: the pipeline, its overrides, the cache, and which nodes to (re-)run. */
function planningOptions(command: Command): Command {
  return command
    .argument('<file>', 'pipeline YAML file')
    .addOption(setOption())
    .addOption(kindsOption())
    .addOption(cacheOption())
    .addOption(jsonOption())
    .addOption(selection('--force'))
    .addOption(selection('--force-downstream'))
    .addOption(selection('--only'));
}

/** A name given to --force, --force-downstream or --only that is no node or instance of `graph` is a usage error. */
function checkSelection(graph: ValidGraph, opts: Selection): void {
  const { unknown } = matchInstances(graph, [...opts.force, ...opts.forceDownstream, ...opts.only]);
  if (unknown.length > 0) throw new UsageError(`--force/--only: no node or instance named ${unknown.map((u) => `'${u}'`).join(', ')} in ${graph.file}`);
}

/** The plan of `graph` against `store`, with the selection of --force, --force-downstream and --only. */
function planOf(graph: ValidGraph, store: CacheStore, opts: Selection): PlanEntry[] {
  return planGraph(graph, store, { force: opts.force, forceDownstream: opts.forceDownstream, only: opts.only });
}

function validateCommand(cli: Command): void {
  cli
    .command('validate')
    .description('check a pipeline file and report every problem with its file, line and column')
    .argument('<file>', 'pipeline YAML file')
    .addOption(setOption())
    .addOption(kindsOption())
    .addOption(jsonOption())
    .action(async (file: string, opts: AnalysisOptions) => {
      const graph = await analyzeOrExit(file, opts);
      if (opts.json) printJson({ ok: true, name: graph.name, instances: graph.instances.length });
      else process.stdout.write(`${file}: ok (${graph.instances.length} node instance${graph.instances.length === 1 ? '' : 's'})\n`);
    });
}

function planCommand(cli: Command): void {
  planningOptions(cli.command('plan'))
    .description('show every node instance with its key, whether it is cached, and why it would run')
    .action(async (file: string, opts: AnalysisOptions & CacheOptions & Selection) => {
      const graph = await analyzeOrExit(file, opts);
      checkSelection(graph, opts);
      await withStore(opts, file, async (store) => {
        const entries = planOf(graph, store, opts);
        if (opts.json) printJson({ nodes: entries.map(({ id, kind, key, status, reason, components }) => ({ id, kind, key, status, reason, components })) });
        else printPlan(entries);
      });
    });
}

function graphCommand(cli: Command): void {
  cli
    .command('graph')
    .description('print the node-instance graph as Graphviz DOT or Mermaid')
    .argument('<file>', 'pipeline YAML file')
    .addOption(new Option('--format <format>', 'output format').choices(['dot', 'mermaid']).default('dot'))
    .addOption(setOption())
    .addOption(kindsOption())
    .addOption(jsonOption())
    .action(async (file: string, opts: AnalysisOptions & { format: 'dot' | 'mermaid' }) => {
      const graph = await analyzeOrExit(file, opts);
      if (opts.json) printJson(toJsonGraph(graph));
      else process.stdout.write(opts.format === 'dot' ? toDot(graph) : toMermaid(graph));
    });
}

function runCommand(cli: Command): void {
  planningOptions(cli.command('run'))
    .description('run a pipeline: only what is not cached, independent nodes in parallel')
    .option('-j, --jobs <n>', 'nodes run in parallel worker threads (0: in this thread)', (v) => parseCount(v, '--jobs'), availableParallelism())
    .option('--gpus <n>', 'accelerator slots: tensor nodes hold one each while they run (default: the GPUs found, with tfjs-node-gpu installed)', (v) => parseCount(v, '--gpus'))
    .option('--backend <name>', 'tensor backend: tensorflow-gpu, tensorflow, native, wasm, cpu (default: best available; $SPARSEGRAPH_BACKEND)')
    .option('--queue <url>', 'coordinate workers (`sparsegraph worker --queue URL`) through Redis at URL instead of computing here; every ready node is queued')
    .option('--serve', 'also serve the live page of this run (as `sparsegraph serve`; its URL is the first stdout line) and keep it up after the run until Ctrl-C')
    .option('--port <port>', 'with --serve: the port of the page', parsePort)
    .option('--host <host>', 'with --serve: the address of the page (default 127.0.0.1)')
    .action(async (file: string, opts: AnalysisOptions & CacheOptions & RunFlags) => {
      process.exitCode = await runPipeline(file, opts);
    });
}

function reportCommand(cli: Command): void {
  cli
    .command('report')
    .description('rebuild the report of a pipeline from the cache alone: results/<name>/report.html and report.md beside the file, with its figures')
    .argument('<file>', 'pipeline YAML file')
    .addOption(setOption())
    .addOption(kindsOption())
    .addOption(cacheOption())
    .addOption(jsonOption())
    .option('--out <dir>', 'write the report here instead of results/<name>/ beside the pipeline')
    .action(async (file: string, opts: AnalysisOptions & CacheOptions & { out?: string }) => {
      if (opts.out !== undefined && existsSync(opts.out) && !statSync(opts.out).isDirectory()) {
        throw new UsageError(`--out ${opts.out} is a file; the report writes a directory (give a new or existing directory)`);
      }
      const graph = await analyzeOrExit(file, opts);
      await withStore(opts, file, async (store) => {
        const written = await writeReportOf(graph, store, opts.out);
        if (opts.json) printJson(written);
        else printReport(written);
      });
    });
}

async function writeReportOf(graph: ValidGraph, store: CacheStore, out?: string) {
  const { writeReport } = await import('../report.js');
  return writeReport(graph, store, out ? { dir: resolve(out) } : {});
}

function printReport(written: { html: string; markdown: string; figures: readonly string[]; missing: readonly string[] }): void {
  process.stdout.write(`report: ${written.html}\n        ${written.markdown} (${written.figures.length} figure file(s))\n`);
  if (written.missing.length > 0) process.stdout.write(`not in the cache yet: ${written.missing.join(', ')}\n`);
}

interface RunFlags extends Selection, ServeFlags {
  jobs: number;
  serve?: boolean;
  queue?: string;
  gpus?: number;
  backend?: string;
}

/**
 * Worker threads or accelerator slots beyond this buy nothing but memory (each worker loads a tensor
 * backend); a larger count is a typo, not a plan.
 */
const MAX_COUNT = 256;

function parseCount(value: string, flag: string): number {
  // Number('') and Number(' ') are 0, and Number('1e3') is 1000: only plain digits are a count.
  if (!/^\d+$/.test(value)) throw new UsageError(`${flag} expects a whole number, got '${value}'`);
  const n = Number(value);
  if (n > MAX_COUNT) throw new UsageError(`${flag} ${value}: at most ${MAX_COUNT}`);
  return n;
}

/** The tensor backend of a run (--backend, else $SPARSEGRAPH_BACKEND) and its accelerator slots (--gpus, else the GPUs found). */
async function backendAndSlots(opts: RunFlags): Promise<{ backend: string | undefined; gpus: number }> {
  const backend = opts.backend ?? backendFromEnv();
  const { checkBackendInstalled, defaultAcceleratorSlots } = await import('../../science/nn/backend-names.js');
  try {
    // A backend that is not installed is a command-line problem, said before any node starts.
    if (backend) checkBackendInstalled(backend);
    return { backend, gpus: opts.gpus ?? defaultAcceleratorSlots(backend) };
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/**
 * First Ctrl-C (or SIGTERM): says so and aborts `controller` (running nodes abort, finished results
 * stay). Second: leaves at once. Returns the signal that stopped the run, if any, and the undo.
 */
function stopOnSignals(controller: AbortController): { stoppedBy: () => NodeJS.Signals | undefined; dispose: () => void } {
  let stoppedBy: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(EXIT.signalled(signal));
    stoppedBy = signal;
    process.stderr.write('\ninterrupted: stopping running nodes; finished results are kept (Ctrl-C again to quit now)\n');
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    stoppedBy: () => stoppedBy,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/** What a run did: one JSON document on stdout, or a summary with each failure on stderr. */
function printRunSummary(report: ExecutionReport, written: { html: string } | undefined, json: boolean | undefined): void {
  if (json) {
    const { executed, cached, failed, skipped, recomputed, aborted } = report;
    const ok = failed.length === 0 && skipped.length === 0 && !aborted;
    printJson({ ok, executed, cached, failed, skipped, ...(recomputed.length > 0 ? { recomputed } : {}), ...(aborted ? { aborted } : {}) });
    return;
  }
  const summary = `${report.executed.length} executed, ${report.cached.length} cached, ${report.failed.length} failed, ${report.skipped.length} skipped`;
  process.stderr.write(`${summary}\n`);
  for (const f of report.failed) process.stderr.write(`${paint('red', 'failed', process.stderr)}: ${f.id}: ${f.error}\n`);
  for (const id of report.recomputed) process.stderr.write(`recomputed ${id}: its cached result was damaged or gone\n`);
  if (written) process.stderr.write(`report: ${written.html}\n`);
}

/**
 * In-flight tasks of a coordinator: every ready node is queued (the workers' own --jobs decide how many
 * run), up to this many at once.
 */
const QUEUED_AT_ONCE = 256;

/** The coordinator's runner, or a usage error naming the URL's problem. */
async function queueRunner(url: string, store: CacheStore) {
  const [{ QueueRunner }, { checkRedisUrl, redactedUrl }] = await Promise.all([import('../../engine/exec/queue/coordinator.js'), import('../../engine/exec/queue/protocol.js')]);
  try {
    checkRedisUrl(url);
  } catch (error: unknown) {
    throw new UsageError((error as Error).message);
  }
  try {
    return await QueueRunner.open(url, store, QUEUED_AT_ONCE);
  } catch (error: unknown) {
    throw new UsageError(`cannot reach the queue at ${redactedUrl(url)}: ${(error as Error).message}`);
  }
}

/** `run FILE`: runs what is not cached and returns the exit code. */
async function runPipeline(file: string, opts: AnalysisOptions & CacheOptions & RunFlags): Promise<number> {
  const graph = await analyzeOrExit(file, opts);
  checkSelection(graph, opts);
  const { backend, gpus } = await backendAndSlots(opts);
  const storeDir = cacheDirFor(opts, file);
  const store = await openCache(opts, file);
  const runner = opts.queue
    ? await queueRunner(opts.queue, store)
    : opts.jobs === 0
      ? new InlineRunner(store, await registryFor(opts), 1, tensorsFor(backend))
      : new WorkerPoolRunner(opts.jobs, { storeDir, composer: composerUrl, kindModules: kindModules(opts), ...(backend ? { backend } : {}) });
  const plan = planOf(graph, store, opts);
  const toRun = plan.filter((e) => e.status === 'run').length;
  const interactive = Boolean(process.stderr.isTTY) && !opts.json;
  const view = progressView(plan.length, interactive);
  if (!opts.json) process.stderr.write(`${graph.name}: ${plan.length} node instance(s), ${toRun} to run\n`);
  const kernels = toRun > 0 && !opts.json && !opts.queue ? await computePathLine(backend) : undefined;
  if (kernels) process.stderr.write(`${kernels}\n`);

  // What `serve` (in this process or another) follows; a run that cannot write it still runs.
  const log = (() => {
    try {
      return openProgressLog(storeDir, {
        pipeline: resolve(file),
        name: graph.name,
        toRun: plan.filter((e) => e.status === 'run').map((e) => e.key),
        keyOf: (id) => graph.byId.get(id)?.key ?? '',
      });
    } catch (e) {
      if (!opts.json) process.stderr.write(`sparsegraph: warning: no live progress for \`serve\`: ${(e as Error).message}\n`);
      return undefined;
    }
  })();
  const page = opts.serve ? await serveGraph(graph, storeDir, opts, store) : undefined;
  const controller = new AbortController();
  const signals = stopOnSignals(controller);
  try {
    const commit = gitCommit(dirname(resolve(file)));
    const report = await execute(graph, plan, {
      store,
      runner,
      signal: controller.signal,
      onEvent: (e) => {
        view.onEvent(e);
        log?.onEvent(e);
      },
      gpus,
      ...(commit ? { gitCommit: commit } : {}),
    });
    view.stop();
    // A pipeline with figures ends with its report, rebuilt from the cache (also after failures).
    const hasFigures = graph.instances.some((i) => i.kind.kind === 'figure');
    const written = hasFigures && !report.aborted ? await writeReportOf(graph, store) : undefined;
    log?.end();
    printRunSummary(report, written, opts.json);
    if (page && !report.aborted) {
      signals.dispose();
      process.stderr.write(`run finished; the page stays up at ${page.url} until Ctrl-C\n`);
      await new Promise<void>((done) => {
        process.once('SIGINT', () => done());
        process.once('SIGTERM', () => done());
      });
    }
    if (report.aborted) return EXIT.signalled(signals.stoppedBy() ?? 'SIGINT');
    return report.failed.length > 0 || report.skipped.length > 0 ? EXIT.failure : EXIT.ok;
  } finally {
    log?.end();
    signals.dispose();
    await page?.close();
    await runner.close();
    await store.close();
    reportDamage(store);
  }
}
