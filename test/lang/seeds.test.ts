/**
 * What a seed sets in the shipped pipelines, read from `plan --json` as a user sees it: the seed sets
 * the data order (`data_seed`) of every training run and the t sequence (`t_seed`) of every Bezier fit,
 * not only the initial weights; and the runs the paper compares at one seed (dense, pruned, scratch,
 * lottery, and the four curves) share that seed's data order (docs/paper.md, "Data order and seeds").
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot, runCli, scratchDir } from './helpers.js';

interface PlannedNode {
  readonly id: string;
  readonly kind: string;
  readonly key: string;
  readonly components: { readonly params: Record<string, unknown> };
}

async function plan(pipeline: string, set: readonly string[] = []): Promise<Map<string, PlannedNode>> {
  const args = ['plan', join(repoRoot, pipeline), '--cache', join(scratchDir('sparsegraph-seeds-'), 'cache'), '--json'];
  for (const s of set) args.push('--set', s);
  const result = await runCli(args);
  assert.equal(result.code, 0, result.stderr);
  const nodes = (JSON.parse(result.stdout) as { nodes: PlannedNode[] }).nodes;
  return new Map(nodes.map((n) => [n.id, n]));
}

const TRAINING_KINDS = new Set(['train-dense', 'prune', 'train-sparse-scratch', 'bezier-fit']);

/** The value of `name` in an instance's planned parameters (with the kind's defaults applied). */
function param(nodes: ReadonlyMap<string, PlannedNode>, id: string, name: string): unknown {
  const node = nodes.get(id);
  assert.ok(node, `no instance ${id} in the plan`);
  assert.ok(Object.hasOwn(node.components.params, name), `${id} has no parameter ${name}`);
  return node.components.params[name];
}

test('paper.yaml: seed 0 and seed 1 of the same node train on different data orders and fit curves on different t', async () => {
  const nodes = await plan('pipelines/paper.yaml');
  const compared = new Map<string, number>();
  for (const node of nodes.values()) {
    if (!TRAINING_KINDS.has(node.kind) || !node.id.includes('seed=1')) continue;
    const twin = node.id.replace('seed=1', 'seed=0');
    assert.equal(param(nodes, node.id, 'data_seed'), 1, node.id);
    assert.equal(param(nodes, twin, 'data_seed'), 0, twin);
    if (node.kind === 'bezier-fit') {
      assert.equal(param(nodes, node.id, 't_seed'), 1, node.id);
      assert.equal(param(nodes, twin, 't_seed'), 0, twin);
    }
    assert.notEqual(nodes.get(node.id)!.key, nodes.get(twin)!.key);
    const name = node.id.slice(0, node.id.indexOf('['));
    compared.set(name, (compared.get(name) ?? 0) + 1);
  }
  // Every training node of the graph, at every sparsity (and degree and subspace for the curves).
  assert.deepEqual(Object.fromEntries([...compared].sort()), { curve: 16, dense: 1, lottery: 4, pruned: 4, scratch: 4 });
});

test('paper.yaml: dense, pruned, scratch, lottery and the curves of one seed share its data order; the curves share its t', async () => {
  const nodes = await plan('pipelines/paper.yaml');
  for (const seed of [0, 1, 2]) {
    assert.equal(param(nodes, `dense[seed=${seed}]`, 'data_seed'), seed);
    for (const s of [0.8, 0.9, 0.95, 0.98]) {
      const at = `s=${s},seed=${seed}`;
      for (const name of ['pruned', 'scratch', 'lottery']) assert.equal(param(nodes, `${name}[${at}]`, 'data_seed'), seed, `${name}[${at}]`);
      for (const degree of [2, 3]) {
        for (const subspace of ['sparse', 'dense']) {
          const id = `curve[degree=${degree},${at},subspace=${subspace}]`;
          assert.equal(param(nodes, id, 'data_seed'), seed, id);
          assert.equal(param(nodes, id, 't_seed'), seed, id);
        }
      }
    }
  }
  // The scratch run still starts from its own draw of the same seed: only the data order is shared.
  assert.equal(param(nodes, 'scratch-init[s=0.9,seed=1]', 'seed'), 1);
  assert.equal(param(nodes, 'scratch-init[s=0.9,seed=1]', 'stream'), 'scratch');
});

test('quickstart.yaml: --set seed=1 moves the data order and the curves\' t with the weights', async () => {
  for (const seed of [0, 1]) {
    const nodes = await plan('pipelines/quickstart.yaml', [`seed=${seed}`]);
    assert.equal(param(nodes, 'init', 'seed'), seed);
    for (const id of ['pruned', 'scratch', 'lottery', 'curve[subspace=sparse]', 'curve[subspace=dense]']) {
      assert.equal(param(nodes, id, 'data_seed'), seed, id);
    }
    for (const id of ['curve[subspace=sparse]', 'curve[subspace=dense]']) assert.equal(param(nodes, id, 't_seed'), seed, id);
  }
});

test('the other seed sweeps: every training run of seed 1 has a data order of its own, shared within the seed', async () => {
  const imp = await plan('pipelines/imp.yaml');
  for (const seed of [0, 1, 2]) {
    assert.equal(param(imp, `dense[seed=${seed}]`, 'data_seed'), seed);
    for (const level of [1, 2, 3]) assert.equal(param(imp, `imp/train[level=${level},seed=${seed}]`, 'data_seed'), seed);
  }
  const rigl = await plan('pipelines/rigl-vs-static.yaml');
  for (const seed of [0, 1, 2]) {
    assert.equal(param(rigl, `pruned[s=0.9,seed=${seed}]`, 'data_seed'), seed);
    for (const method of ['static', 'set', 'rigl']) assert.equal(param(rigl, `sparse[method=${method},s=0.9,seed=${seed}]`, 'data_seed'), seed);
  }
  // Instability: three orders per seed (trunk, branch a, branch b), none shared across a seed sweep.
  const instability = await plan('pipelines/instability.yaml', ['seeds=[0,1]']);
  const orders = [0, 1].flatMap((seed) => ['trunk', 'branch-a', 'branch-b'].map((n) => param(instability, `${n}[k=500,seed=${seed}]`, 'data_seed')));
  assert.deepEqual(orders, [0, 1, 2, 3, 4, 5]);
});
