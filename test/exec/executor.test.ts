import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryStore } from '../../cache/memory-store.js';
import { execute } from '../../engine/exec/executor.js';
import { InlineRunner } from '../../engine/exec/inline-runner.js';
import { planGraph } from '../../engine/plan.js';
import type { Landscape, Metrics } from '../../base/values.js';
import { CHAIN, graphOf, registry, tempDir, writePipeline } from './helpers.js';

async function runAll(file: string, store: MemoryStore, set: string[] = [], selection = {}) {
  const graph = graphOf(file, set);
  const plan = planGraph(graph, store, selection);
  const report = await execute(graph, plan, { store, runner: new InlineRunner(store, registry, 2) });
  return { graph, plan, report };
}

async function valueOf(store: MemoryStore, file: string, id: string, set: string[] = []): Promise<number> {
  const graph = graphOf(file, set);
  const out = (await store.load(graph.byId.get(id)!.key))['out'] as Metrics;
  return out.values['v']!;
}

test('a first run executes everything and computes the right values', async () => {
  const file = writePipeline(tempDir(), 'p.yaml', CHAIN);
  const store = new MemoryStore();
  const { report } = await runAll(file, store);
  assert.deepEqual([...report.executed].sort(), ['a', 'b', 'c', 'd', 'e']);
  assert.equal(await valueOf(store, file, 'c'), 1 + 2 + 10);
  assert.equal(await valueOf(store, file, 'e'), 1 + 2 + 100);
});

test('changing one parameter re-runs exactly its downstream cone, with reasons', async () => {
  const file = writePipeline(tempDir(), 'p.yaml', CHAIN);
  const store = new MemoryStore();
  await runAll(file, store);
  const graph = graphOf(file, ['step=5']);
  const plan = planGraph(graph, store);
  const reasons = Object.fromEntries(plan.filter((e) => e.status === 'run').map((e) => [e.id, e.reason]));
  assert.deepEqual(reasons, { b: 'parameter plus changed 2 -> 5', c: 'input a changed', e: 'input a changed' });
  const { report } = await runAll(file, store, ['step=5']);
  assert.deepEqual([...report.executed].sort(), ['b', 'c', 'e']);
  assert.deepEqual([...report.cached].sort(), ['a', 'd']);
  assert.equal(await valueOf(store, file, 'c', ['step=5']), 1 + 5 + 10);
  // Going back needs no work at all: the old results are still cached.
  const back = await runAll(file, store);
  assert.deepEqual(back.report.executed, []);
});

test('--force re-runs one node, --force-downstream its cone, --only a node and what it needs', async () => {
  const file = writePipeline(tempDir(), 'p.yaml', CHAIN);
  const store = new MemoryStore();
  await runAll(file, store);
  assert.deepEqual((await runAll(file, store, [], { force: ['b'] })).report.executed, ['b']);
  assert.deepEqual([...(await runAll(file, store, [], { forceDownstream: ['b'] })).report.executed].sort(), ['b', 'c', 'e']);
  const only = await runAll(file, new MemoryStore(), [], { only: ['c'] });
  assert.deepEqual([...only.report.executed].sort(), ['a', 'b', 'c']);
});

test('instances that share a key run once, and a diamond runs its top once', async () => {
  const file = writePipeline(
    tempDir(),
    'p.yaml',
    `sparsegraph: 1
name: diamond
nodes:
  top: { kind: test-constant, with: { v: 3 } }
  twin: { kind: test-constant, with: { v: 3 } }
  left: { kind: test-add, inputs: { a: top }, with: { plus: 1 } }
  right: { kind: test-add, inputs: { a: twin }, with: { plus: 2 } }
  bottom: { kind: test-add, inputs: { a: left, b: right } }
`,
  );
  const store = new MemoryStore();
  const { report } = await runAll(file, store);
  // top and twin have one key: exactly one of them executes, the other finds it cached.
  assert.equal(report.executed.filter((id) => id === 'top' || id === 'twin').length, 1);
  assert.equal(report.executed.length + report.cached.length, 5);
  assert.equal(await valueOf(store, file, 'bottom'), 3 + 1 + 3 + 2);
});

test('a failing node fails its cone only; independent branches finish and stay cached', async () => {
  const file = writePipeline(
    tempDir(),
    'p.yaml',
    `sparsegraph: 1
name: failing
nodes:
  bad: { kind: test-fail, with: { message: "loss is NaN at step 7" } }
  after: { kind: test-add, inputs: { a: bad } }
  good: { kind: test-constant, with: { v: 1 } }
  good2: { kind: test-add, inputs: { a: good } }
`,
  );
  const store = new MemoryStore();
  const { report } = await runAll(file, store);
  assert.deepEqual(report.failed, [{ id: 'bad', error: 'loss is NaN at step 7' }]);
  assert.deepEqual(report.skipped, ['after']);
  assert.deepEqual([...report.executed].sort(), ['good', 'good2']);
  const again = await runAll(file, store);
  assert.deepEqual([...again.report.cached].sort(), ['good', 'good2']);
});

