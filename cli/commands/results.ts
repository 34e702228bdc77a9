/**
 * The commands on cached results, one at a time: `show` (where one came from), `gc` (drop those no kept
 * pipeline needs), `pin` (keep one from gc) and `export` (write one to a file; a whole pipeline's results
 * through ../export-pipeline.ts).
 */
import { writeFile } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import ms from 'ms';
import { collectGarbage } from '../../cache/gc.js';
import type { CacheStore, ResultRecord } from '../../cache/store.js';
import type { NodeKey } from '../../base/brand.js';
import { choosePort, encodeExport, extensionOf, extensionsFor, orList, portTypeOf, supportedFormats, type PortChoice, type TypedOutput } from '../../science/export/formats.js';
import type { PortValue } from '../../base/values.js';
import {
  analyzeOrExit,
  cacheOption,
  collect,
  jsonOption,
  kindsOption,
  refuseIrregularOut,
  registryFor,
  setOption,
  withStore,
  type AnalysisOptions,
  type CacheOptions,
} from '../common.js';
import { exportPipeline, isPipelineTarget } from '../export-pipeline.js';
import { formatBytes, printJson, UsageError } from '../output.js';

type TargetOptions = CacheOptions & AnalysisOptions & { pipeline?: string; json?: boolean };

/** `show`, `gc`, `pin` and `export`, in the order `--help` lists them. */
export function registerResultCommands(cli: Command): void {
  showCommand(cli);
  gcCommand(cli);
  pinCommand(cli);
  exportCommand(cli);
}

/** `7d`, `12h`, `30m` (anything the ms package reads) to milliseconds. */
function parseDuration(text: string): number {
  const value = ms(text as ms.StringValue);
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new UsageError(`--older-than expects a duration such as 7d, 12h or 30m, got '${text}'`);
  }
  return value;
}

/** A node id (with a pipeline to resolve it), a full key, or a unique key prefix of at least 8 digits. */
async function resolveTarget(target: string, opts: CacheOptions & Partial<AnalysisOptions> & { pipeline?: string }, store: CacheStore): Promise<NodeKey> {
  if (/^[0-9a-f]{64}$/.test(target)) return target as NodeKey;
  if (opts.pipeline !== undefined) {
    const graph = await analyzeOrExit(opts.pipeline, { set: opts.set ?? [], kinds: opts.kinds ?? [], json: opts.json });
    const hit = graph.byId.get(target) ?? graph.instances.find((i) => i.nodeId === target);
    if (hit) {
      const all = graph.instances.filter((i) => i.nodeId === target);
      if (!graph.byId.has(target) && all.length > 1) {
        throw new UsageError(`node '${target}' has ${all.length} instances; name one: ${all.slice(0, 5).map((i) => i.id).join(', ')}${all.length > 5 ? ', ...' : ''}`);
      }
      return hit.key;
    }
  }
  if (/^[0-9a-f]{8,63}$/.test(target)) {
    const matches = [...store.keys()].filter((k) => k.startsWith(target));
    if (matches.length === 1) return matches[0]!;
    if (matches.length > 1) throw new UsageError(`key prefix '${target}' is ambiguous (${matches.length} results)`);
  }
  throw new UsageError(
    opts.pipeline ? `no node, instance or cached key '${target}' in ${opts.pipeline}` : `'${target}' is not a cached key; to name a node, add --pipeline FILE`,
  );
}

function describeRecord(record: ResultRecord, depth: number): string {
  const p = record.provenance;
  const pad = '  '.repeat(depth);
  const lines = [
    `${pad}${p.nodeId} (${p.kind} v${p.version})  ${record.key}`,
    `${pad}  made ${p.endedAt} in ${(p.durationMs / 1000).toFixed(1)}s on ${p.host}${p.backend ? ` with ${p.backend.name} ${p.backend.version}` : ''}${p.gitCommit ? `, commit ${p.gitCommit.slice(0, 10)}` : ''}`,
  ];
  if (depth === 0) {
    lines.push(`${pad}  pipeline ${p.pipeline ?? '?'}`, `${pad}  params ${JSON.stringify(p.params)}`);
    if (p.seed !== undefined) lines.push(`${pad}  seed ${p.seed}`);
    if (p.backend?.kernels) lines.push(`${pad}  kernels ${p.backend.kernels}`);
    lines.push(`${pad}  size ${record.sizeBytes} bytes`);
  }
  return lines.join('\n');
}

