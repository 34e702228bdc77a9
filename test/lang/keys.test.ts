/**
 * Cache keys: what must not change them (formatting, comments, quoting, key order, node ids, file
 * location, defaults written out) and exactly what a change invalidates (the changed node and
 * everything downstream, nothing else).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { test } from 'node:test';
import { analyze } from '../../engine/lang/analyze.js';
import { KindRegistry } from '../../engine/registry.js';
import { builtinKinds } from '../../nodes/index.js';
import { changedIds, graphOf, keyMap, scratchDir, validGraph, writeFiles } from './helpers.js';

interface Ids {
  init: string;
  pruned: string;
  scratchInit: string;
  scratch: string;
  line: string;
  other: string;
  dense: string;
}

/** init -> pruned -> scratch-init -> scratch -> line, plus an unrelated branch other -> dense. */
function pipeline(id: Ids): string {
  return `sparsegraph: 1
name: keys
params:
  sparsity: 0.9
nodes:
  ${id.init}:
    kind: init
    with: { seed: 0 }
  ${id.pruned}:
    kind: prune
    inputs: { init: ${id.init} }
    with: { sparsity: "\${params.sparsity}", frequency: 50 }
  ${id.scratchInit}:
    kind: init
    inputs: { mask: ${id.pruned}.mask }
    with: { seed: 1 }
  ${id.scratch}:
    kind: train-sparse-scratch
    inputs: { init: ${id.scratchInit}, mask: ${id.pruned}.mask }
  ${id.line}:
    kind: interpolate
    inputs: { start: ${id.scratch}, end: ${id.pruned}.checkpoint }
  ${id.other}:
    kind: init
    with: { seed: 7 }
  ${id.dense}:
    kind: train-dense
    inputs: { init: ${id.other} }
`;
}

const IDS: Ids = { init: 'init', pruned: 'pruned', scratchInit: 'scratch-init', scratch: 'scratch', line: 'line', other: 'other', dense: 'dense' };
const BASE = pipeline(IDS);

const ALL = ['dense', 'init', 'line', 'other', 'pruned', 'scratch', 'scratch-init'];

/** The same pipeline: block instead of flow style and back, comments, quotes, reordered keys, blank lines. */
const REFORMATTED = `# A comment at the top.
nodes:
  dense: { inputs: { init: 'other' }, kind: "train-dense" }   # flow style, keys reordered

  line:
    inputs:
      end: "pruned.checkpoint"
      start: scratch
    kind: interpolate
  other: {kind: init, with: {seed: 7}}
  scratch:
    # the mask comes first here
    inputs: { mask: pruned.mask,   init: scratch-init }
    kind:   train-sparse-scratch
  scratch-init:
    with:
      seed: 0x1
    kind: 'init'
    inputs:
      mask: pruned.mask
  pruned:
    with:
      frequency: 5.0e1
      sparsity: '\${params.sparsity}'
    inputs: {init: init}
    kind: prune
  init: { kind: init, with: { seed: 0 } }
params: { "sparsity": 0.90 }
name: "keys"
sparsegraph: 1
`;

test('keys do not change with formatting, comments, quoting, key order or number spelling', () => {
  const base = graphOf(BASE);
  assert.deepEqual([...keyMap(base).keys()].sort(), ALL);
  assert.deepEqual(keyMap(graphOf(REFORMATTED)), keyMap(base));
});

test('renaming node ids leaves every key as it was', () => {
  const renamed: Ids = {
    init: 'w0',
    pruned: 'magnitude',
    scratchInit: 'fresh_init',
    scratch: 'from-scratch',
    line: 'path',
    other: 'baseline-init',
    dense: 'baseline',
  };
  const before = keyMap(graphOf(BASE));
  const after = keyMap(graphOf(pipeline(renamed)));
  assert.deepEqual([...after.keys()].sort(), ['baseline', 'baseline-init', 'fresh_init', 'from-scratch', 'magnitude', 'path', 'w0']);
  assert.deepEqual([...after.values()].sort(), [...before.values()].sort());
  for (const role of Object.keys(IDS) as (keyof Ids)[]) assert.equal(after.get(renamed[role]), before.get(IDS[role]), role);
});

