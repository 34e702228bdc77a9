/**
 * The `run` command end to end, as separate processes on one LMDB cache: JSON reports, exit codes,
 * two processes sharing work, and kill -9 at random moments followed by a resumed run.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { openStore } from '../../cache/lmdb-store.js';
import type { Landscape, Metrics } from '../../base/values.js';
import { cli, graphOf, tempDir, writePipeline } from './helpers.js';

const WALKS = `sparsegraph: 1
name: walks
params: { steps: 60 }
nodes:
  start: { kind: test-constant, with: { v: 5 } }
  walk: { kind: test-slow-walk, inputs: { start: start }, matrix: { seed: [1, 2, 3] }, with: { steps: "\${params.steps}", ms: 15, seed: "\${item.seed}" } }
  total: { kind: test-sum, inputs: { all: walk } }
`;

async function totals(file: string, cache: string): Promise<{ total: number; traces: number[][] }> {
  const graph = graphOf(file);
  const store = await openStore(cache);
  try {
    const total = ((await store.load(graph.byId.get('total')!.key))['out'] as Metrics).values['v']!;
    const traces: number[][] = [];
    for (const seed of [1, 2, 3]) {
      const out = (await store.load(graph.byId.get(`walk[seed=${seed}]`)!.key))['out'] as Metrics;
      traces.push([...out.series!['trace']!]);
    }
    return { total, traces };
  } finally {
    await store.close();
  }
}

test('run --json reports executed and cached ids; a failure exits 1 with its message', async () => {
  const dir = tempDir();
  const file = writePipeline(
    dir,
    'p.yaml',
    `sparsegraph: 1
name: report
nodes:
  a: { kind: test-constant, with: { v: 1 } }
  b: { kind: test-add, inputs: { a: a } }
  bad: { kind: test-fail, with: { message: "loss became NaN at step 12" } }
`,
  );
  // No --cache and no SPARSEGRAPH_CACHE: the results go to .sparsegraph/ beside the pipeline.
  const first = await cli(['run', file, '--json', '--jobs', '2'], { env: { SPARSEGRAPH_CACHE: '' } });
  assert.equal(first.code, 1);
  const report = JSON.parse(first.stdout) as { ok: boolean; executed: string[]; cached: string[]; failed: { id: string; error: string }[] };
  assert.equal(report.ok, false);
  assert.deepEqual(report.executed.sort(), ['a', 'b']);
  assert.deepEqual(report.failed, [{ id: 'bad', error: 'loss became NaN at step 12' }]);
  const second = await cli(['run', file, '--json', '--only', 'b'], { env: { SPARSEGRAPH_CACHE: '' } });
  assert.equal(second.code, 0);
  assert.deepEqual(JSON.parse(second.stdout), { ok: true, executed: [], cached: ['a', 'b'], failed: [], skipped: [] });
  const plan = await cli(['plan', file, '--json'], { env: { SPARSEGRAPH_CACHE: '' } });
  const nodes = (JSON.parse(plan.stdout) as { nodes: { id: string; status: string; reason: string }[] }).nodes;
  assert.deepEqual(
    nodes.map((n) => [n.id, n.status, n.reason]),
    [
      ['a', 'cached', 'cached'],
      ['b', 'cached', 'cached'],
      ['bad', 'run', 'never run'],
    ],
  );
  assert.equal(plan.code, 0);
  // The default cache is .sparsegraph/ beside the pipeline: it holds exactly the two results, and the
  // failed node left nothing there.
  const graph = graphOf(file);
  const store = await openStore(join(dir, '.sparsegraph'));
  try {
    assert.deepEqual(store.keys().sort(), [graph.byId.get('a')!.key, graph.byId.get('b')!.key].sort());
    assert.deepEqual(await store.load(graph.byId.get('a')!.key), { out: { values: { v: 1 } } });
    assert.deepEqual(await store.load(graph.byId.get('b')!.key), { out: { values: { v: 1 } } });
  } finally {
    await store.close();
  }
});

test('two processes on one cache compute every key exactly once', async () => {
  const dir = tempDir();
  const file = writePipeline(dir, 'p.yaml', WALKS);
  const cache = join(dir, 'cache');
  const [one, two] = await Promise.all([
    cli(['run', file, '--json', '--jobs', '2', '--cache', cache]),
    cli(['run', file, '--json', '--jobs', '2', '--cache', cache]),
  ]);
  assert.equal(one.code, 0, one.stderr);
  assert.equal(two.code, 0, two.stderr);
  const a = JSON.parse(one.stdout) as { executed: string[]; cached: string[] };
  const b = JSON.parse(two.stdout) as { executed: string[]; cached: string[] };
  const executed = [...a.executed, ...b.executed].sort();
  assert.deepEqual(executed, ['start', 'total', 'walk[seed=1]', 'walk[seed=2]', 'walk[seed=3]']);
});

test('kill -9 at random moments, then a re-run: the cache stays valid and the result is identical', async () => {
  const dir = tempDir();
  const file = writePipeline(dir, 'p.yaml', WALKS);
  const reference = join(dir, 'reference');
  assert.equal((await cli(['run', file, '--cache', reference, '--jobs', '1'])).code, 0);
  const expected = await totals(file, reference);

  const cache = join(dir, 'killed');
  // A deterministic spread of kill times over the run (a seeded sequence, so failures reproduce).
  let seed = 12345;
  let log = '';
  for (let i = 0; i < 5; i++) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    // Counted from a walk's first step, not from the start (which a loaded machine stretches): a walk has
    // more than 0.8 s of steps left then, so the kill lands mid-walk, at a different step each time.
    const killed = await cli(['run', file, '--cache', cache, '--jobs', '2'], { killOn: { output: /walk\[seed=\d\]: step \d+/, afterMs: 20 + (seed % 600) } });
    log += killed.stderr;
    assert.ok(killed.signal === 'SIGKILL' || killed.code === 0, `run ${i}: ${killed.stderr}`);
    // After every kill, every visible result loads and verifies.
    const store = await openStore(cache);
    try {
      for (const key of store.keys()) await store.load(key);
    } finally {
      await store.close();
    }
  }
  const final = await cli(['run', file, '--cache', cache, '--jobs', '2']);
  assert.equal(final.code, 0, final.stderr);
  log += final.stderr;
  assert.match(log, /walk\[seed=\d\]: step \d+\/60, resumed at step [1-9]\d*/, 'at least one walk resumed from saved progress');
  assert.deepEqual(await totals(file, cache), expected);
});

