/**
 * The start order of ready tasks: longest estimated path to a sink first. A long chain (dense training,
 * pruning, lottery reset, curve fit) is written after four cheap leaves that are ready with its head,
 * so the order the file gives (which the queue followed before) starts the leaves first.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Type } from '@sinclair/typebox';
import { MemoryStore } from '../../cache/memory-store.js';
import { estimatedCost, longestPathToSink, startPriorities } from '../../engine/exec/critical-path.js';
import { execute } from '../../engine/exec/executor.js';
import { InlineRunner } from '../../engine/exec/inline-runner.js';
import type { Outcome, Runner, Task } from '../../engine/exec/runner.js';
import { analyze, type ValidGraph } from '../../engine/lang/analyze.js';
import { upstreamIds } from '../../engine/lang/expand.js';
import { defineNode } from '../../engine/node-def.js';
import { planGraph } from '../../engine/plan.js';
import { KindRegistry } from '../../engine/registry.js';
import { builtinKinds } from '../../nodes/index.js';
import { evaluate } from '../../nodes/evaluate/def.js';
import { dataHooks } from '../../science/data/index.js';
import { tempDir, writePipeline } from './helpers.js';

/** Work of the cost it is given; `tag` tells apart leaves of equal cost (they would share a key). */
const work = defineNode({
  kind: 'test-work',
  version: 1,
  description: 'Passes its input on; estimates its cost as told.',
  params: Type.Object({ cost: Type.Number({ minimum: 0 }), tag: Type.String({ default: '' }) }, { additionalProperties: false }),
  inputs: { after: { type: 'Metrics', optional: true, doc: 'what it follows' } },
  outputs: { out: { type: 'Metrics', doc: 'the cost' } },
  cost: (params) => params.cost,
  run: async ({ params }) => ({ out: { values: { v: params.cost } } }),
});

/** The same on the tensor backend: it takes an accelerator slot before it is queued. */
const tensorWork = defineNode({ ...work, kind: 'test-tensor-work', tensorBackend: true });

const registry = new KindRegistry([work, tensorWork]);

/** Longest paths: dense 14, pruned 10, lottery 6, curve 4; each leaf 3. */
const CHAIN_AND_LEAVES = `sparsegraph: 1
name: chain-and-leaves
nodes:
  eval-a: { kind: test-work, with: { cost: 3, tag: a } }
  eval-b: { kind: test-work, with: { cost: 3, tag: b } }
  eval-c: { kind: test-work, with: { cost: 3, tag: c } }
  eval-d: { kind: test-work, with: { cost: 3, tag: d } }
  dense: { kind: test-work, with: { cost: 4 } }
  pruned: { kind: test-work, inputs: { after: dense }, with: { cost: 4 } }
  lottery: { kind: test-work, inputs: { after: pruned }, with: { cost: 2 } }
  curve: { kind: test-work, inputs: { after: lottery }, with: { cost: 4 } }
`;

function chainAndLeaves(): ValidGraph {
  const result = analyze(writePipeline(tempDir(), 'p.yaml', CHAIN_AND_LEAVES), { registry });
  if (!result.ok) throw new Error(JSON.stringify(result.problems.map((p) => p.message)));
  return result.graph;
}

test('the longest path to a sink is a node’s cost plus the longest path among its consumers', () => {
  //   a(2) ─▶ b(3) ─▶ d(1)        e(4), alone
  //    └───▶ c(5) ─▶ d
  //           └────▶ f(2)
  const path = longestPathToSink([
    { id: 'a', upstream: [], cost: 2 },
    { id: 'e', upstream: [], cost: 4 },
    { id: 'b', upstream: ['a'], cost: 3 },
    { id: 'c', upstream: ['a'], cost: 5 },
    { id: 'd', upstream: ['b', 'c'], cost: 1 },
    { id: 'f', upstream: ['c', 'not-planned'], cost: 2 },
  ]);
  // d = 1, f = 2, b = 3 + 1, c = 5 + max(1, 2), a = 2 + max(4, 7), e = 4.
  assert.deepEqual(Object.fromEntries(path), { a: 9, b: 4, c: 7, d: 1, e: 4, f: 2 });
  assert.throws(
    () => longestPathToSink([{ id: 'b', upstream: ['a'], cost: 1 }, { id: 'a', upstream: [], cost: 1 }]),
    /b is listed before its input a/,
  );
});