/** The result at `key` and, breadth-first through the provenance inputs, the chain of results it came from. */
function provenanceChain(store: CacheStore, key: NodeKey): { record: ResultRecord; depth: number }[] {
  const chain: { record: ResultRecord; depth: number }[] = [];
  const seen = new Set<string>();
  const queue: { key: NodeKey; depth: number }[] = [{ key, depth: 0 }];
  while (queue.length > 0) {
    const next = queue.shift()!;
    if (seen.has(next.key)) continue;
    seen.add(next.key);
    const record = store.record(next.key);
    if (!record) continue;
    chain.push({ record, depth: next.depth });
    for (const input of Object.values(record.provenance.inputs)) {
      for (const k of Array.isArray(input) ? input : [input]) queue.push({ key: k as NodeKey, depth: next.depth + 1 });
    }
  }
  return chain;
}

function showCommand(cli: Command): void {
  cli
    .command('show')
    .description('show the provenance of a cached result and the chain of results it came from')
    .argument('<target>', 'node or instance id (with --pipeline), or a key / key prefix')
    .option('--pipeline <file>', 'pipeline file whose node ids to resolve')
    .addOption(setOption())
    .addOption(kindsOption())
    .addOption(cacheOption())
    .addOption(jsonOption())
    .action(async (target: string, opts: TargetOptions) => {
      await withStore(opts, opts.pipeline, async (store) => {
        const key = await resolveTarget(target, opts, store);
        const root = store.record(key);
        if (!root) throw new UsageError(`no cached result for ${target} (key ${key.slice(0, 12)}); run the pipeline first`);
        const chain = provenanceChain(store, key);
        if (opts.json) printJson({ result: root, chain: chain.slice(1).map((c) => ({ depth: c.depth, ...c.record })) });
        else process.stdout.write(`${chain.map((c) => describeRecord(c.record, c.depth)).join('\n')}\n`);
      });
    });
}

function gcCommand(cli: Command): void {
  cli
    .command('gc')
    .description('remove results no kept pipeline needs (and not pinned), then compact the cache file')
    .option('--keep <files...>', 'keep every result these pipelines need')
    .option('--older-than <duration>', 'only remove results older than this (e.g. 7d, 12h)')
    .option('--dry-run', 'show what would be removed and how many bytes, change nothing')
    .addOption(setOption())
    .addOption(kindsOption())
    .addOption(cacheOption())
    .addOption(jsonOption())
    .action(async (opts: CacheOptions & AnalysisOptions & { keep?: string[]; olderThan?: string; dryRun?: boolean; json?: boolean }) => {
      const keep = opts.keep ?? [];
      if (keep.length === 0 && opts.olderThan === undefined) {
        throw new UsageError('gc needs --keep FILE (the pipelines whose results stay) or --older-than DURATION');
      }
      const olderThan = opts.olderThan === undefined ? undefined : parseDuration(opts.olderThan);
      const roots: NodeKey[] = [];
      for (const file of keep) for (const instance of (await analyzeOrExit(file, opts)).instances) roots.push(instance.key);
      await withStore(opts, keep[0], async (store) => {
        const report = await collectGarbage(store, {
          roots,
          ...(olderThan === undefined ? {} : { olderThan }),
          dryRun: Boolean(opts.dryRun),
        });
        if (opts.json) {
          printJson(report);
          return;
        }
        const verb = report.dryRun ? 'would remove' : 'removed';
        process.stdout.write(
          `${verb} ${report.removedResults.length} result(s), ${report.removedProgress.length} in-progress state(s), ${report.removedBlobs} blob(s): ${formatBytes(report.bytesFreed)}\n`,
        );
        if (report.dryRun) for (const key of report.removedResults) process.stdout.write(`  ${key.slice(0, 12)}  ${store.record(key)?.provenance.nodeId ?? ''}\n`);
        if (report.compaction?.compacted) {
          process.stdout.write(`cache file ${formatBytes(report.compaction.fileBytesBefore)} -> ${formatBytes(report.compaction.fileBytesAfter)}\n`);
        } else if (report.compaction) {
          process.stdout.write(`cache file not compacted: ${report.compaction.reason}\n`);
        }
      });
    });
}

