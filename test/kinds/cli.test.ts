/** The kinds through the CLI and its worker threads: a tiny pipeline runs, then runs nothing, and exports. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { cli, tempDir, writePipeline } from '../exec/helpers.js';

const PIPELINE = `sparsegraph: 1
name: tiny
defaults:
  prune: &training
    dataset: &data { name: synthetic, seed: 3, train: 256, test: 64, sampleShape: [8], numClasses: 3 }
    epochs: 2
    batch_size: 32
    lr: 0.05
  train-sparse-scratch: *training
nodes:
  init: { kind: init, with: { arch: mlp, arch_options: { hidden: [8] }, input_shape: [8], classes: 3 } }
  pruned: { kind: prune, inputs: { init: init }, with: { sparsity: 0.5, begin_step: 2, end_step: 10, frequency: 4 } }
  scratch-init: { kind: init, inputs: { mask: pruned.mask }, with: { arch: mlp, arch_options: { hidden: [8] }, input_shape: [8], classes: 3, stream: scratch } }
  scratch: { kind: train-sparse-scratch, inputs: { init: scratch-init, mask: pruned.mask } }
  line: { kind: interpolate, inputs: { start: scratch.checkpoint, end: pruned.checkpoint }, with: { dataset: *data, points: 5, from: 0, to: 1 } }
  curve: { kind: bezier-fit, inputs: { start: scratch.checkpoint, end: pruned.checkpoint }, with: { dataset: *data, epochs: 1, batch_size: 32, points: 3 } }
`;

test('a pipeline of the paper\'s kinds runs in worker threads, runs nothing the second time, and its results export', async () => {
  const dir = tempDir();
  const file = writePipeline(dir, 'tiny.yaml', PIPELINE);
  const first = await cli(['run', file, '--jobs', '2', '--json']);
  assert.equal(first.code, 0, first.stderr);
  const report = JSON.parse(first.stdout) as { executed: string[]; failed: unknown[] };
  assert.deepEqual(report.failed, []);
  assert.deepEqual([...report.executed].sort(), ['curve', 'init', 'line', 'pruned', 'scratch', 'scratch-init']);
  const second = await cli(['run', file, '--json']);
  assert.equal(second.code, 0, second.stderr);
  assert.deepEqual((JSON.parse(second.stdout) as { executed: string[] }).executed, []);
  const csv = join(dir, 'line.csv');
  const exported = await cli(['export', 'line', '--pipeline', file, '--port', 'landscape', '--out', csv]);
  assert.equal(exported.code, 0, exported.stderr);
  const rows = readFileSync(csv, 'utf8').trim().split('\n');
  assert.equal(rows[0], 'x,split,loss,accuracy');
  assert.deepEqual(rows.slice(1).map((r) => r.split(',')[0]), ['0', '0.25', '0.5', '0.75', '1']);
  for (const r of rows.slice(1)) {
    const [, split, loss, accuracy] = r.split(',');
    assert.equal(split, 'train');
    assert.ok(Number(loss) > 0 && Number(accuracy) >= 0 && Number(accuracy) <= 1, r);
  }
  const curve = join(dir, 'curve.safetensors');
  assert.equal((await cli(['export', 'curve', '--pipeline', file, '--port', 'curve', '--out', curve])).code, 0);
  const header = readFileSync(curve);
  const names = Object.keys(JSON.parse(header.subarray(8, 8 + Number(header.readBigUInt64LE(0))).toString('utf8')) as Record<string, unknown>);
  for (const n of ['fc1.weight_0', 'fc1.weight_1', 'fc1.weight_2', 'fc2.bias_2', 'fc1.weight.mask']) assert.ok(names.includes(n), `${n} not in ${names.join(', ')}`);
});
