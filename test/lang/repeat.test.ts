/**
 * Repeat groups: a sub-graph declared once and expanded per level, each level fed by the one before
 * (`prev.NODE`), level 1 by `first`, `${level}` and arithmetic in values. Ids, bindings, keys that depend
 * only on levels up to their own (so raising the count plans only the new level), sweeps, imports and
 * gathering. Misuse is covered by the corpus (repeat-*.yaml).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { test } from 'node:test';
import type { NodeKey } from '../../base/brand.js';
import type { ValidGraph } from '../../engine/lang/analyze.js';
import type { Binding } from '../../engine/lang/expand.js';
import { evaluate } from '../../engine/lang/expression.js';
import { lastRunOf, matchInstances, planGraph } from '../../engine/plan.js';
import { changedIds, graphOf, keyMap, scratchDir, validGraph, writeFiles } from './helpers.js';

/** IMP's shape: a dense run, then per level prune one-shot -> rewind -> retrain; evaluations and a figure outside. */
const IMP = `sparsegraph: 1
name: repeat
params:
  levels: 3
nodes:
  init:
    kind: init
    with: { seed: 0 }
  dense:
    kind: train-dense
    inputs: { init: init }
    with: { snapshot_step: 10 }
  imp:
    repeat: "\${params.levels}"
    first: { train: dense.checkpoint }
    nodes:
      prune:
        kind: prune
        inputs: { init: prev.train.checkpoint }
        with: { method: one-shot, scope: global, exclude: [fc3.weight], sparsity: "\${1 - 0.8 ** level}" }
      rewind:
        kind: lottery-reset
        inputs: { weights: dense.snapshot, mask: prune.mask }
      train:
        kind: train-sparse-scratch
        inputs: { init: rewind, mask: prune.mask }
  eval:
    kind: evaluate
    inputs: { target: imp/train.checkpoint }
  fig:
    kind: figure
    inputs: { series: { imp: eval.metrics } }
    with: { plot: sparsity-sweep, x: level }
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

/** A store holding exactly what a run of `graph` left: its keys, and each id's last run. */
function storeAfter(graph: ValidGraph) {
  const keys = new Set<NodeKey>(graph.instances.map((i) => i.key));
  const last = new Map(graph.instances.map((i) => [i.id, lastRunOf(i)]));
  return { has: (key: NodeKey) => keys.has(key), lastRun: (_pipeline: string, id: string) => last.get(id) };
}

test('a repeat group declares its nodes once per level: ids GROUP/NODE[level=k], level k fed by level k-1', () => {
  const graph = graphOf(IMP);
  assert.deepEqual(idsOf(graph, 'imp/prune'), ['imp/prune[level=1]', 'imp/prune[level=2]', 'imp/prune[level=3]']);
  assert.deepEqual(idsOf(graph, 'imp/train'), ['imp/train[level=1]', 'imp/train[level=2]', 'imp/train[level=3]']);
  assert.equal(graph.instances.length, 2 + 3 * 3 + 3 + 1);
  // Level 1 reads what `first` names; level k reads level k-1 through prev; the rest is the same level.
  assert.equal(single(graph.byId.get('imp/prune[level=1]')!.inputs.get('init')), 'dense.checkpoint');
  assert.equal(single(graph.byId.get('imp/prune[level=2]')!.inputs.get('init')), 'imp/train[level=1].checkpoint');
  assert.equal(single(graph.byId.get('imp/prune[level=3]')!.inputs.get('init')), 'imp/train[level=2].checkpoint');
  assert.equal(single(graph.byId.get('imp/rewind[level=3]')!.inputs.get('weights')), 'dense.snapshot');
  assert.equal(single(graph.byId.get('imp/rewind[level=3]')!.inputs.get('mask')), 'imp/prune[level=3].mask');
  assert.equal(single(graph.byId.get('imp/train[level=2]')!.inputs.get('init')), 'imp/rewind[level=2].checkpoint');
  // ${level} in arithmetic: sparsity 1 - 0.8^L, rounded to 12 significant digits.
  assert.deepEqual(
    idsOf(graph, 'imp/prune').map((id) => graph.byId.get(id)!.params['sparsity']),
    [0.2, 0.36, 0.488],
  );
  assert.deepEqual(graph.byId.get('imp/train[level=2]')!.coords, { level: 2 });
  // Outside the group, a node that reads a node of the group follows its levels.
  assert.deepEqual(idsOf(graph, 'eval'), ['eval[level=1]', 'eval[level=2]', 'eval[level=3]']);
  assert.equal(single(graph.byId.get('eval[level=2]')!.inputs.get('target')), 'imp/train[level=2].checkpoint');
});

test('a figure gathers every level, with the level as a coordinate', () => {
  const graph = graphOf(IMP);
  const series = graph.byId.get('fig')!.inputs.get('series');
  assert.ok(series?.gather);
  assert.deepEqual(
    series.items.map((i) => [i.label, i.instance, i.port, i.coords]),
    [
      ['imp', 'eval[level=1]', 'metrics', { level: 1 }],
      ['imp', 'eval[level=2]', 'metrics', { level: 2 }],
      ['imp', 'eval[level=3]', 'metrics', { level: 3 }],
    ],
  );
  // A figure may gather the group's node itself just as well.
  const direct = graphOf(IMP.replace('series: { imp: eval.metrics }', 'series: { imp: imp/train.metrics }'));
  const items = direct.byId.get('fig')!.inputs.get('series');
  assert.ok(items?.gather);
  assert.deepEqual(items.items.map((i) => i.instance), ['imp/train[level=1]', 'imp/train[level=2]', 'imp/train[level=3]']);
});

test("level k's key depends only on levels up to k: raising the count from 3 to 4 plans exactly level 4 as run", () => {
  const three = graphOf(IMP);
  const four = graphOf(IMP, ['levels=4']);
  const before = keyMap(three);
  const after = keyMap(four);
  for (const [id, key] of before) if (id !== 'fig') assert.equal(after.get(id), key, id);
  const added = [...after.keys()].filter((id) => !before.has(id)).sort();
  assert.deepEqual(added, ['eval[level=4]', 'imp/prune[level=4]', 'imp/rewind[level=4]', 'imp/train[level=4]']);
  assert.deepEqual(changedIds(three, four), [...added, 'fig'].sort());

  const plan = planGraph(four, storeAfter(three));
  assert.deepEqual(
    plan.filter((e) => e.status === 'run').map((e) => [e.id, e.reason]),
    [
      ['imp/prune[level=4]', 'never run'],
      ['imp/rewind[level=4]', 'never run'],
      ['imp/train[level=4]', 'never run'],
      ['eval[level=4]', 'never run'],
      ['fig', 'input series changed'],
    ],
  );
  assert.equal(plan.filter((e) => e.status === 'cached').length, three.instances.length - 1);
  // Lowering the count keeps every remaining level cached.
  const two = planGraph(graphOf(IMP, ['levels=2']), storeAfter(three));
  assert.deepEqual(two.filter((e) => e.status === 'run').map((e) => e.id), ['fig']);
});

test('the keys of a small repeat group are pinned', () => {
  const graph = graphOf(`sparsegraph: 1