test('sweeps run every instance and a gathering node sees them all', async () => {
  const file = writePipeline(
    tempDir(),
    'p.yaml',
    `sparsegraph: 1
name: sweep
params: { values: [1, 2, 3] }
nodes:
  x: { kind: test-constant, foreach: "\${params.values}", with: { v: "\${item}" } }
  y: { kind: test-add, inputs: { a: x }, with: { plus: 10 } }
  total: { kind: test-sum, inputs: { all: y } }
`,
  );
  const store = new MemoryStore();
  const { report } = await runAll(file, store);
  assert.equal(report.executed.length, 7);
  assert.ok(report.executed.includes('y[item=2]'));
  assert.equal(await valueOf(store, file, 'total'), 11 + 12 + 13);
});

test('a corrupted input is detected, removed, recomputed, and the consumer still runs', async () => {
  const file = writePipeline(
    tempDir(),
    'p.yaml',
    `sparsegraph: 1
name: corrupt
nodes:
  m: { kind: test-mask, with: { n: 3000, every: 3 } }
  count: { kind: test-count-kept, inputs: { mask: m } }
`,
  );
  const store = new MemoryStore();
  await runAll(file, store);
  const graph = graphOf(file);
  const m = graph.byId.get('m')!;
  const digests = [...JSON.stringify(store.entry(m.key)).matchAll(/[0-9a-f]{64}/g)].map((x) => x[0]).filter((d) => store.hasBlob(d as never));
  assert.ok(digests.length >= 1, 'the mask is stored in a blob');
  store.corruptBlobForTesting(digests[0] as never, 40);
  const { report } = await runAll(file, store, [], { force: ['count'] });
  assert.deepEqual(report.cached, ['m'], 'the plan still sees m cached: the damage shows only when it is read');
  assert.deepEqual(report.executed, ['count']);
  assert.deepEqual(report.recomputed, ['m']);
  assert.deepEqual(report.failed, []);
  assert.equal(await valueOf(store, file, 'count'), 1000);
  await store.load(m.key); // verifies again: the recomputed entry is sound
});

test('a forced re-run that fails keeps the result it was meant to replace', async () => {
  const file = writePipeline(tempDir(), 'p.yaml', 'sparsegraph: 1\nname: flaky\nnodes:\n  x: { kind: test-flaky, with: { v: 4 } }\n');
  const store = new MemoryStore();
  await runAll(file, store);
  process.env['SPARSEGRAPH_TEST_FAIL'] = '1';
  try {
    const { report } = await runAll(file, store, [], { force: ['x'] });
    assert.deepEqual(report.failed, [{ id: 'x', error: 'failing as asked' }]);
  } finally {
    delete process.env['SPARSEGRAPH_TEST_FAIL'];
  }
  assert.equal(await valueOf(store, file, 'x'), 4);
});

test('an input removed after planning (a gc meanwhile) is recomputed, not a failure', async () => {
  const file = writePipeline(tempDir(), 'p.yaml', CHAIN);
  const store = new MemoryStore();
  await runAll(file, store);
  const graph = graphOf(file);
  const plan = planGraph(graph, store, { force: ['c'] });
  const bKey = graph.byId.get('b')!.key;
  await store.remove(bKey);
  // The executor's first look still finds b, as when a gc in another process removes it just after.
  const has = store.has.bind(store);
  let stale = true;
  store.has = (key) => {
    if (key !== bKey || !stale) return has(key);
    stale = false;
    return true;
  };
  const report = await execute(graph, plan, { store, runner: new InlineRunner(store, registry, 2) });
  assert.deepEqual(report.executed, ['c']);
  assert.deepEqual(report.recomputed, ['b']);
  store.has = has;
  assert.equal(has(bKey), true);
  assert.equal(await valueOf(store, file, 'c'), 13);
});

test('a damaged input feeding several consumers is recomputed once', async () => {
  const file = writePipeline(
    tempDir(),
    'p.yaml',
    `sparsegraph: 1
name: fan-out
nodes:
  m: { kind: test-mask, with: { n: 3000, every: 3 } }
  c1: { kind: test-count-kept, inputs: { mask: m }, salt: 1 }
  c2: { kind: test-count-kept, inputs: { mask: m }, salt: 2 }
  c3: { kind: test-count-kept, inputs: { mask: m }, salt: 3 }
`,
  );
  const store = new MemoryStore();
  await runAll(file, store);
  const m = graphOf(file).byId.get('m')!;
  const digest = [...JSON.stringify(store.entry(m.key)).matchAll(/[0-9a-f]{64}/g)].map((x) => x[0]).find((d) => store.hasBlob(d as never))!;
  store.corruptBlobForTesting(digest as never, 40);
  const { report } = await runAll(file, store, [], { force: ['c1', 'c2', 'c3'] });
  assert.deepEqual(report.recomputed, ['m']);
  assert.deepEqual([...report.executed].sort(), ['c1', 'c2', 'c3']);
  for (const c of ['c1', 'c2', 'c3']) assert.equal(await valueOf(store, file, c), 1000);
});

