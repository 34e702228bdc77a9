#!/usr/bin/env node
/**
 * The `sparsegraph` command. Only this layer prints or exits; everything below returns values.
 */
import { availableParallelism } from 'node:os';
import { dirname, resolve } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { execute } from '../engine/exec/executor.js';
import { unsettledKindsImport } from '../engine/exec/kinds-modules.js';
import { InlineRunner } from '../engine/exec/inline-runner.js';
import { composerUrl, tensorsFor } from './compose.js';
import { WorkerPoolRunner } from '../engine/exec/worker-pool.js';
import type { ValidGraph } from '../engine/lang/analyze.js';
import { toDot, toJsonGraph, toMermaid } from '../engine/lang/render-graph.js';
import { matchInstances, planGraph, type PlanEntry } from '../engine/plan.js';
import { packageVersion } from '../base/version.js';
import { EXIT, expectedFailure, paint, printJson, UsageError } from './output.js';
import { progressView } from './progress.js';
import { registerCacheCommands, reportDamage } from './cache-commands.js';
import { registerBenchCommand } from './bench-command.js';
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
  setOption,
  type AnalysisOptions,
  type CacheOptions,
} from './common.js';

function checkNames(graph: ValidGraph, names: readonly string[], flag: string): void {
  const { unknown } = matchInstances(graph, names);
  if (unknown.length > 0) throw new UsageError(`${flag}: no node or instance named ${unknown.map((u) => `'${u}'`).join(', ')} in ${graph.file}`);
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

function program(): Command {
  const cli = new Command('sparsegraph')
    .description('Sparse-neural-network experiments as declarative, cached experiment graphs.')
    .version(packageVersion())
    .showHelpAfterError()
    .allowExcessArguments(false)
    .exitOverride();

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

  planningOptions(cli.command('plan'))
    .description('show every node instance with its key, whether it is cached, and why it would run')
    .action(async (file: string, opts: AnalysisOptions & CacheOptions & { force: string[]; forceDownstream: string[]; only: string[] }) => {
      const graph = await analyzeOrExit(file, opts);
      checkNames(graph, [...opts.force, ...opts.forceDownstream, ...opts.only], '--force/--only');
      const store = await openCache(opts, file);
      try {
        const entries = planGraph(graph, store, { force: opts.force, forceDownstream: opts.forceDownstream, only: opts.only });
        if (opts.json) printJson({ nodes: entries.map(({ id, kind, key, status, reason, components }) => ({ id, kind, key, status, reason, components })) });
        else printPlan(entries);
      } finally {
        await store.close();
        reportDamage(store);
      }
    });

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

  planningOptions(cli.command('run'))
    .description('run a pipeline: only what is not cached, independent nodes in parallel')
    .option('-j, --jobs <n>', 'nodes run in parallel worker threads (0: in this thread)', (v) => parseCount(v, '--jobs'), availableParallelism())
    .option('--gpus <n>', 'accelerator slots: tensor nodes hold one each while they run (default: the GPUs found, with tfjs-node-gpu installed)', (v) => parseCount(v, '--gpus'))
    .option('--backend <name>', 'tensor backend: tensorflow-gpu, tensorflow, wasm, cpu (default: best available; $SPARSEGRAPH_BACKEND)')
    .action(async (file: string, opts: AnalysisOptions & CacheOptions & RunFlags) => {
      process.exitCode = await runCommand(file, opts);
    });

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
      const graph = await analyzeOrExit(file, opts);
      const store = await openCache(opts, file);
      try {
        const written = await writeReportOf(graph, store, opts.out);
        if (opts.json) printJson(written);
        else printReport(written);
      } finally {
        await store.close();
        reportDamage(store);
      }
    });

  registerCacheCommands(cli);
  registerBenchCommand(cli);
  return cli;
}

async function writeReportOf(graph: ValidGraph, store: Awaited<ReturnType<typeof openCache>>, out?: string) {
  const { writeReport } = await import('./report.js');
  return writeReport(graph, store, out ? { dir: resolve(out) } : {});
}

function printReport(written: { html: string; markdown: string; figures: readonly string[]; missing: readonly string[] }): void {
  process.stdout.write(`report: ${written.html}\n        ${written.markdown} (${written.figures.length} figure file(s))\n`);
  if (written.missing.length > 0) process.stdout.write(`not in the cache yet: ${written.missing.join(', ')}\n`);
}