name: pinned-repeat
nodes:
  init:
    kind: init
    with: { seed: 3 }
  chain:
    repeat: 2
    first: { p: init }
    nodes:
      p:
        kind: prune
        inputs: { init: prev.p.checkpoint }
        with: { method: one-shot, sparsity: "\${0.25 * level}", epochs: 1 }
`);
  assert.deepEqual(Object.fromEntries(keyMap(graph)), {
    init: '261fb59762a34a1b6459d1f6e613593e601f94bb6688f4b21ed00f0305fdfb00',
    'chain/p[level=1]': 'f559ae273280d586943304ca2c0614f39d66c1df7c52fd41d65e0a80152fc98d',
    'chain/p[level=2]': 'ca8595f04ec206e960f2b8abdc7968ea88c00c472827a3c4e153c5796bfd710e',
  });
  // Level 1 recomputed from the key's definition (sha256 of canonical JSON, see keys.test.ts), written out
  // by hand: prune's defaults, sparsity 0.25 * 1, and init's checkpoint as its input. No group, no level.
  const level1 = createHash('sha256')
    .update(
      '{"format":1,"inputs":{"init":{"key":"261fb59762a34a1b6459d1f6e613593e601f94bb6688f4b21ed00f0305fdfb00","port":"checkpoint"}},"kind":"prune",' +
        '"params":{"batch_size":128,"begin_step":3000,"data_seed":0,"dataset":{"name":"mnist"},"end_step":7000,"epochs":1,"exclude":[],"finetune":false,' +
        '"frequency":100,"initial_sparsity":0,"label_smoothing":0,"lr":0.2,"lr_gamma":0.1,"lr_milestones":[],"method":"one-shot","momentum":0.9,' +
        '"nesterov":false,"rewind_step":0,"schedule":"cosine","scope":"layerwise","sparsity":0.25,"warmup_steps":0,"weight_decay":0.0001},"version":2}',
    )
    .digest('hex');
  assert.equal(level1, 'f559ae273280d586943304ca2c0614f39d66c1df7c52fd41d65e0a80152fc98d');
  // A level keys like the same nodes written out by hand: neither the group nor the level enters a key.
  const byHand = graphOf(`sparsegraph: 1
