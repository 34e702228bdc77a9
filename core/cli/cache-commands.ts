/** Commands that read or manage the cache: show, gc, pin, cache export/import, export. */
import type { Command } from 'commander';
import type { NodeKey } from '../brand.js';
import type { ResultRecord, ResultStore } from '../../cache/store.js';
import { analyzeOrExit, cacheOption, jsonOption, kindsOption, openCache, setOption, type AnalysisOptions, type CacheOptions } from './common.js';
import { printJson, UsageError } from './output.js';

/** A node id (with a pipeline to resolve it), a full key, or a unique key prefix of at least 8 digits. */
async function resolveTarget(target: string, opts: CacheOptions & Partial<AnalysisOptions> & { pipeline?: string }, store: ResultStore & { keys?: () => Iterable<NodeKey> }): Promise<NodeKey> {
  if (/^[0-9a-f]{64}$/.test(target)) return target as NodeKey;
  if (opts.pipeline) {
    const graph = await analyzeOrExit(opts.pipeline, { set: opts.set ?? [], kinds: opts.kinds ?? [] });
    const hit = graph.byId.get(target) ?? graph.instances.find((i) => i.nodeId === target);
    if (hit) {
      const all = graph.instances.filter((i) => i.nodeId === target);
      if (!graph.byId.has(target) && all.length > 1) {
        throw new UsageError(`node '${target}' has ${all.length} instances; name one: ${all.slice(0, 5).map((i) => i.id).join(', ')}${all.length > 5 ? ', ...' : ''}`);
      }
      return hit.key;
    }
  }
  if (/^[0-9a-f]{8,63}$/.test(target) && store.keys) {
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
    .action(async (target: string, opts: CacheOptions & AnalysisOptions & { pipeline?: string; json?: boolean }) => {
      const store = await openCache(opts, opts.pipeline);
      try {
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
      } finally {
        await store.close();
      }
    });
}
