/**
 * pipelines/imp.yaml end to end through the CLI, shrunk by --set to a synthetic dataset and two steps
 * per training: every level prunes to 1 - 0.8^L of the prunable weights (fc3.weight kept dense) and
 * retrains with that mask from the rewind step to the end, and raising the level count runs only the new
 * level's nodes.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openStore } from '../../cache/lmdb-store.js';
import { prunedCount } from '../../science/nn/pruning.js';
import type { Checkpoint, Mask, Metrics } from '../../base/values.js';
import { cli, graphOf, tempDir, writePipeline } from '../exec/helpers.js';

const shipped = readFileSync(fileURLToPath(new URL('../../../pipelines/imp.yaml', import.meta.url)), 'utf8');
// imp.yaml trains with plain SGD, as open_lth does: momentum 0.
assert.match(shipped, /\n {4}momentum: 0\n/);
// Each level resumes the dense run at the rewind step (open_lth's rewinding), not a fresh full run.
assert.match(shipped, /with: \{ method: static, data_seed: "\$\{item\.seed\}", continue_from_step: true \}/);
const file = writePipeline(tempDir(), 'imp.yaml', shipped);
const SMALL = [
  '--set',
  'dataset={ name: synthetic, seed: 1, train: 256, test: 64, sampleShape: [784], numClasses: 10 }',
  '--set',
  'seeds=[0]',
  '--set',
  'epochs=1',
  '--set',
  'rewind_step=1',
];
// The figure kind draws from the cache; what this test checks is the training graph.
const ONLY = ['--only', 'imp/evaluate', '--only', 'evaluate-dense'];

interface Report {
  executed: string[];
  cached: string[];
  failed: { id: string; error: string }[];
}

const levelIds = (level: number) => ['prune', 'rewind', 'train', 'evaluate'].map((n) => `imp/${n}[level=${level},seed=0]`);

test('imp.yaml: level L prunes to 1 - 0.8^L and retrains on that mask; raising the count runs only the new level', async () => {
  const cache = join(tempDir(), 'cache');
  const first = await cli(['run', file, ...SMALL, ...ONLY, '--cache', cache, '--json', '--jobs', '2']);
  assert.equal(first.code, 0, first.stderr);
  const one = JSON.parse(first.stdout) as Report;
  assert.deepEqual(one.failed, []);
  assert.deepEqual(one.executed.sort(), ['dense[seed=0]', 'evaluate-dense[seed=0]', 'init[seed=0]', ...[1, 2, 3].flatMap(levelIds)].sort());

  const graph = graphOf(file, SMALL.filter((_, i) => i % 2 === 1));
  const store = await openStore(cache);
  try {
    const load = async <T>(id: string, port: string): Promise<T> => (await store.load(graph.byId.get(id)!.key))[port] as T;
    const snapshot = await load<Checkpoint>('dense[seed=0]', 'snapshot');
    assert.equal(snapshot.step, 1);
    for (const level of [1, 2, 3]) {
      const target = 1 - 0.8 ** level;
      const mask = await load<Mask>(`imp/prune[level=${level},seed=0]`, 'mask');
      const zeros = (name: string) => mask.masks[name]!.data.reduce((a, v) => a + (v === 0 ? 1 : 0), 0);
      const n = mask.masks['fc1.weight']!.data.length + mask.masks['fc2.weight']!.data.length;
      // Global pruning over the prunable tensors but the output layer, to the nearest weight.
      assert.equal(zeros('fc1.weight') + zeros('fc2.weight'), prunedCount(target, n), `level ${level}`);
      assert.equal(zeros('fc3.weight'), 0, `level ${level}: the output layer stays dense`);
      // The rewound weights are the dense run's step-k weights under the mask; training keeps the mask.
      const rewound = await load<Checkpoint>(`imp/rewind[level=${level},seed=0]`, 'checkpoint');
      const w = rewound.tensors['fc1.weight']!.data;
      const m = mask.masks['fc1.weight']!.data;
      for (let i = 0; i < w.length; i += 97) assert.equal(w[i], m[i] ? snapshot.tensors['fc1.weight']!.data[i] : 0);
      const trained = await load<Checkpoint>(`imp/train[level=${level},seed=0]`, 'checkpoint');
      assert.deepEqual(trained.masks!['fc2.weight']!.data, mask.masks['fc2.weight']!.data);
      // Rewound to step 1 of the 2-step run, the level trains step 2 alone and ends at step 2: its mean
      // training loss is that one step's loss.
      assert.equal(rewound.step, 1);
      assert.equal(trained.step, 2);
      const metrics = await load<Metrics>(`imp/train[level=${level},seed=0]`, 'metrics');
      assert.equal(metrics.values['steps'], 2);
      assert.equal(metrics.values['train_loss_running_mean'], metrics.values['last_batch_loss']);
      const t = trained.tensors['fc2.weight']!.data;
      const tm = trained.masks!['fc2.weight']!.data;
      for (let i = 0; i < t.length; i++) if (tm[i] === 0) assert.equal(t[i], 0);
    }
    // Each level prunes what the previous level kept: the masks are nested.
    const two = await load<Mask>('imp/prune[level=2,seed=0]', 'mask');
    const three = await load<Mask>('imp/prune[level=3,seed=0]', 'mask');
    const a = two.masks['fc1.weight']!.data;
    const b = three.masks['fc1.weight']!.data;
    for (let i = 0; i < a.length; i++) if (a[i] === 0) assert.equal(b[i], 0);
  } finally {
    await store.close();
  }

  const more = [...SMALL, '--set', 'levels=4'];
  const plan = await cli(['plan', file, ...more, ...ONLY, '--cache', cache, '--json']);
  assert.equal(plan.code, 0, plan.stderr);
  const entries = (JSON.parse(plan.stdout) as { nodes: { id: string; status: string; reason: string }[] }).nodes;
  assert.deepEqual(
    entries.filter((e) => e.status === 'run').map((e) => [e.id, e.reason]),
    levelIds(4).map((id) => [id, 'never run']),
  );
  const second = await cli(['run', file, ...more, ...ONLY, '--cache', cache, '--json']);
  assert.equal(second.code, 0, second.stderr);
  const report = JSON.parse(second.stdout) as Report;
  assert.deepEqual(report.executed.sort(), levelIds(4).sort());
  assert.equal(report.cached.length, one.executed.length);
});

test('plain SGD (momentum 0, as imp.yaml and instability.yaml train) takes effect: only the velocity differs from momentum 0.9', async () => {
  const dir = tempDir();
  const train = (momentum: number) =>
    `{ kind: train-dense, inputs: { init: init }, with: { dataset: { name: synthetic, seed: 3, train: 64, test: 16, sampleShape: [8], numClasses: 3 }, epochs: 1, batch_size: 32, snapshot_step: 1, momentum: ${momentum} } }`;
  const pipeline = writePipeline(
    dir,
    'sgd.yaml',
    `sparsegraph: 1
name: plain-sgd
nodes:
  init: { kind: init, with: { arch: mlp, arch_options: { hidden: [8] }, input_shape: [8], classes: 3 } }
  plain: ${train(0)}
  heavy: ${train(0.9)}
`,
  );
  const cache = join(dir, 'cache');
  const ran = await cli(['run', pipeline, '--json', '--jobs', '0', '--cache', cache]);
  assert.equal(ran.code, 0, ran.stderr);
  assert.deepEqual((JSON.parse(ran.stdout) as Report).executed.sort(), ['heavy', 'init', 'plain']);
  const graph = graphOf(pipeline);
  assert.equal((graph.byId.get('plain')!.components.params as Record<string, unknown>)['momentum'], 0);
  const store = await openStore(cache);
  try {
    const load = async (id: string, port: string) => (await store.load(graph.byId.get(id)!.key))[port] as Checkpoint;
    const tensorsOf = (c: Checkpoint) => Object.fromEntries(Object.entries(c.tensors).map(([name, t]) => [name, [...t.data]]));
    // 64 samples in batches of 32: two steps. Heavy-ball momentum starts from zero velocity, so its first
    // step (v = g, w -= lr v) is plain SGD's: the step-1 snapshots agree to the bit. The second step adds
    // 0.9 of the first gradient only with momentum, so the final weights differ exactly when 0 took effect.
    const [plainSnapshot, heavySnapshot] = [await load('plain', 'snapshot'), await load('heavy', 'snapshot')];
    assert.equal(plainSnapshot.step, 1);
    assert.deepEqual(tensorsOf(plainSnapshot), tensorsOf(heavySnapshot));
    const [plainFinal, heavyFinal] = [await load('plain', 'checkpoint'), await load('heavy', 'checkpoint')];
    assert.equal(plainFinal.step, 2);
    for (const name of Object.keys(plainFinal.tensors)) {
      assert.notDeepEqual(plainFinal.tensors[name]!.data, heavyFinal.tensors[name]!.data, `${name}: momentum changed the second step`);
    }
  } finally {
    await store.close();
  }
});