interface RunFlags {
  force: string[];
  forceDownstream: string[];
  only: string[];
  jobs: number;
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

async function runCommand(file: string, opts: AnalysisOptions & CacheOptions & RunFlags): Promise<number> {
  const graph = await analyzeOrExit(file, opts);
  checkNames(graph, [...opts.force, ...opts.forceDownstream, ...opts.only], '--force/--only');
  const backend = opts.backend ?? process.env['SPARSEGRAPH_BACKEND'];
  const { checkBackendInstalled, defaultAcceleratorSlots } = await import('../science/nn/backend-names.js');
  let gpus: number;
  try {
    // A backend that is not installed is a command-line problem, said before any node starts.
    if (backend) checkBackendInstalled(backend);
    gpus = opts.gpus ?? defaultAcceleratorSlots(backend);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const storeDir = cacheDirFor(opts, file);
  const store = await openCache(opts, file);
  const runner =
    opts.jobs === 0
      ? new InlineRunner(store, await registryFor(opts), 1, tensorsFor(backend))
      : new WorkerPoolRunner(opts.jobs, { storeDir, composer: composerUrl, kindModules: kindModules(opts), ...(backend ? { backend } : {}) });
  const plan = planGraph(graph, store, { force: opts.force, forceDownstream: opts.forceDownstream, only: opts.only });
  const toRun = plan.filter((e) => e.status === 'run').length;
  const interactive = Boolean(process.stderr.isTTY) && !opts.json;
  const view = progressView(plan.length, interactive);
  if (!opts.json) process.stderr.write(`${graph.name}: ${plan.length} node instance(s), ${toRun} to run\n`);

  // First Ctrl-C: stop cleanly (running nodes abort, finished results stay). Second: leave at once.
  const controller = new AbortController();
  let stoppedBy: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(EXIT.signalled(signal));
    stoppedBy = signal;
    process.stderr.write('\ninterrupted: stopping running nodes; finished results are kept (Ctrl-C again to quit now)\n');
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const commit = gitCommit(dirname(resolve(file)));
    const report = await execute(graph, plan, {
      store,
      runner,
      signal: controller.signal,
      onEvent: (e) => view.onEvent(e),
      gpus,
      ...(commit ? { gitCommit: commit } : {}),
    });
    view.stop();
    // A pipeline with figures ends with its report, rebuilt from the cache (also after failures).
    const hasFigures = graph.instances.some((i) => i.kind.kind === 'figure');
    const written = hasFigures && !report.aborted ? await writeReportOf(graph, store) : undefined;
    if (opts.json) {
      const { executed, cached, failed, skipped, recomputed, aborted } = report;
      const ok = failed.length === 0 && skipped.length === 0 && !aborted;
      printJson({ ok, executed, cached, failed, skipped, ...(recomputed.length > 0 ? { recomputed } : {}), ...(aborted ? { aborted } : {}) });
    }
    else {
      const summary = `${report.executed.length} executed, ${report.cached.length} cached, ${report.failed.length} failed, ${report.skipped.length} skipped`;
      process.stderr.write(`${summary}\n`);
      for (const f of report.failed) process.stderr.write(`${paint('red', 'failed', process.stderr)}: ${f.id}: ${f.error}\n`);
      for (const id of report.recomputed) process.stderr.write(`recomputed ${id}: its cached result was damaged or gone\n`);
      if (written) process.stderr.write(`report: ${written.html}\n`);
    }
    if (report.aborted) return EXIT.signalled(stoppedBy ?? 'SIGINT');
    return report.failed.length > 0 || report.skipped.length > 0 ? EXIT.failure : EXIT.ok;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await runner.close();
    await store.close();
    reportDamage(store);
  }
}

export async function main(argv: readonly string[]): Promise<number> {
  // Output piped into `head` and closed early is not an error of ours: stop quietly.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(EXIT.ok);
      throw e;
    });
  }
  const cli = program();
  const json = argv.includes('--json');
  const fail = (message: string, code: number): number => {
    if (json) printJson({ ok: false, error: message });
    process.stderr.write(`sparsegraph: ${paint('red', 'error', process.stderr)}: ${message}\n`);
    return code;
  };
  try {
    await cli.parseAsync(argv as string[]);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return EXIT.ok;
      // Commander has printed its message on stderr already; a script asked for JSON gets it too.
      if (json) printJson({ ok: false, error: e.message.replace(/^error: /, '') });
      return EXIT.usage;
    }
    if (e instanceof UsageError) return fail(e.message, EXIT.usage);
    const expected = expectedFailure(e);
    if (expected) return fail(expected, EXIT.failure);
    return internalError(e, json);
  }
}

/**
 * Anything not foreseen is a bug in sparsegraph, not a problem in the user's input. The user gets one
 * line and the way to a bug report (the stack only on request, as DVC's `-v` or npm's log do), and a
 * script asking for JSON still gets a JSON document.
 */
function internalError(e: unknown, json: boolean): number {
  const message = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  if (json) printJson({ ok: false, error: message, internal: true });
  const debug = process.env['SPARSEGRAPH_DEBUG'];
  const detail = debug && e instanceof Error && e.stack ? `\n${e.stack}` : '\n(this is a bug in sparsegraph; SPARSEGRAPH_DEBUG=1 prints where it happened)';
  process.stderr.write(`sparsegraph: internal error: ${message}${detail}\n`);
  return EXIT.internal;
}

// An error escaping every await (an event handler, a stream) ends the same way as one main() catches.
const json = process.argv.includes('--json');
process.on('uncaughtException', (e) => process.exit(internalError(e, json)));
process.on('unhandledRejection', (e) => process.exit(internalError(e, json)));
// A kinds module whose top-level await never settles leaves nothing to run: Node would exit with 13.
process.on('exit', (exitCode) => {
  // Node sets process.exitCode to 13 before the 'exit' event and passes it as 0.
  const unsettled = exitCode === 13 || process.exitCode === 13 ? unsettledKindsImport() : undefined;
  if (unsettled === undefined) return;
  if (json) printJson({ ok: false, error: unsettled.message });
  process.stderr.write(`sparsegraph: ${paint('red', 'error', process.stderr)}: ${unsettled.message}\n`);
  process.exitCode = EXIT.failure;
});
const code = await main(process.argv);
process.exitCode = code;
