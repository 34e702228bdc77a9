/**
 * Planning and no-op re-run speed: analysing and planning a generated pipeline of 10,000 node
 * instances (target < 2 s), validating a file of 100,000 written nodes (target: seconds; yaml's own
 * duplicate-key check once made it quadratic), and re-running a fully cached 1,000-node pipeline
 * (target < 1 s).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../cache/lmdb-store.js';
import { dataHooks } from '../science/data/index.js';
import { execute } from '../engine/exec/executor.js';
import { InlineRunner } from '../engine/exec/inline-runner.js';
import { analyze, type ValidGraph } from '../engine/lang/analyze.js';
import { benchInstant, instantChains } from './instant-kind.js';
import { planGraph } from '../engine/plan.js';
import { KindRegistry } from '../engine/registry.js';
import { builtinKinds } from '../nodes/index.js';

/** 2,500 seeds x (init, prune, lottery-reset, train-sparse-scratch) = 10,000 instances of the paper's kinds. */
function paperLikePipeline(seeds: number): string {
  return `sparsegraph: 1
name: bench-plan
params: { seeds: [${Array.from({ length: seeds }, (_, i) => i).join(', ')}] }
nodes:
  init: { kind: init, matrix: { seed: "\${params.seeds}" }, with: { seed: "\${item.seed}" } }
  pruned: { kind: prune, inputs: { init: init }, with: { sparsity: 0.9 } }
  lottery-init: { kind: lottery-reset, inputs: { weights: init, mask: pruned.mask } }
  lottery: { kind: train-sparse-scratch, inputs: { init: lottery-init, mask: pruned.mask } }
`;
}

/** 100,000 nodes written out one by one, as a generator or a hostile file would. */
function writtenNodesPipeline(count: number): string {
  const lines = ['sparsegraph: 1', 'name: bench-written', 'nodes:'];
  for (let i = 0; i < count; i++) lines.push(`  n${i}: { kind: init, with: { seed: ${i} } }`);
  return `${lines.join('\n')}\n`;
}


function analyzed(file: string, registry: KindRegistry): ValidGraph {
  const result = analyze(file, { registry, ...dataHooks });
  if (!result.ok) throw new Error(`bench pipeline invalid: ${result.problems.map((p) => p.message).join('; ')}`);
  return result.graph;
}

export async function benchPlanning(): Promise<Record<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'sparsegraph-bench-plan-'));
  try {
    const builtin = new KindRegistry(builtinKinds);
    const big = join(dir, 'big.yaml');
    writeFileSync(big, paperLikePipeline(2500));
    const store = await openStore(join(dir, 'cache'));
    // Cold: what one `sparsegraph plan` invocation pays, MNIST's files hashed once (~55 MB).
    let t = performance.now();
    planGraph(analyzed(big, builtin), store);
    const coldMs = performance.now() - t;
    // Warm: the fingerprint memoised, as for every analysis after the first in a process.
    t = performance.now();
    const graph = analyzed(big, builtin);
    const plan = planGraph(graph, store);
    const planMs = performance.now() - t;

    const written = join(dir, 'written.yaml');
    writeFileSync(written, writtenNodesPipeline(100_000));
    t = performance.now();
    const writtenGraph = analyzed(written, builtin);
    const writtenMs = performance.now() - t;
    if (writtenGraph.instances.length !== 100_000) throw new Error('the 100,000-node file lost nodes');

    const registry = new KindRegistry([...builtinKinds, benchInstant]);
    const chains = join(dir, 'chains.yaml');
    // 1,000 nodes in 100 chains of 10.
    writeFileSync(chains, instantChains('bench-noop', 100, 10));
    const first = analyzed(chains, registry);
    await execute(first, planGraph(first, store), { store, runner: new InlineRunner(store, registry, 1) });
    t = performance.now();
    const again = analyzed(chains, registry);
    const report = await execute(again, planGraph(again, store), { store, runner: new InlineRunner(store, registry, 1) });
    const noopMs = performance.now() - t;
    if (report.executed.length !== 0 || report.cached.length !== 1000) throw new Error('no-op re-run executed nodes');
    await store.close();
    return {
      'plan.instances': plan.length,
      'plan.10k_instances.cold_ms': Math.round(coldMs),
      'plan.10k_instances.ms': Math.round(planMs),
      'validate.100k_written_nodes.ms': Math.round(writtenMs),
      'run.noop_1000_nodes.ms': Math.round(noopMs),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