test('moving the pipeline file to another directory (with what it imports) leaves every key as it was', () => {
  const unit = BASE.replace('name: keys', 'name: unit');
  const importer = `sparsegraph: 1
name: importer
imports:
  - { file: lib/unit.yaml, as: u, params: { sparsity: 0.8 } }
nodes:
  eval:
    kind: evaluate
    inputs: { target: u/scratch }
`;
  const dir = scratchDir();
  writeFiles(dir, { 'a/p.yaml': importer, 'a/lib/unit.yaml': unit, 'b/c/d/other-name.yaml': importer, 'b/c/d/lib/unit.yaml': unit });
  const first = keyMap(validGraph(join(dir, 'a/p.yaml')));
  assert.equal(first.size, 8);
  assert.deepEqual(keyMap(validGraph(join(dir, 'b/c/d/other-name.yaml'))), first);
});

test('changing one parameter changes exactly that node and everything downstream', () => {
  const base = graphOf(BASE);
  assert.deepEqual(changedIds(base, graphOf(BASE.replace('frequency: 50', 'frequency: 60'))), [
    'line',
    'pruned',
    'scratch',
    'scratch-init',
  ]);
  assert.deepEqual(changedIds(base, graphOf(BASE.replace('with: { seed: 1 }', 'with: { seed: 2 }'))), ['line', 'scratch', 'scratch-init']);
  assert.deepEqual(changedIds(base, graphOf(BASE.replace('with: { seed: 7 }', 'with: { seed: 8 }'))), ['dense', 'other']);
  assert.deepEqual(changedIds(base, graphOf(BASE.replace('kind: interpolate', 'kind: interpolate\n    with: { points: 5 }'))), ['line']);
});

test('a --set of a param changes exactly the nodes that use it and everything downstream', () => {
  const base = graphOf(BASE);
  assert.deepEqual(changedIds(base, graphOf(BASE, ['sparsity=0.8'])), ['line', 'pruned', 'scratch', 'scratch-init']);
  assert.deepEqual(changedIds(base, graphOf(BASE, ['sparsity=0.9'])), []);
});

test('a salt, or a new salt, changes exactly that node and everything downstream', () => {
  const base = graphOf(BASE);
  const salted = BASE.replace('    with: { seed: 1 }', '    with: { seed: 1 }\n    salt: rerun-2');
  assert.notEqual(salted, BASE);
  assert.deepEqual(changedIds(base, graphOf(salted)), ['line', 'scratch', 'scratch-init']);
  const otherSalt = graphOf(salted.replace('salt: rerun-2', 'salt: rerun-3'));
  assert.deepEqual(changedIds(graphOf(salted), otherSalt), ['line', 'scratch', 'scratch-init']);
  assert.equal(graphOf(salted).byId.get('scratch-init')!.components.salt, 'rerun-2');
});

test('a description never changes a key', () => {
  const described = BASE.replace('  other:\n    kind: init', '  other:\n    description: the baseline\n    kind: init');
  assert.notEqual(described, BASE);
  assert.deepEqual(changedIds(graphOf(BASE), graphOf(described)), []);
});

test('defaults are applied before hashing: writing a default value gives the key of leaving it out', () => {
  const base = graphOf(BASE);
  const explicit = BASE.replace(
    'inputs: { start: scratch, end: pruned.checkpoint }',
    'inputs: { start: scratch, end: pruned.checkpoint }\n    with: { points: 29, from: -0.2, to: 1.2, splits: [train], dataset: { name: mnist } }',
  ).replace('frequency: 50', 'frequency: 50, method: gradual, initial_sparsity: 0, exclude: []');
  assert.notEqual(explicit, BASE);
  assert.deepEqual(changedIds(base, graphOf(explicit)), []);
  assert.equal(base.byId.get('line')!.params['points'], 29);
});

