/** Commands that read or manage the cache: show, gc, pin, cache export/import, export (of one result; of a pipeline in export-pipeline.ts). */
import { access, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import ms from 'ms';
import { exportBundle, importBundle } from '../cache/bundle.js';
import { collectGarbage } from '../cache/gc.js';
import type { CacheStore, ResultRecord } from '../cache/store.js';
import { repairStore, verifyStore, type RepairReport, type VerifyReport } from '../cache/verify.js';
import type { NodeKey } from '../base/brand.js';
import { choosePort, encodeExport, extensionOf, extensionsFor, orList, portTypeOf, supportedFormats, type PortChoice, type TypedOutput } from '../science/export/formats.js';
import type { PortValue } from '../base/values.js';
import {
  analyzeOrExit,
  cacheDirectory,
  cacheOption,
  collect,
  jsonOption,
  kindsOption,
  openCache,
  refuseIrregularOut,
  registryFor,
  setOption,
  type AnalysisOptions,
  type CacheOptions,
} from './common.js';
import { exportPipeline, isPipelineTarget } from './export-pipeline.js';
import { EXIT, printJson, UsageError } from './output.js';

type TargetOptions = CacheOptions & AnalysisOptions & { pipeline?: string; json?: boolean };

async function withStore<T>(opts: CacheOptions, pipeline: string | undefined, fn: (store: CacheStore) => Promise<T>): Promise<T> {
  const store = await openCache(opts, pipeline);
  try {
    return await fn(store);
  } finally {
    await store.close();
    reportDamage(store);
  }
}

/**
 * Says on stderr which damaged values a command found in the cache (they were removed, and what they
 * held is computed again by the next run), so that a failing disk does not go unnoticed.
 */
export function reportDamage(store: CacheStore): void {
  const damage = store.damage();
  if (damage.length === 0) return;
  process.stderr.write(`sparsegraph: warning: the cache ${store.location} held ${damage.length} damaged value(s); they were removed:\n`);
  for (const d of damage) process.stderr.write(`  ${d.table} ${d.key.slice(0, 64)}: ${d.detail}\n`);
}

function printVerifyReport(report: VerifyReport | RepairReport): void {
  const out = process.stdout;
  out.write(`cache ${report.location}: ${report.results} result(s), ${report.soundResults} sound; ${report.blobs} blob(s)\n`);
  for (const p of report.problems) out.write(`  ${p.key === undefined ? '' : `${p.key.slice(0, 16)}: `}${p.problem}\n`);
  out.write(report.problems.length === 0 ? 'no problems found\n' : `${report.problems.length} problem(s) found\n`);
  if ('keptAs' in report) {
    out.write(
      `repaired: kept ${report.salvaged} of ${report.results} result(s) with their blobs, ${report.pins} pin(s), ${report.lastRuns} last run(s)` +
        `${report.droppedProgress > 0 ? `; ${report.droppedProgress} in-progress state(s) dropped` : ''}\n` +
        `the old file is kept as ${report.keptAs}\n`,
    );
  } else if (report.problems.length > 0) {
    out.write(`run \`sparsegraph cache verify --repair --cache ${report.location}\` to keep every sound result in a fresh cache file\n`);
  }
}

/** `7d`, `12h`, `30m` (anything the ms package reads) to milliseconds. */
function parseDuration(text: string): number {
  const value = ms(text as ms.StringValue);
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new UsageError(`--older-than expects a duration such as 7d, 12h or 30m, got '${text}'`);
  }
  return value;
}

function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let v = n;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
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
    lines.push(`${pad}  size ${record.sizeBytes} bytes`);
  }
  return lines.join('\n');
}

const SINGULAR: Readonly<Record<string, string>> = { tensors: 'tensor', masks: 'mask', points: 'point', values: 'value' };

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

