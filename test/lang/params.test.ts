/**
 * Params, references and imports in valid pipelines: what values nodes end up with.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { graphOf, repoRoot, validDir, validGraph } from './helpers.js';

const PARAMS = `sparsegraph: 1
name: params
params:
  base_lr: 0.1
  lr: "\${params.base_lr}"
  sparsity: 0.9
  training: { epochs: 2 }
nodes:
  init:
    kind: init
  dense:
    kind: train-dense
    inputs: { init: init }
    with: { lr: "\${params.lr}", epochs: "\${params.training.epochs}" }
  fig:
    kind: figure
    inputs: { series: dense.metrics }
    with: { plot: paths, title: "lr \${params.lr} at \${params.sparsity}" }
`;

test('a reference keeps the type of the value; inside a longer string it is spliced in as text', () => {
  const graph = graphOf(PARAMS);
  assert.equal(graph.byId.get('dense')!.params['lr'], 0.1);
  assert.equal(graph.byId.get('dense')!.params['epochs'], 2);
  assert.equal(graph.byId.get('fig')!.params['title'], 'lr 0.1 at 0.9');
});

test('--set reaches params that refer to the overridden one, and nested params', () => {
  const graph = graphOf(PARAMS, ['base_lr=0.3', 'training.epochs=5']);
  assert.equal(graph.byId.get('dense')!.params['lr'], 0.3);
  assert.equal(graph.byId.get('dense')!.params['epochs'], 5);
  assert.equal(graph.byId.get('fig')!.params['title'], 'lr 0.3 at 0.9');
});

test('--set values are typed as YAML', () => {
  const graph = graphOf(PARAMS, ['training={ epochs: 1.5 }', 'sparsity=0.75']);
  assert.equal(graph.byId.get('dense')!.params['epochs'], 1.5);
  assert.equal(graph.byId.get('fig')!.params['title'], 'lr 0.1 at 0.75');
});

test(
  'a param may refer to a param that refers to another',
  () => {
    const graph = graphOf(`sparsegraph: 1
name: chain
params:
  base: 3
  mid: "\${params.base}"
  top: "\${params.mid}"
nodes:
  init:
    kind: init
    with: { seed: "\${params.top}" }
`);
    assert.equal(graph.byId.get('init')!.params['seed'], 3);
  },
);

test('imports: ids are prefixed by `as`, params are overridden in the importer\'s scope, defaults apply across files', () => {
  const graph = validGraph(join(validDir, 'imports.yaml'));
  assert.deepEqual(
    graph.instances.map((i) => i.id).sort(),
    ['curve', 'eval', 'high/init', 'high/lottery', 'high/lottery-init', 'high/pruned', 'low/init', 'low/lottery', 'low/lottery-init', 'low/pruned', 'paths'],
  );
  assert.equal(graph.byId.get('low/pruned')!.params['sparsity'], 0.5);
  assert.equal(graph.byId.get('high/pruned')!.params['sparsity'], 0.95);
  assert.equal(graph.byId.get('high/init')!.params['seed'], 3);
  assert.equal(graph.byId.get('low/init')!.params['seed'], 0);
  // The importer's defaults reach the imported nodes.
  assert.equal(graph.byId.get('low/lottery')!.params['lr'], 0.05);
  const curve = graph.byId.get('curve')!.inputs.get('start');
  assert.ok(curve && !curve.gather);
  assert.equal(curve.instance, 'low/lottery');
});

test('the quickstart pipeline analyses to its sixteen node instances with the defaults it declares', () => {
  const graph = validGraph(join(repoRoot, 'pipelines/quickstart.yaml'));
  assert.deepEqual(graph.instances.map((i) => i.id).sort(), [
    'claims',
    'curve[subspace=dense]',
    'curve[subspace=sparse]',
    'evaluate-lottery',
    'evaluate-pruned',
    'evaluate-scratch',
    'init',
    'line',
    'line-init',
    'lottery',
    'lottery-init',
    'paths',
    'pruned',
    'scratch',
    'scratch-init',
    'sparse-init',
  ]);
  assert.equal(graph.byId.get('scratch')!.params['lr'], 0.1);
  assert.equal(graph.byId.get('scratch')!.params['epochs'], 3);
  assert.equal(graph.byId.get('pruned')!.params['sparsity'], 0.9);
});