test('a value from params, from the pipeline defaults or written in the node gives the same key', () => {
  const base = keyMap(graphOf(BASE));
  const literal = BASE.replace('sparsity: "${params.sparsity}"', 'sparsity: 0.9');
  const fromDefaults = BASE.replace('frequency: 50 }', '}').replace('nodes:\n', 'defaults:\n  prune: { frequency: 50 }\nnodes:\n');
  assert.notEqual(literal, BASE);
  assert.notEqual(fromDefaults, BASE);
  assert.deepEqual(keyMap(graphOf(literal)), base);
  assert.deepEqual(keyMap(graphOf(fromDefaults)), base);
});

test('a new version of a kind changes the keys of its nodes and everything downstream', () => {
  const dir = scratchDir();
  writeFiles(dir, { 'p.yaml': BASE });
  const bumped = new KindRegistry(builtinKinds.map((k) => (k.kind === 'train-sparse-scratch' ? { ...k, version: k.version + 1 } : k)));
  const result = analyze(join(dir, 'p.yaml'), { registry: bumped });
  assert.ok(result.ok);
  assert.deepEqual(changedIds(validGraph(join(dir, 'p.yaml')), result.graph), ['line', 'scratch']);
});

test('the key records its components: kind, version, params with defaults, and upstream keys', () => {
  const graph = graphOf(BASE);
  const scratch = graph.byId.get('scratch')!;
  assert.equal(scratch.components.kind, 'train-sparse-scratch');
  assert.equal(scratch.components.version, 2);
  assert.equal((scratch.components.params as Record<string, unknown>)['epochs'], 25);
  assert.deepEqual(scratch.components.inputs, {
    init: { key: graph.byId.get('scratch-init')!.key, port: 'checkpoint' },
    mask: { key: graph.byId.get('pruned')!.key, port: 'mask' },
  });
});

/**
 * Pinned keys: if these change, every result already in users' caches is orphaned. Change them only
 * on purpose (a new key format or kind version), never as a side effect. Issue 7 moved every kind that
 * gained its science to version 2.
 */
test('the keys of a small pipeline are pinned', () => {
  const graph = graphOf(`sparsegraph: 1
name: pinned
nodes:
  init:
    kind: init
    with: { seed: 3 }
  pruned:
    kind: prune
    inputs: { init: init }
    with: { sparsity: 0.5, epochs: 1 }
`);
  assert.deepEqual(Object.fromEntries(keyMap(graph)), {
    init: '261fb59762a34a1b6459d1f6e613593e601f94bb6688f4b21ed00f0305fdfb00',
    pruned: '75d8d4f75e1234bfe5623532e7bd331194a783e87d4c2cabab42e63e9fe78ef4',
  });
});

/**
 * The pinned keys above, recomputed from the key's documented definition (engine/keys.ts) without the
 * code that computes it: sha256 of the canonical JSON (RFC 8785: keys sorted by code point, no spaces,
 * ECMAScript number spelling) of { format, kind, version, params with every default, inputs }, written
 * out here by hand, defaults from each kind's schema. A pinned value is then not only the code's own output.
 */
test('the pinned keys are sha256 of the canonical JSON of their documented components', () => {
  const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');
  const init = sha256(
    '{"format":1,"inputs":{},"kind":"init","params":{"arch":"lenet300","classes":10,"initializer":"glorot_uniform","input_shape":[784],"seed":3,"stream":"init"},"version":2}',
  );
  assert.equal(init, '261fb59762a34a1b6459d1f6e613593e601f94bb6688f4b21ed00f0305fdfb00');
  const pruned = sha256(
    `{"format":1,"inputs":{"init":{"key":"${init}","port":"checkpoint"}},"kind":"prune","params":{"batch_size":128,"begin_step":3000,` +
      '"data_seed":0,"dataset":{"name":"mnist"},"end_step":7000,"epochs":1,"exclude":[],"finetune":false,"frequency":100,"initial_sparsity":0,' +
      '"label_smoothing":0,"lr":0.2,"lr_gamma":0.1,"lr_milestones":[],"method":"gradual","momentum":0.9,"nesterov":false,"rewind_step":0,' +
      '"schedule":"cosine","scope":"layerwise","sparsity":0.5,"warmup_steps":0,"weight_decay":0.0001},"version":2}',
  );
  assert.equal(pruned, '75d8d4f75e1234bfe5623532e7bd331194a783e87d4c2cabab42e63e9fe78ef4');
});