export function registerCacheCommands(cli: Command): void {
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
        // Walk the provenance inputs breadth-first: the chain of results this one came from.
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
        if (opts.json) printJson({ result: root, chain: chain.slice(1).map((c) => ({ depth: c.depth, ...c.record })) });
        else process.stdout.write(`${chain.map((c) => describeRecord(c.record, c.depth)).join('\n')}\n`);
      });
    });

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
          `${verb} ${report.removedResults.length} result(s), ${report.removedProgress.length} in-progress state(s), ${report.removedBlobs} blob(s): ${bytes(report.bytesFreed)}\n`,
        );
        if (report.dryRun) for (const key of report.removedResults) process.stdout.write(`  ${key.slice(0, 12)}  ${store.record(key)?.provenance.nodeId ?? ''}\n`);
        if (report.compaction?.compacted) {
          process.stdout.write(`cache file ${bytes(report.compaction.fileBytesBefore)} -> ${bytes(report.compaction.fileBytesAfter)}\n`);
        } else if (report.compaction) {
          process.stdout.write(`cache file not compacted: ${report.compaction.reason}\n`);
        }
      });
    });

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
    .action(async (target: string, opts: TargetOptions & { out: string; port?: string; checkpoints: string[] }) => {
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
      await withStore(opts, opts.pipeline, async (store) => {
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
      });
    });

  const cache = cli.command('cache').description('share cached results (export a pipeline\'s results to a bundle, import one) and check the cache (verify)');
  cache
    .command('export')
    .description('write every cached result a pipeline needs to one bundle file')
    .argument('<file>', 'pipeline YAML file')
    .requiredOption('--out <bundle>', 'bundle file to write')
    .addOption(setOption())
    .addOption(kindsOption())
    .addOption(cacheOption())
    .addOption(jsonOption())
    .action(async (file: string, opts: CacheOptions & AnalysisOptions & { out: string; json?: boolean }) => {
      refuseIrregularOut(opts.out);
      const graph = await analyzeOrExit(file, opts);
      await withStore(opts, file, async (store) => {
        const wanted = graph.instances.map((i) => i.key).filter((k) => store.has(k));
        const report = await exportBundle(store, wanted, resolve(opts.out));
        const notRun = graph.instances.length - wanted.length;
        if (opts.json) printJson({ ...report, notCached: notRun });
        else {
          process.stdout.write(`wrote ${report.exported.length} result(s), ${report.blobs} blob(s), ${bytes(report.fileBytes)} to ${opts.out}\n`);
          if (notRun > 0) process.stdout.write(`${notRun} node instance(s) of ${file} are not cached and were not exported\n`);
        }
      });
    });
  cache
    .command('verify')
    .description('check every record and blob of the cache (checksums, references, counts); --repair keeps every sound result in a fresh cache file')
    .option('--pipeline <file>', 'locate the default cache beside this pipeline')
    .option('--repair', 'copy every sound result (with its blobs, pins and last runs) into a fresh cache file that replaces the damaged one, kept beside it')
    .addOption(cacheOption())
    .addOption(jsonOption())
    .action(async (opts: CacheOptions & { pipeline?: string; repair?: boolean; json?: boolean }) => {
      const dir = cacheDirectory(opts, opts.pipeline);
      const report = opts.repair ? await repairStore(dir) : await verifyStore(dir);
      // A repair that succeeded leaves a sound cache; a verify reports what it found.
      const ok = Boolean(opts.repair) || report.problems.length === 0;
      if (opts.json) printJson({ ok, ...report });
      else printVerifyReport(report);
      process.exitCode = ok ? EXIT.ok : EXIT.failure;
    });
  cache
    .command('import')
    .description('add the results of a bundle to the cache')
    .argument('<bundle>', 'bundle file written by `cache export`')
    .option('--pipeline <file>', 'locate the default cache beside this pipeline')
    .addOption(cacheOption())
    .addOption(jsonOption())
    .action(async (bundle: string, opts: CacheOptions & { pipeline?: string; json?: boolean }) => {
      if (!opts.pipeline && !opts.cache && !process.env['SPARSEGRAPH_CACHE']) {
        // `run FILE` reads the cache beside FILE; importing into the current directory would miss it.
        throw new UsageError('say which cache to import into: --pipeline FILE (the cache beside it, as `run FILE` uses) or --cache DIR');
      }
      await access(resolve(bundle)).catch(() => {
        throw new UsageError(`bundle ${bundle} does not exist`);
      });
      await withStore(opts, opts.pipeline, async (store) => {
        const report = await importBundle(store, resolve(bundle));
        if (opts.json) printJson(report);
        else process.stdout.write(`imported ${report.imported.length} result(s); ${report.present.length} were already cached\n`);
      });
    });
}