test('instances that share a key all remember the run, so plan names what changed for each', async () => {
  const file = writePipeline(
    tempDir(),
    'p.yaml',
    `sparsegraph: 1
name: shared
params: { p: 3 }
nodes:
  a: { kind: test-constant, matrix: { s: [1], t: [x, y] }, with: { v: "\${item.s}" } }
  b: { kind: test-add, inputs: { a: a }, with: { plus: "\${params.p}" } }
`,
  );
  const store = new MemoryStore();
  const first = await runAll(file, store);
  assert.equal(first.report.executed.filter((id) => id.startsWith('b[')).length, 1, 'b[s=1,t=x] and b[s=1,t=y] share one key');
  const plan = planGraph(graphOf(file, ['p=4']), store);
  const reasons = plan.filter((e) => e.id.startsWith('b[')).map((e) => e.reason);
  assert.deepEqual(reasons, ['parameter plus changed 3 -> 4', 'parameter plus changed 3 -> 4']);
});

test('an aborted run stops, reports it, and keeps what finished', async () => {
  const file = writePipeline(
    tempDir(),
    'p.yaml',
    `sparsegraph: 1
name: abort
nodes:
  quick: { kind: test-constant, with: { v: 1 } }
  slow: { kind: test-slow-walk, with: { steps: 200, ms: 10 } }
`,
  );
  const store = new MemoryStore();
  const graph = graphOf(file);
  const controller = new AbortController();
  // Abort once quick has finished and slow has saved a step or more: events, not a delay.
  let quickDone = false;
  let slowStepped = false;
  const report = await execute(graph, planGraph(graph, store), {
    store,
    runner: new InlineRunner(store, registry, 2),
    signal: controller.signal,
    onEvent: (e) => {
      if (e.type === 'finish' && e.id === 'quick') quickDone = true;
      if (e.type === 'progress' && e.id === 'slow') slowStepped = true;
      if (quickDone && slowStepped) controller.abort();
    },
  });
  assert.equal(report.aborted, true);
  assert.deepEqual(report.executed, ['quick']);
  assert.equal(store.has(graph.byId.get('slow')!.key), false);
  const saved = await store.loadProgress(graph.byId.get('slow')!.key);
  assert.ok(typeof saved?.['step'] === 'number' && saved['step'] > 0 && saved['step'] < 200);
});

test('an output that is not its declared type fails the node, naming port and type, and stores nothing', async () => {
  const file = writePipeline(tempDir(), 'p.yaml', 'sparsegraph: 1\nname: wrong\nnodes:\n  pruned: { kind: test-wrong-type }\n');
  const store = new MemoryStore();
  const { graph, report } = await runAll(file, store);
  assert.deepEqual(report.failed, [{ id: 'pruned', error: "node kind 'test-wrong-type': output 'checkpoint' is not a Checkpoint: missing 'tensors'" }]);
  assert.equal(store.has(graph.byId.get('pruned')!.key), false);
});

test("a task's run receives the dataset fingerprint of its key's data component", async () => {
  const file = writePipeline(
    tempDir(),
    'p.yaml',
    'sparsegraph: 1\nname: data\nnodes:\n  d: { kind: test-data-fingerprint, with: { dataset: { name: synthetic, seed: 3, train: 8, test: 4 } } }\n',
  );
  const store = new MemoryStore();
  const { graph } = await runAll(file, store);
  const d = graph.byId.get('d')!;
  assert.match(d.components.data ?? '', /^[0-9a-f]{64}$/);
  const seen = (await store.load(d.key))['seen'] as Landscape;
  assert.equal(seen.label?.['fingerprint'], d.components.data);
});

test('registers the run for gc before it stores anything and ends it after every last run is recorded', async () => {
  const file = writePipeline(tempDir(), 'p.yaml', CHAIN);
  const store = new MemoryStore();
  const graph = graphOf(file);
  const seen: { keys: readonly string[]; resultsAtStart: number; lastRunsAtEnd: string[] }[] = [];
  const beginRun = store.beginRun.bind(store);
  store.beginRun = async (keys) => {
    const entry = { keys, resultsAtStart: store.keys().length, lastRunsAtEnd: [] as string[] };
    seen.push(entry);
    const end = await beginRun(keys);
    return () => {
      entry.lastRunsAtEnd = graph.instances.filter((i) => store.lastRun(graph.name, i.id) !== undefined).map((i) => i.id);
      end();
    };
  };
  const plan = planGraph(graph, store, { only: ['c'] });
  await execute(graph, plan, { store, runner: new InlineRunner(store, registry, 2) });
  const key = (id: string) => graph.byId.get(id)!.key;
  assert.equal(seen.length, 1);
  // c and what it needs (a, b); a appears again as b's input: the store keeps each key once.
  assert.deepEqual([...seen[0]!.keys], [key('a'), key('b'), key('a'), key('c'), key('b')]);
  assert.equal(seen[0]!.resultsAtStart, 0);
  assert.deepEqual(seen[0]!.lastRunsAtEnd, ['a', 'b', 'c']);
});