name: by-hand
nodes:
  init: { kind: init, with: { seed: 3 } }
  p1: { kind: prune, inputs: { init: init }, with: { method: one-shot, sparsity: 0.25, epochs: 1 } }
  p2: { kind: prune, inputs: { init: p1.checkpoint }, with: { method: one-shot, sparsity: 0.5, epochs: 1 } }
`);
  assert.equal(byHand.byId.get('p1')!.key, graph.byId.get('chain/p[level=1]')!.key);
  assert.equal(byHand.byId.get('p2')!.key, graph.byId.get('chain/p[level=2]')!.key);
});

test('a repeat group composes with a sweep: one chain per seed, each level joined on the seed', () => {
  const graph = graphOf(
    IMP.replace('    with: { seed: 0 }', '    matrix: { seed: [1, 2] }\n    with: { seed: "${item.seed}" }'),
    ['levels=2'],
  );
  assert.deepEqual(idsOf(graph, 'imp/prune'), ['imp/prune[level=1,seed=1]', 'imp/prune[level=1,seed=2]', 'imp/prune[level=2,seed=1]', 'imp/prune[level=2,seed=2]']);
  assert.equal(single(graph.byId.get('imp/prune[level=1,seed=2]')!.inputs.get('init')), 'dense[seed=2].checkpoint');
  assert.equal(single(graph.byId.get('imp/prune[level=2,seed=2]')!.inputs.get('init')), 'imp/train[level=1,seed=2].checkpoint');
  assert.equal(single(graph.byId.get('imp/rewind[level=2,seed=1]')!.inputs.get('weights')), 'dense[seed=1].snapshot');
  assert.deepEqual(idsOf(graph, 'eval'), ['eval[level=1,seed=1]', 'eval[level=1,seed=2]', 'eval[level=2,seed=1]', 'eval[level=2,seed=2]']);
  const series = graph.byId.get('fig')!.inputs.get('series');
  assert.ok(series?.gather);
  assert.equal(series.items.length, 4);
  assert.equal(new Set(graph.instances.map((i) => i.key)).size, graph.instances.length);
  // --only and --force take a node id with some of its coordinates: level 2 of every seed.
  assert.deepEqual([...matchInstances(graph, ['imp/train[level=2]']).matched].sort(), ['imp/train[level=2,seed=1]', 'imp/train[level=2,seed=2]']);
  assert.deepEqual([...matchInstances(graph, ['imp/train[seed=1,level=2]']).matched], ['imp/train[level=2,seed=1]']);
});

test('an axis a node of the group sweeps is carried to the next level, joined rather than crossed', () => {
  const graph = graphOf(
    IMP.replace(
      'sparsity: "${1 - 0.8 ** level}" }',
      'sparsity: "${1 - (1 - item.rate) ** level}" }\n        matrix: { rate: [0.2, 0.5] }',
    ),
    ['levels=2'],
  );
  assert.deepEqual(idsOf(graph, 'imp/prune'), ['imp/prune[level=1,rate=0.2]', 'imp/prune[level=1,rate=0.5]', 'imp/prune[level=2,rate=0.2]', 'imp/prune[level=2,rate=0.5]']);
  assert.equal(single(graph.byId.get('imp/prune[level=2,rate=0.5]')!.inputs.get('init')), 'imp/train[level=1,rate=0.5].checkpoint');
  assert.equal(graph.byId.get('imp/prune[level=2,rate=0.5]')!.params['sparsity'], 0.75);
  assert.deepEqual(idsOf(graph, 'imp/train'), ['imp/train[level=1,rate=0.2]', 'imp/train[level=1,rate=0.5]', 'imp/train[level=2,rate=0.2]', 'imp/train[level=2,rate=0.5]']);
});

test('a repeat group in an imported file: prefixed ids, its first resolved in that file, its count from the importer', () => {
  const dir = scratchDir();
  writeFiles(dir, {
    'lib/imp.yaml': `sparsegraph: 1
name: piece
params: { levels: 1, seed: 0 }
nodes:
  init: { kind: init, with: { seed: "\${params.seed}" } }
  dense: { kind: train-dense, inputs: { init: init } }
  imp:
    repeat: "\${params.levels}"
    first: { train: dense.checkpoint }
    nodes:
      prune:
        kind: prune
        inputs: { init: prev.train.checkpoint }
        with: { method: one-shot, sparsity: "\${1 - 0.8 ** level}" }
      train:
        kind: train-sparse-scratch
        inputs: { init: prune.checkpoint, mask: prune.mask }
`,
    'main.yaml': `sparsegraph: 1
name: main
imports:
  - { file: lib/imp.yaml, as: a, params: { levels: 2 } }
  - { file: lib/imp.yaml, as: b, params: { levels: 3, seed: 1 } }
nodes:
  fig:
    kind: figure
    inputs: { series: { a: a/imp/train.metrics, b: b/imp/train.metrics } }
    with: { plot: sparsity-sweep, x: level }