test('Ctrl-C stops running nodes, keeps finished results and saved progress, and exits 130', async () => {
  const dir = tempDir();
  const file = writePipeline(
    dir,
    'p.yaml',
    `sparsegraph: 1
name: interrupt
nodes:
  quick: { kind: test-constant, with: { v: 2 } }
  long: { kind: test-slow-walk, with: { steps: 400, ms: 10 } }
`,
  );
  const cache = join(dir, 'cache');
  // Ctrl-C once quick is done and long has reported (and so is saving) its first step.
  const stopped = await cli(['run', file, '--cache', cache, '--jobs', '2'], { interruptOn: [/done\s+quick/, /long: step \d+/] });
  assert.equal(stopped.code, 130, stopped.stderr);
  assert.match(stopped.stderr, /interrupted: stopping running nodes; finished results are kept/);
  const graph = graphOf(file);
  const store = await openStore(cache);
  try {
    assert.equal(store.has(graph.byId.get('quick')!.key), true);
    assert.equal(store.has(graph.byId.get('long')!.key), false);
    const saved = await store.loadProgress(graph.byId.get('long')!.key);
    assert.ok(typeof saved?.['step'] === 'number' && saved['step'] > 0, 'the long node saved its progress');
  } finally {
    await store.close();
  }
});

