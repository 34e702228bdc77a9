/**
 * Sweeps: readable instance ids, consumers following the axes of what they consume (joined on shared
 * axes, crossed otherwise), gathering ports receiving every instance, and --set resizing a sweep.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ValidGraph } from '../../engine/lang/analyze.js';
import type { Binding } from '../../engine/lang/expand.js';
import { graphOf } from './helpers.js';

const SWEEP = `sparsegraph: 1
name: sweep
params:
  seeds: [1, 2]
  sparsities: [0.5, 0.9]
nodes:
  init:
    kind: init
    matrix: { seed: "\${params.seeds}" }
    with: { seed: "\${item.seed}" }
  pruned:
    kind: prune
    inputs: { init: init }
    matrix: { s: "\${params.sparsities}" }
    with: { sparsity: "\${item.s}" }
  scratch:
    kind: train-sparse-scratch
    inputs: { init: init, mask: pruned.mask }
  fig:
    kind: figure
    inputs:
      series: { scratch: scratch.metrics }
    with: { plot: sparsity-sweep, x: s }
`;

const idsOf = (graph: ValidGraph, nodeId: string) =>
  graph.instances
    .filter((i) => i.nodeId === nodeId)
    .map((i) => i.id)
    .sort();

function single(binding: Binding | undefined): string {
  assert.ok(binding && !binding.gather, 'expected a single binding');
  return `${binding.instance}.${binding.port}`;
}

test('instance ids name the node and its sweep coordinates, axes sorted', () => {
  const graph = graphOf(SWEEP);
  assert.deepEqual(idsOf(graph, 'init'), ['init[seed=1]', 'init[seed=2]']);
  assert.deepEqual(idsOf(graph, 'scratch'), ['scratch[s=0.5,seed=1]', 'scratch[s=0.5,seed=2]', 'scratch[s=0.9,seed=1]', 'scratch[s=0.9,seed=2]']);
  assert.deepEqual(idsOf(graph, 'fig'), ['fig']);
  assert.deepEqual(graph.byId.get('scratch[s=0.9,seed=1]')!.coords, { seed: 1, s: 0.9 });
  assert.equal(graph.byId.get('pruned[s=0.9,seed=1]')!.params['sparsity'], 0.9);
  assert.equal(graph.byId.get('init[seed=2]')!.params['seed'], 2);
});

test('a foreach over scalars names its axis item; over maps, each key is an axis', () => {
  const graph = graphOf(`sparsegraph: 1
name: foreach
nodes:
  init:
    kind: init
    foreach: [{ arch: lenet5, seed: 3 }, { arch: lenet300, seed: 4 }]
    with: { arch: "\${item.arch}", seed: "\${item.seed}" }
  dense:
    kind: train-dense
    inputs: { init: init }
    foreach: [0.1, 0.2]
    with: { lr: "\${item}" }
`);
  assert.deepEqual(idsOf(graph, 'init'), ['init[arch=lenet300,seed=4]', 'init[arch=lenet5,seed=3]']);
  assert.deepEqual(idsOf(graph, 'dense'), [
    'dense[arch=lenet300,item=0.1,seed=4]',
    'dense[arch=lenet300,item=0.2,seed=4]',
    'dense[arch=lenet5,item=0.1,seed=3]',
    'dense[arch=lenet5,item=0.2,seed=3]',
  ]);
  assert.equal(graph.byId.get('dense[arch=lenet5,item=0.2,seed=3]')!.params['lr'], 0.2);
});

test('a consumer of swept nodes joins them on shared axes', () => {
  const graph = graphOf(SWEEP);
  // pruned follows init (seed) and adds s; scratch consumes init (seed) and pruned (s, seed): 4, not 8.
  assert.deepEqual(idsOf(graph, 'pruned'), ['pruned[s=0.5,seed=1]', 'pruned[s=0.5,seed=2]', 'pruned[s=0.9,seed=1]', 'pruned[s=0.9,seed=2]']);
  const scratch = graph.byId.get('scratch[s=0.9,seed=2]')!;
  assert.equal(single(scratch.inputs.get('init')), 'init[seed=2].checkpoint');
  assert.equal(single(scratch.inputs.get('mask')), 'pruned[s=0.9,seed=2].mask');
  assert.equal(single(graph.byId.get('pruned[s=0.5,seed=1]')!.inputs.get('init')), 'init[seed=1].checkpoint');
});

test('a consumer of independently swept nodes gets their cross product', () => {
  const graph = graphOf(`sparsegraph: 1
name: cross
nodes:
  a:
    kind: init
    matrix: { x: [1, 2] }
    with: { seed: "\${item.x}" }
  b:
    kind: init
    foreach: [3, 4, 5]
    with: { seed: "\${item}" }
  line:
    kind: interpolate
    inputs: { start: a, end: b }
`);
  assert.deepEqual(idsOf(graph, 'line'), [
    'line[item=3,x=1]',
    'line[item=3,x=2]',
    'line[item=4,x=1]',
    'line[item=4,x=2]',
    'line[item=5,x=1]',
    'line[item=5,x=2]',
  ]);
  const line = graph.byId.get('line[item=4,x=2]')!;
  assert.equal(single(line.inputs.get('start')), 'a[x=2].checkpoint');
  assert.equal(single(line.inputs.get('end')), 'b[item=4].checkpoint');
  // Distinct instances get distinct keys.
  assert.equal(new Set(graph.instances.map((i) => i.key)).size, graph.instances.length);
});

test('a figure gathers every instance of what it references, with label and coordinates', () => {
  const graph = graphOf(SWEEP);
  const series = graph.byId.get('fig')!.inputs.get('series');
  assert.ok(series?.gather);
  // The order is part of the figure's key: upstream axes outer, the node's own axes inner.
  assert.deepEqual(
    series.items.map((i) => [i.label, i.instance, i.port, i.coords]),
    [
      ['scratch', 'scratch[s=0.5,seed=1]', 'metrics', { seed: 1, s: 0.5 }],
      ['scratch', 'scratch[s=0.9,seed=1]', 'metrics', { seed: 1, s: 0.9 }],
      ['scratch', 'scratch[s=0.5,seed=2]', 'metrics', { seed: 2, s: 0.5 }],
      ['scratch', 'scratch[s=0.9,seed=2]', 'metrics', { seed: 2, s: 0.9 }],
    ],
  );
});

test('a figure gathering a list of references labels items by position', () => {
  const graph = graphOf(`sparsegraph: 1
name: gather-list
nodes:
  a:
    kind: init
    foreach: [1, 2]
    with: { seed: "\${item}" }
  e:
    kind: evaluate
    inputs: { target: a }
  f:
    kind: evaluate
    inputs: { target: a }
    with: { points: 3 }
  fig:
    kind: figure
    inputs: { series: [e.metrics, f.landscape] }
    with: { plot: barrier-table }
`);
  const series = graph.byId.get('fig')!.inputs.get('series');
  assert.ok(series?.gather);
  assert.deepEqual(
    series.items.map((i) => `${i.label}:${i.instance}.${i.port}`),
    ['0:e[item=1].metrics', '0:e[item=2].metrics', '1:f[item=1].landscape', '1:f[item=2].landscape'],
  );
});

test('--set of a list param changes the number of instances', () => {
  const count = (graph: ValidGraph, nodeId: string) => idsOf(graph, nodeId).length;
  const base = graphOf(SWEEP);
  assert.deepEqual([count(base, 'init'), count(base, 'pruned'), count(base, 'scratch'), count(base, 'fig')], [2, 4, 4, 1]);
  const more = graphOf(SWEEP, ['sparsities=[0.5, 0.8, 0.9]', 'seeds=[1, 2, 3]']);
  assert.deepEqual([count(more, 'init'), count(more, 'pruned'), count(more, 'scratch'), count(more, 'fig')], [3, 9, 9, 1]);
  const series = more.byId.get('fig')!.inputs.get('series');
  assert.ok(series?.gather);
  assert.equal(series.items.length, 9);
  const one = graphOf(SWEEP, ['seeds=[7]']);
  assert.deepEqual(idsOf(one, 'init'), ['init[seed=7]']);
  assert.deepEqual(idsOf(one, 'scratch'), ['scratch[s=0.5,seed=7]', 'scratch[s=0.9,seed=7]']);
});

test('instances come in dependency order', () => {
  const graph = graphOf(SWEEP);
  const position = new Map(graph.instances.map((i, n) => [i.id, n]));
  for (const instance of graph.instances) {
    for (const binding of instance.inputs.values()) {
      const upstream = binding.gather ? binding.items.map((i) => i.instance) : [binding.instance];
      for (const u of upstream) assert.ok(position.get(u)! < position.get(instance.id)!, `${u} before ${instance.id}`);
    }
  }
});