test('priorities rank keys by longest path, ties in graph order, and a cached result costs nothing', async () => {
  const file = writePipeline(
    tempDir(),
    'p.yaml',
    `sparsegraph: 1
name: ranks
nodes:
  big: { kind: test-work, with: { cost: 11 } }
  dense: { kind: test-work, with: { cost: 4 } }
  pruned: { kind: test-work, inputs: { after: dense }, with: { cost: 8 } }
`,
  );
  const result = analyze(file, { registry });
  assert.ok(result.ok);
  const { graph } = result;
  const store = new MemoryStore();
  const ranked = () => {
    const priority = startPriorities(graph, new Map(planGraph(graph, store).map((e) => [e.id, e])));
    return graph.instances.map((i) => i.id).sort((a, b) => priority.get(graph.byId.get(b)!.key)! - priority.get(graph.byId.get(a)!.key)!);
  };
  // Paths: dense 4 + 8 = 12, big 11, pruned 8.
  assert.deepEqual(ranked(), ['dense', 'big', 'pruned']);
  await execute(graph, planGraph(graph, store, { only: ['dense'] }), { store, runner: new InlineRunner(store, registry, 1) });
  // dense cached: its path is pruned's, 0 + 8, tied with pruned and behind big; dense is first in the graph.
  assert.deepEqual(ranked(), ['big', 'dense', 'pruned']);
});

test('one worker runs the whole chain before the cheap leaves that were ready with its head', async () => {
  const graph = chainAndLeaves();
  const store = new MemoryStore();
  const started: string[] = [];
  const report = await execute(graph, planGraph(graph, store), {
    store,
    runner: new InlineRunner(store, registry, 1),
    onEvent: (e) => e.type === 'start' && started.push(e.id),
  });
  assert.equal(report.executed.length, 8);
  assert.deepEqual(started, ['dense', 'pruned', 'lottery', 'curve', 'eval-a', 'eval-b', 'eval-c', 'eval-d']);
  // The order of the file, which the queue followed before: the chain started after every leaf.
  assert.notDeepEqual(started, ['eval-a', 'eval-b', 'eval-c', 'eval-d', 'dense', 'pruned', 'lottery', 'curve']);
});

/**
 * Two workers on a simulated clock: a task takes as long as its `cost` param says, and the test ends the
 * running task that finishes first once the executor has started all it can. Nothing depends on timers.
 */
class SimulatedRunner implements Runner {
  now = 0;
  private readonly running: { readonly id: string; readonly end: number; readonly finish: (o: Outcome) => void }[] = [];
  private readonly finished = new Set<string>();

  constructor(
    readonly slots: number,
    private readonly graph: ValidGraph,
  ) {}

  run(task: Task): Promise<Outcome> {
    return new Promise((finish) => this.running.push({ id: task.id, end: this.now + (task.params['cost'] as number), finish }));
  }

  async close(): Promise<void> {}

  /** Ends tasks in simulated time until every instance has run. */
  async drive(): Promise<void> {
    while (this.finished.size < this.graph.instances.length) {
      // Wait for the executor to start every task that can run now (the ready ones, up to the slots).
      const ready = this.graph.instances.filter((i) => !this.finished.has(i.id) && upstreamIds(i).every((u) => this.finished.has(u)));
      for (let turns = 0; this.running.length < Math.min(this.slots, ready.length); turns++) {
        if (turns > 10_000) throw new Error(`the executor started ${this.running.length} of ${Math.min(this.slots, ready.length)} ready tasks`);
        await new Promise((r) => setImmediate(r));
      }
      // The earliest end; on a tie the one started first.
      const next = this.running.reduce((a, b) => (b.end < a.end ? b : a));
      this.running.splice(this.running.indexOf(next), 1);
      this.now = next.end;
      this.finished.add(next.id);
      next.finish({ status: 'done' });
    }
  }
}