function pinCommand(cli: Command): void {
  cli
    .command('pin')
    .description('protect a result (and what it came from) from gc; --remove takes the pin away, --list shows pins')
    .argument('[target]', 'node or instance id (with --pipeline), or a key / key prefix')
    .option('--pipeline <file>', 'pipeline file whose node ids to resolve')
    .option('--label <label>', 'name of the pin (default: pinned)')
    .option('--remove', 'remove the pin (all labels unless --label is given)')
    .option('--list', 'list every pin')
    .addOption(setOption())
    .addOption(kindsOption())
    .addOption(cacheOption())
    .addOption(jsonOption())
    .action(async (target: string | undefined, opts: TargetOptions & { label?: string; remove?: boolean; list?: boolean }) => {
      await withStore(opts, opts.pipeline, async (store) => {
        if (opts.list) {
          const pins = store.pins();
          if (opts.json) printJson({ pins });
          else for (const p of pins) process.stdout.write(`${p.key.slice(0, 12)}  ${p.label}  ${store.record(p.key)?.provenance.nodeId ?? ''}\n`);
          return;
        }
        if (!target) throw new UsageError('pin needs a node id (with --pipeline) or a key');
        const key = await resolveTarget(target, opts, store);
        if (opts.remove) {
          const removed = await store.unpin(key, opts.label);
          if (opts.json) printJson({ key, removed });
          else process.stdout.write(`removed ${removed} pin(s) from ${key.slice(0, 12)}\n`);
          return;
        }
        if (!store.has(key)) throw new UsageError(`no cached result for ${target}; run the pipeline first`);
        const label = opts.label ?? 'pinned';
        await store.pin(key, label);
        if (opts.json) printJson({ key, label });
        else process.stdout.write(`pinned ${key.slice(0, 12)} as '${label}'\n`);
      });
    });
}

type ExportOptions = TargetOptions & { out: string; port?: string; checkpoints: string[] };

function exportCommand(cli: Command): void {
  cli
    .command('export')
    .description(
      'write a cached result to a file, the format chosen by its extension: a Checkpoint, Mask or Curve as .safetensors ' +
        '(PyTorch tensor names, masks as NAME.mask; a curve\'s point k as NAME_k, as dnn-mode-connectivity names them), ' +
        'a Landscape as .json or .csv (x,split,loss,accuracy), Metrics as .json or .csv (name,index,value: index empty ' +
        'for a scalar, 0, 1, ... along a series), a Figure as .svg. ' +
        'With a pipeline file (a target ending in .yaml or .yml) instead: write every cached landscape, metrics and figure ' +
        'of the pipeline, the checkpoints of the nodes named with --checkpoints, an index and the report into the directory --out',
    )
    .argument('<target>', 'node or instance id (with --pipeline), a key / key prefix, or a pipeline file (.yaml, .yml)')
    .requiredOption('--out <path>', 'file to write (.safetensors, .json, .csv or .svg); for a pipeline, the directory to write into')
    .option('--port <name>', 'output to export (default: the only output whose type the extension can hold)')
    .option('--pipeline <file>', 'pipeline file whose node ids to resolve')
    .addOption(
      new Option('--checkpoints <node>', 'exporting a pipeline: also write the Checkpoint and Curve outputs of this node (all its instances) or instance; repeatable')
        .argParser(collect)
        .default([]),
    )
    .addOption(setOption())
    .addOption(kindsOption())
    .addOption(cacheOption())
    .addOption(jsonOption())
    .action(async (target: string, opts: ExportOptions) => {
      if (isPipelineTarget(target)) {
        const single = opts.port !== undefined ? '--port' : opts.pipeline !== undefined ? '--pipeline' : undefined;
        if (single) throw new UsageError(`${single} names one result; exporting the pipeline ${target} writes every result (drop ${single}, or name a node)`);
        await exportPipeline(target, opts);
        return;
      }
      refuseIrregularOut(opts.out);
      if (opts.checkpoints.length > 0) {
        throw new UsageError('--checkpoints belongs to exporting a pipeline: sparsegraph export PIPELINE.yaml --out DIR --checkpoints NODE');
      }
      await withStore(opts, opts.pipeline, (store) => exportResult(target, opts, store));
    });
}

