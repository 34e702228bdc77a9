/**
 * Schedules that cannot fit in their run are refused when the pipeline is validated or planned, at the
 * place the value was written, before anything trains: `plan` and `validate` exit 1 and `run` executes
 * nothing and leaves no cache. The run's length comes from epochs (or `steps`), the batch size and the
 * training set's size, which analysis reads from the dataset's spec or its files' headers.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { analyze } from '../../engine/lang/analyze.js';
import { formatDiagnostic } from '../../engine/lang/diagnostics.js';
import { KindRegistry } from '../../engine/registry.js';
import { defineNode } from '../../engine/node-def.js';
import { Type } from '@sinclair/typebox';
import { dataHooks, datasetFacts, resolveDatasetSpec } from '../../science/data/index.js';
import { pruneProblems, runSteps, trainDenseProblems } from '../../nodes/common/checks.js';
import { registry, runCli, scratchDir, writeFiles } from './helpers.js';

const END_BEYOND = (end: number, total: number) =>
  `end_step ${end} is beyond the run's ${total} steps: the final sparsity would never be reached (lower end_step or train longer)`;

/** Analyses `text` written as NAME in a scratch directory: its problems as printed, paths relative to it. */
function problemLines(name: string, text: string, options: Omit<Parameters<typeof analyze>[1], 'registry'> & { registry?: KindRegistry } = {}): string[] {
  const dir = scratchDir();
  writeFiles(dir, { [name]: text });
  const result = analyze(join(dir, name), { registry, ...options });
  assert.equal(result.ok, false, `${name} is valid`);
  if (result.ok) return [];
  return result.problems.map((d) => formatDiagnostic(d, result.sources).replace(`${dir}/`, ''));
}

/** The quickstart's schedule (200 to 800) in a run of 1 epoch of 2,000 MNIST samples: 16 steps. */
const SHORT_RUN = `sparsegraph: 1
name: short
nodes:
  init: { kind: init }
  pruned:
    kind: prune
    inputs: { init: init }
    with:
      sparsity: 0.9
      epochs: 1
      dataset: { name: mnist, trainSize: 2000 }
      begin_step: 200
      end_step: 800
`;

test('plan and validate refuse end_step beyond the run with its place and exit 1; run executes nothing and leaves no cache', async () => {
  const dir = scratchDir();
  writeFiles(dir, { 'short.yaml': SHORT_RUN });
  const file = join(dir, 'short.yaml');
  const expected = `${file}:13:17: error: ${END_BEYOND(800, 16)}\n1 problem found\n`;
  for (const command of ['validate', 'plan', 'run']) {
    const r = await runCli([command, file], dir);
    assert.equal(r.code, 1, `${command}: ${r.stderr}`);
    assert.equal(r.stderr, expected, command);
    assert.equal(r.stdout, '', command);
  }
  // Nothing ran: not even init, upstream of the refused node; no cache beside the file, no report.
  assert.deepEqual(readdirSync(dir), ['short.yaml']);
  const cache = join(dir, 'cache');
  const json = await runCli(['run', file, '--cache', cache, '--json'], dir);
  assert.equal(json.code, 1);
  assert.deepEqual(JSON.parse(json.stdout), { ok: false, diagnostics: [{ file, line: 13, column: 17, message: END_BEYOND(800, 16) }], usage: [] });
  assert.equal(existsSync(cache), false);
});

test('the messages of each check, and where each is placed: with:, defaults:, a ${params.x} reference, a kind default', () => {
  const lines = problemLines(
    'p.yaml',
    `sparsegraph: 1
name: p
params:
  data: { name: synthetic, seed: 1, train: 640, test: 64 }
  rewind: 21
defaults:
  prune: { dataset: "\${params.data}", epochs: 2, batch_size: 64, frequency: 5 }
nodes:
  init: { kind: init, with: { arch: mlp, input_shape: [16], classes: 4 } }
  backwards:
    kind: prune
    inputs: { init: init }
    with: { sparsity: 0.5, begin_step: 12, end_step: 8, rewind_step: "\${params.rewind}" }
  defaulted:
    kind: prune
    inputs: { init: init }
    with: { sparsity: 0.5 }
`,
    dataHooks,
  );
  assert.deepEqual(lines, [
    'p.yaml:13:40: error: begin_step 12 is after end_step 8',
    "p.yaml:13:70: error: rewind_step 21 is beyond the run's 20 steps",
    `p.yaml:17:5: error: ${END_BEYOND(7000, 20)}; end_step is prune's default`,
  ]);
});