test('Ctrl-C with nodes still waiting for a worker ends the run, with a JSON report saying so', async () => {
  const dir = tempDir();
  const file = writePipeline(
    dir,
    'p.yaml',
    `sparsegraph: 1
name: queued
nodes:
  w: { kind: test-slow-walk, foreach: [1, 2, 3, 4, 5, 6], with: { steps: 100, ms: 30, seed: "\${item}" } }
  total: { kind: test-sum, inputs: { all: w } }
`,
  );
  // Ctrl-C as soon as the first walk starts: four of the six are still waiting for one of the 2 workers.
  // `cli` sends that one SIGINT and no other signal, so the process exiting at all is the proof that it
  // ends without a second Ctrl-C; the report says what became of every node.
  const stopped = await cli(['run', file, '--cache', join(dir, 'cache'), '--jobs', '2', '--json'], { interruptOn: /start\s+w\[/ });
  assert.equal(stopped.code, 130, stopped.stderr);
  assert.equal(stopped.signal, null);
  const report = JSON.parse(stopped.stdout) as { executed: string[]; aborted?: boolean };
  assert.equal(report.aborted, true);
  assert.deepEqual(report.executed, []);
});

test('Ctrl-C while the worker of a node is still starting: the node stops, is not stored, and plan still runs it', async () => {
  const dir = tempDir();
  const file = writePipeline(
    dir,
    'p.yaml',
    `sparsegraph: 1
name: early
nodes:
  slow: { kind: test-slow-walk, with: { steps: 20, ms: 20 } }
`,
  );
  const cache = join(dir, 'cache');
  // The start line is printed before the pool spawns the worker, which then spends a second loading
  // kinds: the abort reaches it before it is ready. A lost abort would let the walk finish and be stored.
  const stopped = await cli(['run', file, '--cache', cache, '--jobs', '1'], {
    interruptOn: /start\s+slow/,
    env: { SPARSEGRAPH_TEST_WORKER_START_MS: '1000' },
  });
  assert.equal(stopped.code, 130, stopped.stderr);
  assert.match(stopped.stderr, /stopped slow/);
  const plan = await cli(['plan', file, '--cache', cache, '--json']);
  assert.equal(plan.code, 0, plan.stderr);
  const nodes = (JSON.parse(plan.stdout) as { nodes: { id: string; status: string }[] }).nodes;
  assert.deepEqual(nodes.map((n) => [n.id, n.status]), [['slow', 'run']]);
});

test('a worker hands run the dataset fingerprint analysis computed for the key', async () => {
  const dir = tempDir();
  const file = writePipeline(
    dir,
    'p.yaml',
    'sparsegraph: 1\nname: data\nnodes:\n  d: { kind: test-data-fingerprint, with: { dataset: { name: synthetic, seed: 3, train: 8, test: 4 } } }\n',
  );
  const cache = join(dir, 'cache');
  const ran = await cli(['run', file, '--cache', cache, '--jobs', '1']);
  assert.equal(ran.code, 0, ran.stderr);
  const d = graphOf(file).byId.get('d')!;
  const store = await openStore(cache);
  try {
    const seen = (await store.load(d.key))['seen'] as Landscape;
    assert.equal(seen.label?.['fingerprint'], d.components.data);
  } finally {
    await store.close();
  }
});

test('--jobs and --gpus take plain counts: empty, exponent, negative and huge values are usage errors', async () => {
  const dir = tempDir();
  const file = writePipeline(dir, 'p.yaml', 'sparsegraph: 1\nname: counts\nnodes:\n  a: { kind: test-constant, with: { v: 1 } }\n');
  const cases: [string, string, string][] = [
    ['--jobs', '', "--jobs expects a whole number, got ''"],
    ['--jobs', ' ', "--jobs expects a whole number, got ' '"],
    ['--jobs', '1e9', "--jobs expects a whole number, got '1e9'"],
    ['--jobs', '-1', "--jobs expects a whole number, got '-1'"],
    ['--jobs', '0x10', "--jobs expects a whole number, got '0x10'"],
    ['--jobs', '257', '--jobs 257: at most 256'],
    ['--gpus', '99999999999999999999', '--gpus 99999999999999999999: at most 256'],
  ];
  for (const [flag, value, message] of cases) {
    const result = await cli(['run', file, '--cache', join(dir, 'cache'), flag, value, '--json']);
    assert.equal(result.code, 2, `${flag} '${value}'`);
    assert.deepEqual(JSON.parse(result.stdout), { ok: false, error: message });
    assert.match(result.stderr, new RegExp(`error: ${message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  }
});