const SINGULAR: Readonly<Record<string, string>> = { tensors: 'tensor', masks: 'mask', points: 'point', values: 'value' };

/** `export TARGET --out FILE`: one output of one cached result, in the format the file's extension names. */
async function exportResult(target: string, opts: ExportOptions, store: CacheStore): Promise<void> {
  const key = await resolveTarget(target, opts, store);
  const record = store.record(key);
  if (!record) throw new UsageError(`no cached result for ${target}; run the pipeline first`);
  const outputs = await store.load(key);
  // The kind's declared port types; a result of a kind not loaded here is typed by its shape.
  const declared = (await registryFor(opts)).get(record.provenance.kind)?.outputs;
  const typed: TypedOutput[] = [];
  for (const [port, value] of Object.entries(outputs)) {
    const type = declared?.[port]?.type ?? portTypeOf(value);
    if (type) typed.push({ port, type });
  }
  const extension = extensionOf(opts.out);
  const choice = choosePort(typed, extension, opts.port);
  if (!choice.ok) throw new UsageError(portChoiceMessage(choice, target, opts.out, typed));
  const { bytes: written, counts } = encodeExport(choice.type, outputs[choice.port] as PortValue, extension);
  await writeFile(opts.out, written);
  const summary = { key, port: choice.port, type: choice.type, out: opts.out, bytes: written.length, ...counts };
  if (opts.json) printJson(summary);
  else {
    const held = Object.entries(counts).map(([noun, n]) => `${n} ${n === 1 ? (SINGULAR[noun] ?? noun) : noun}`);
    process.stdout.write(
      `wrote the ${choice.type} ${target}.${choice.port}${held.length > 0 ? ` (${held.join(', ')})` : ''} to ${opts.out} (${written.length} bytes)\n`,
    );
  }
}

function portChoiceMessage(choice: Exclude<PortChoice, { ok: true }>, target: string, out: string, outputs: readonly TypedOutput[]): string {
  const list = (os: readonly TypedOutput[]) => os.map((o) => `${o.port} (${o.type})`).join(', ') || 'none';
  switch (choice.reason) {
    case 'unknown-extension':
      return `cannot tell a format from the name ${out}; export writes ${supportedFormats()
        .map((f) => `${f.extension} (${f.types.join(', ')})`)
        .join(', ')}`;
    case 'no-such-port':
      return `${target} has no output '${choice.port}'; its outputs: ${list(outputs)}`;
    case 'wrong-extension':
      return `output '${choice.port}' of ${target} is a ${choice.type}; a ${choice.type} exports as ${orList(extensionsFor(choice.type))}`;
    case 'no-output-fits':
      return `${target} has no output that exports as ${choice.extension}; its outputs: ${list(outputs)}`;
    case 'several-fit':
      return `${target} has ${choice.candidates.length} outputs that export as ${choice.extension}: ${list(choice.candidates)}; choose one with --port`;
  }
}
