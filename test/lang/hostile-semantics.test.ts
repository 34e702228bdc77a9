/**
 * Hostile input to the language after parsing (hostile-semantics-cases.ts) ends in located diagnostics
 * or a usage error, with no stack trace, and `--json` prints one JSON document; names Object.prototype
 * holds are ordinary names; the graph searches and limits hold at sizes a call stack would not.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { nodeKey } from '../../engine/keys.js';
import { formatDiagnostic } from '../../engine/lang/diagnostics.js';
import { DependencyGraph } from '../../engine/lang/dependency-graph.js';
import { unkeyableNumber } from '../../engine/keyable.js';
import { MAX_INSTANCES } from '../../engine/lang/limits.js';
import { planGraph } from '../../engine/plan.js';
import { HEADER, hostileCases } from './hostile-semantics-cases.js';
import { analyzeFile, graphOf, runCli, scratchDir, writeFiles } from './helpers.js';

const STACK_FRAME = /\n\s+at /;

describe('hostile pipelines and flags end in diagnostics or a usage error', { concurrency: 4 }, () => {
  for (const c of hostileCases) {
    test(c.name, async () => {
      const dir = scratchDir();
      writeFiles(dir, { 'p.yaml': HEADER + c.body });
      const plain = await runCli(['validate', 'p.yaml', ...(c.args ?? [])], dir);
      assert.doesNotMatch(plain.stderr, STACK_FRAME);
      assert.doesNotMatch(plain.stderr, /internal error/);
      assert.deepEqual({ code: plain.code, stdout: plain.stdout, stderr: plain.stderr.split('\n') }, { code: c.exit, stdout: '', stderr: [...c.stderr, ''] });

      const json = await runCli(['validate', 'p.yaml', ...(c.args ?? []), '--json'], dir);
      assert.equal(json.code, c.exit);
      assert.doesNotMatch(json.stderr, STACK_FRAME);
      const doc = JSON.parse(json.stdout) as { ok: boolean; diagnostics: { line: number; column: number; message: string }[]; usage: string[] };
      assert.equal(doc.ok, false);
      // The same problems as the plain output, as values.
      const lines = c.exit === 2 ? doc.usage.map((u) => `sparsegraph: error: ${u}`) : doc.diagnostics.map((d) => `p.yaml:${d.line}:${d.column}: error: ${d.message}`);
      assert.deepEqual(lines, c.stderr.filter((l) => l.includes('error: ')));
    });
  }
});

test('names Object.prototype holds are ordinary names: a node, a param and a sweep axis', () => {
  const text = `${HEADER}params:\n  toString: 3\nnodes:\n  constructor:\n    kind: init\n    matrix: { valueOf: [1, 2] }\n    with: { arch: lenet300, seed: "\${params.toString}" }\n  hasOwnProperty:\n    kind: train-dense\n    inputs: { init: constructor }\n`;
  const graph = graphOf(text);
  assert.deepEqual(
    graph.instances.map((i) => i.id),
    ['constructor[valueOf=1]', 'constructor[valueOf=2]', 'hasOwnProperty[valueOf=1]', 'hasOwnProperty[valueOf=2]'],
  );
  assert.equal(graph.byId.get('constructor[valueOf=1]')!.params['seed'], 3);
  // --set reaches the param called toString, and changes the key.
  const set = graphOf(text, ['toString=4']);
  assert.equal(set.byId.get('constructor[valueOf=1]')!.params['seed'], 4);
  assert.notEqual(set.byId.get('constructor[valueOf=1]')!.key, graph.byId.get('constructor[valueOf=1]')!.key);
});

test('a --set path naming no declared param is a usage error whatever Object.prototype holds', () => {
  const dir = scratchDir();
  writeFiles(dir, { 'p.yaml': `${HEADER}params:\n  s: 3\nnodes: {}\n` });
  Object.defineProperty(Object.prototype, 'polluted', { value: 1, configurable: true, writable: true });
  try {
    const result = analyzeFile(join(dir, 'p.yaml'), ['polluted=2', 's.polluted=2']);
    assert.equal(result.ok, false);
    assert.deepEqual(result.usage, [
      `--set polluted=2: ${join(dir, 'p.yaml')} has no param 'polluted'`,
      `--set s.polluted=2: param 's' is not a map`,
    ]);
  } finally {
    delete (Object.prototype as Record<string, unknown>)['polluted'];
  }
  assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
});

test('a sweep of 10,000 instances plans, every instance to run', () => {
  const values = Array.from({ length: 100 }, (_, i) => i).join(', ');
  const graph = graphOf(`${HEADER}nodes:\n  a:\n    kind: init\n    matrix: { s: [${values}], t: [${values}] }\n    with: { arch: lenet300, seed: "\${item.s}" }\n`);
  const plan = planGraph(graph, { has: () => false, lastRun: () => undefined });
  assert.equal(plan.length, 10_000);
  assert.ok(plan.every((e) => e.status === 'run' && e.reason === 'never run'));
  assert.equal(new Set(plan.map((e) => e.key)).size, 100, 'seed follows s only');
  assert.ok(MAX_INSTANCES >= 10 * plan.length);
});

test('the dependency graph orders and searches a chain of 200,000 without the call stack', () => {
  const graph = new DependencyGraph();
  const n = 200_000;
  for (let i = n - 1; i > 0; i--) graph.addEdge(`n${i - 1}`, `n${i}`);
  const order = graph.order()!;
  assert.equal(order.length, n);
  assert.equal(order[0], 'n0');
  assert.equal(order[n - 1], `n${n - 1}`);
  assert.deepEqual(graph.cycles(), []);
  graph.addEdge(`n${n - 1}`, 'n0');
  assert.equal(graph.order(), undefined);
  assert.equal(graph.cycles()[0]!.length, n);
});

test('the dependency graph finds cycles as graphlib listed them, and self-loops; names like constructor are nodes', () => {
  const graph = new DependencyGraph();
  graph.addNode('constructor');
  graph.addEdge('a', 'b');
  graph.addEdge('b', 'c');
  graph.addEdge('c', 'a');
  graph.addEdge('toString', 'toString');
  assert.deepEqual(graph.cycles(), [['c', 'b', 'a'], ['toString']]);
  const acyclic = new DependencyGraph();
  acyclic.addEdge('constructor', 'x');
  acyclic.addEdge('__proto__', 'x');
  assert.deepEqual(acyclic.order(), ['constructor', '__proto__', 'x']);
});

test('a key holds numbers within ±2^53 exactly and refuses the rest', () => {
  assert.equal(unkeyableNumber(Number.MAX_SAFE_INTEGER), undefined);
  assert.equal(unkeyableNumber(-Number.MAX_SAFE_INTEGER), undefined);
  assert.equal(unkeyableNumber(1e-300), undefined);
  assert.match(unkeyableNumber(Number.MAX_SAFE_INTEGER + 1)!, /^must lie within ±2\^53/);
  assert.equal(unkeyableNumber(Number.NaN), 'must be a finite number, got number NaN');
  // Past analysis, such a number is a bug: nodeKey says so instead of hashing NaN as null.
  assert.throws(
    () => nodeKey({ kind: 'init', version: 1, params: { seed: Number.NaN }, inputs: {} }),
    /^Error: key of a init instance: params\.seed must be a finite number, got number NaN$/,
  );
});

test("an importer's param that no key can hold is refused where the importer wrote it", () => {
  const dir = scratchDir();
  writeFiles(dir, {
    'lib.yaml': `${HEADER}params:\n  seed: 1\nnodes: {}\n`,
    'p.yaml': `${HEADER}imports:\n  - { file: lib.yaml, params: { seed: .nan } }\nnodes: {}\n`,
  });
  const result = analyzeFile(join(dir, 'p.yaml'));
  assert.equal(result.ok, false);
  const formatted = result.ok ? [] : result.problems.map((d) => formatDiagnostic(d, result.sources));
  assert.deepEqual(formatted, [`${join(dir, 'p.yaml')}:4:39: error: param 'seed' must be a finite number, got number NaN`]);
});