test('frequency 0 is refused by the schema (minimum 1) where it is written', async () => {
  const dir = scratchDir();
  writeFiles(dir, {
    'f.yaml': `sparsegraph: 1
name: f
defaults:
  prune: { frequency: 0 }
nodes:
  init: { kind: init }
  pruned: { kind: prune, inputs: { init: init }, with: { sparsity: 0.9 } }
`,
  });
  const r = await runCli(['plan', join(dir, 'f.yaml')], dir);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, `${join(dir, 'f.yaml')}:4:23: error: parameter 'frequency' must be >= 1, got number 0\n1 problem found\n`);
});

test('without the data layer the checks still see what the parameters say: begin after end, and `steps`', () => {
  // No data hooks: the training set's size is unknown.
  const lines = problemLines(
    'n.yaml',
    `sparsegraph: 1
name: n
nodes:
  init: { kind: init }
  stepped: { kind: prune, inputs: { init: init }, with: { sparsity: 0.9, steps: 30, begin_step: 0, end_step: 31 } }
  # 25 epochs of an unknown training set: its length is not known, so nothing is said about end_step.
  epochs: { kind: prune, inputs: { init: init }, with: { sparsity: 0.9, end_step: 100000 } }
  backwards: { kind: prune, inputs: { init: init }, with: { sparsity: 0.9, begin_step: 5, end_step: 4 } }
  dense: { kind: train-dense, inputs: { init: init }, with: { steps: 10, snapshot_step: 10 } }
`,
  );
  assert.deepEqual(lines, [`n.yaml:5:110: error: ${END_BEYOND(31, 30)}`, 'n.yaml:8:88: error: begin_step 5 is after end_step 4']);
});

test('the shared check: the same messages the run throws, only for gradual pruning, the length as the loop counts it', () => {
  const base = { epochs: 1, batch_size: 128, method: 'gradual', begin_step: 200, end_step: 800, rewind_step: 0 } as const;
  assert.equal(runSteps(base, 2000), 16);
  assert.equal(runSteps({ ...base, epochs: 25 }, 60000), 11719);
  assert.equal(runSteps({ ...base, steps: 7 }, undefined), 7);
  assert.equal(runSteps(base, undefined), undefined);
  assert.deepEqual(pruneProblems(base, { trainSize: 2000 }), [{ param: 'end_step', message: END_BEYOND(800, 16) }]);
  assert.deepEqual(pruneProblems({ ...base, method: 'one-shot' }, { trainSize: 2000 }), []);
  assert.deepEqual(pruneProblems({ ...base, end_step: 16, begin_step: 17, rewind_step: 17 }, { trainSize: 2000 }), [
    { param: 'begin_step', message: 'begin_step 17 is after end_step 16' },
    { param: 'rewind_step', message: "rewind_step 17 is beyond the run's 16 steps" },
  ]);
  assert.deepEqual(trainDenseProblems({ ...base, snapshot_step: 16 }, { trainSize: 2000 }), []);
  assert.deepEqual(trainDenseProblems({ ...base, snapshot_step: 17 }, { trainSize: 2000 }), [
    { param: 'snapshot_step', message: "snapshot_step 17 is beyond the run's 16 steps" },
  ]);
});

/** An IDX file: magic, dimensions, then `count` bytes of data. */
function idx(type: number, dims: number[]): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = type;
  header[3] = dims.length;
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, Buffer.alloc(dims.reduce((a, b) => a * b, 1))]);
}