`,
  });
  const graph = validGraph(join(dir, 'main.yaml'));
  assert.deepEqual(idsOf(graph, 'a/imp/train'), ['a/imp/train[level=1]', 'a/imp/train[level=2]']);
  assert.deepEqual(idsOf(graph, 'b/imp/train'), ['b/imp/train[level=1]', 'b/imp/train[level=2]', 'b/imp/train[level=3]']);
  assert.equal(single(graph.byId.get('a/imp/prune[level=1]')!.inputs.get('init')), 'a/dense.checkpoint');
  assert.equal(single(graph.byId.get('b/imp/prune[level=3]')!.inputs.get('init')), 'b/imp/train[level=2].checkpoint');
  const series = graph.byId.get('fig')!.inputs.get('series');
  assert.ok(series?.gather);
  assert.deepEqual(series.items.map((i) => `${i.label}:${i.instance}`), [
    'a:a/imp/train[level=1]',
    'a:a/imp/train[level=2]',
    'b:b/imp/train[level=1]',
    'b:b/imp/train[level=2]',
    'b:b/imp/train[level=3]',
  ]);
});

test('${...} computes + - * / ** with parentheses on numbers and references; results rounded to 12 digits', () => {
  const none = () => undefined;
  const value = (text: string, refs: Record<string, unknown> = {}) => {
    const out = evaluate(text, (path) => (path in refs ? { value: refs[path] } : none()));
    return out && 'value' in out ? out.value : out;
  };
  assert.equal(value('1 - 0.8 ** 3'), 0.488);
  assert.equal(value('1 - 0.8 ** level', { level: 5 }), 0.67232);
  assert.equal(value('-2 ** 2'), -4);
  assert.equal(value('2 ** 3 ** 2'), 512);
  assert.equal(value('(1 + 2) * 3 - 4 / 8'), 8.5);
  assert.equal(value('2e-3 * params.n', { 'params.n': 500 }), 1);
  assert.equal(value('level - 1', { level: 3 }), 2);
  assert.equal(value('0.1 + 0.2'), 0.3);
  assert.deepEqual(value('0.8 ^ 2'), { message: "${0.8 ^ 2}: '^' is not an operator here: write ** for a power (0.8 ** level)" });
  assert.deepEqual(value('1 +'), { message: '${1 +}: the expression ends too early: expected a number, a reference or (' });
  assert.deepEqual(value('(1 + 2'), { message: "${(1 + 2}: expected ')' at the end" });
  assert.deepEqual(value('1 2'), { message: "${1 2}: expected an operator at '2'" });
  assert.deepEqual(value('params.s * 2', { 'params.s': 'x' }), { message: `\${params.s * 2}: 'params.s' is the string "x"; arithmetic needs numbers` });
  assert.deepEqual(value('1 / (level - 1)', { level: 1 }), { message: '${1 / (level - 1)} is not a finite number (got Infinity)' });
  // A reference that reports its own problem makes the whole value unknown, without a second message.
  assert.equal(value('params.missing * 2'), undefined);

  // In a pipeline: params may compute from params, and a computed value keys like the literal.
  const computed = graphOf(`sparsegraph: 1
name: arithmetic
params: { base: 0.1, lr: "\${params.base * 2}" }
nodes:
  init: { kind: init }
  dense: { kind: train-dense, inputs: { init: init }, with: { lr: "\${params.lr}", epochs: "\${10 / 4}", weight_decay: "\${1 - 0.8 ** 3}" } }
`);
  const dense = computed.byId.get('dense')!;
  assert.deepEqual([dense.params['lr'], dense.params['epochs'], dense.params['weight_decay']], [0.2, 2.5, 0.488]);
  const literal = graphOf(`sparsegraph: 1
name: literal
nodes:
  init: { kind: init }
  dense: { kind: train-dense, inputs: { init: init }, with: { lr: 0.2, epochs: 2.5, weight_decay: 0.488 } }
`);
  assert.equal(dense.key, literal.byId.get('dense')!.key);
});

test('a group without prev is a sweep over levels; a level node not reading the group keys alike at every level', () => {
  const graph = graphOf(`sparsegraph: 1
name: levels
nodes:
  g:
    repeat: 3
    nodes:
      init: { kind: init, with: { seed: "\${level}" } }
      same: { kind: init, with: { seed: 7 } }
`);
  assert.deepEqual(idsOf(graph, 'g/init'), ['g/init[level=1]', 'g/init[level=2]', 'g/init[level=3]']);
  assert.deepEqual(idsOf(graph, 'g/init').map((id) => graph.byId.get(id)!.params['seed']), [1, 2, 3]);
  assert.equal(new Set(idsOf(graph, 'g/same').map((id) => graph.byId.get(id)!.key)).size, 1);
});