test('two workers: the chain never waits behind a leaf, and the run ends when the chain does', async () => {
  const graph = chainAndLeaves();
  const store = new MemoryStore();
  const runner = new SimulatedRunner(2, graph);
  const started: string[] = [];
  const execution = execute(graph, planGraph(graph, store), { store, runner, onEvent: (e) => e.type === 'start' && started.push(`${e.id}@${runner.now}`) });
  await runner.drive();
  const report = await execution;
  assert.equal(report.executed.length, 8);
  // dense 0-4 and eval-a 0-3; eval-b 3-6; pruned 4-8 (ahead of the waiting leaves); eval-c 6-9;
  // lottery 8-10; eval-d 9-12; curve 10-14.
  assert.deepEqual(started, ['dense@0', 'eval-a@0', 'eval-b@3', 'pruned@4', 'eval-c@6', 'lottery@8', 'eval-d@9', 'curve@10']);
  assert.equal(runner.now, 14, 'the length of the chain: the leaves filled the other worker');
  // In the file's order the leaves take both workers first and the chain runs alone from t=6 to t=20.
});

test('a tensor node ready at the start is not overtaken by the leaves while it takes its accelerator slot', async () => {
  const file = writePipeline(
    tempDir(),
    'p.yaml',
    `sparsegraph: 1
name: gpu
nodes:
  eval-a: { kind: test-work, with: { cost: 3, tag: a } }
  eval-b: { kind: test-work, with: { cost: 3, tag: b } }
  dense: { kind: test-tensor-work, with: { cost: 4 } }
  pruned: { kind: test-tensor-work, inputs: { after: dense }, with: { cost: 4 } }
`,
  );
  const result = analyze(file, { registry });
  assert.ok(result.ok);
  const { graph } = result;
  const store = new MemoryStore();
  const runner = new SimulatedRunner(1, graph);
  const started: string[] = [];
  const execution = execute(graph, planGraph(graph, store), { store, runner, gpus: 1, onEvent: (e) => e.type === 'start' && started.push(e.id) });
  await runner.drive();
  await execution;
  assert.deepEqual(started, ['dense', 'pruned', 'eval-a', 'eval-b']);
});

test("the paper pipeline's estimates: pruning before the dense baseline, training before lines, evaluations and figures", () => {
  const file = fileURLToPath(new URL('../../../pipelines/paper.yaml', import.meta.url));
  const result = analyze(file, { registry: new KindRegistry(builtinKinds), set: ['seeds=[0]', 'sparsities=[0.9]'], ...dataHooks });
  assert.ok(result.ok);
  const { graph } = result;
  for (const i of graph.instances) assert.ok(estimatedCost(i, graph) >= 1, `${i.id} has a positive cost`);
  const cost = (id: string) => estimatedCost(graph.byId.get(id)!, graph);
  // 25 epochs of MNIST's 60,000 images at batch 128: ceil(25 * 60000 / 128) steps.
  assert.equal(cost('dense[seed=0]'), 11_719);
  assert.ok(cost('curve[degree=2,s=0.9,seed=0,subspace=sparse]') < cost('dense[seed=0]'), 'a 10-epoch fit is shorter than a 25-epoch training');
  assert.ok(cost('line-scratch-pruned[s=0.9,seed=0]') < cost('curve[degree=2,s=0.9,seed=0,subspace=sparse]'));
  assert.ok(cost('evaluate-dense[seed=0]') < cost('line-scratch-pruned[s=0.9,seed=0]'));
  assert.equal(cost('figure-lines'), 1);
  const priority = startPriorities(graph, new Map(planGraph(graph, new MemoryStore()).map((e) => [e.id, e])));
  const of = (id: string) => priority.get(graph.byId.get(id)!.key)!;
  // Pruning leads to scratch, lottery and curve fits; the dense baseline only to an evaluation and lines.
  assert.ok(of('pruned[s=0.9,seed=0]') > of('dense[seed=0]'));
  assert.ok(of('dense[seed=0]') > of('line-scratch-pruned[s=0.9,seed=0]'));
  assert.ok(of('evaluate-dense[seed=0]') > of('figure-lines'));
  // A curve's 61 points cost what 2 + 61 / 6 evaluations do; a checkpoint is one, whatever `points` says.
  const params = graph.byId.get('evaluate-dense[seed=0]')!.params as Parameters<NonNullable<typeof evaluate.cost>>[0];
  const onCurve = evaluate.cost!(params, { trainSize: 60_000 }, { target: 'Curve' });
  const onCheckpoint = evaluate.cost!(params, { trainSize: 60_000 }, { target: 'Checkpoint' });
  assert.ok(Math.abs(onCurve / onCheckpoint - (2 + 61 / 6)) < 1e-9);
});