test('the training set size comes from the spec or the files: MNIST, synthetic, IDX headers (gzipped too), CIFAR-10 sizes, capped by trainSize', () => {
  assert.deepEqual(datasetFacts(resolveDatasetSpec({ name: 'mnist' })), { trainSize: 60000 });
  assert.deepEqual(datasetFacts(resolveDatasetSpec({ name: 'mnist', trainSize: 2000 })), { trainSize: 2000 });
  assert.deepEqual(datasetFacts(resolveDatasetSpec({ name: 'synthetic', seed: 1, train: 300, test: 10, trainSize: 1000 })), { trainSize: 300 });
  const dir = scratchDir();
  writeFileSync(join(dir, 'train-images-idx3-ubyte.gz'), gzipSync(idx(0x08, [70000, 4, 4])));
  writeFileSync(join(dir, 'train-labels-idx1-ubyte'), idx(0x08, [70000]));
  writeFileSync(join(dir, 't10k-images-idx3-ubyte'), idx(0x08, [3, 4, 4]));
  writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), idx(0x08, [3]));
  assert.deepEqual(datasetFacts(resolveDatasetSpec({ name: 'idx', path: dir })), { trainSize: 70000 });
  assert.deepEqual(datasetFacts(resolveDatasetSpec({ name: 'idx', path: dir, trainSize: 500 })), { trainSize: 500 });
  const cifar = scratchDir();
  const RECORD = 3073;
  for (let b = 1; b <= 5; b++) writeFileSync(join(cifar, `data_batch_${b}.bin`), Buffer.alloc(RECORD * b));
  writeFileSync(join(cifar, 'test_batch.bin'), Buffer.alloc(RECORD));
  assert.deepEqual(datasetFacts(resolveDatasetSpec({ name: 'cifar10', path: cifar })), { trainSize: 15 });
  // A gzipped batch only says its size when decompressed whole: the size is left unknown, checked at run time.
  writeFileSync(join(cifar, 'data_batch_3.bin'), gzipSync(Buffer.alloc(RECORD * 3)));
  assert.deepEqual(datasetFacts(resolveDatasetSpec({ name: 'cifar10', path: cifar })), {});
});

test('a training-images file whose header is not IDX is reported at the dataset by validate, as the loader would', async () => {
  const dir = scratchDir();
  writeFiles(dir, {
    'd.yaml': `sparsegraph: 1
name: d
nodes:
  init: { kind: init, with: { arch: mlp, input_shape: [16], classes: 4 } }
  pruned: { kind: prune, inputs: { init: init }, with: { sparsity: 0.9, dataset: { name: idx, path: data } } }
`,
  });
  writeFiles(dir, { 'data/t10k-images-idx3-ubyte': '', 'data/t10k-labels-idx1-ubyte': '', 'data/train-labels-idx1-ubyte': '' });
  writeFileSync(join(dir, 'data/train-images-idx3-ubyte'), Buffer.from([0x50, 0x4b, 3, 4, 0, 0, 0, 0]));
  const r = await runCli(['validate', join(dir, 'd.yaml')], dir);
  assert.equal(r.code, 1);
  assert.equal(
    r.stderr,
    `${join(dir, 'd.yaml')}:5:82: error: dataset: data/train-images-idx3-ubyte: bad magic number 0x504b0304: not an IDX file (expected 0x0000TTDD)\n1 problem found\n`,
  );
});

test('a kind whose check throws is reported at its node, not as a crash of analysis', () => {
  const broken = defineNode({
    kind: 'test-broken-check',
    version: 1,
    description: 'A kind whose check has a bug.',
    params: Type.Object({ n: Type.Integer({ default: 1 }) }, { additionalProperties: false }),
    inputs: {},
    outputs: {},
    check: () => {
      throw new Error('oops');
    },
  });
  const text = 'sparsegraph: 1\nname: b\nnodes:\n  b: { kind: test-broken-check, with: { n: 2 } }\n';
  assert.deepEqual(problemLines('b.yaml', text, { registry: new KindRegistry([broken]) }), ['b.yaml:4:33: error: the check of kind test-broken-check failed: oops']);
});
