/** `sparsegraph export`: every result type to its file formats, and a checkpoint back into a pipeline through load-checkpoint. */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openStore } from '../../cache/lmdb-store.js';
import { checkpointToSafetensors, curveFromSafetensors, maskFromSafetensors } from '../../science/nn/safetensors.js';
import type { Checkpoint } from '../../base/values.js';
import { cli, graphOf, tempDir, writePipeline } from './helpers.js';

const require = createRequire(import.meta.url);

async function outputsOf(file: string, cache: string, id: string): Promise<Record<string, unknown>> {
  const store = await openStore(cache);
  try {
    return await store.load(graphOf(file).byId.get(id)!.key);
  } finally {
    await store.close();
  }
}

async function checkpointOf(file: string, cache: string, id: string): Promise<Checkpoint> {
  return (await outputsOf(file, cache, id))['checkpoint'] as Checkpoint;
}

/** The header of a safetensors file as written, read without the code under test. */
function headerOf(file: string): Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }> & { __metadata__: Record<string, string> } {
  const bytes = readFileSync(file);
  return JSON.parse(bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString('utf8'));
}

/** Tensor `name` of a safetensors file as a plain array of numbers. */
function tensorOf(file: string, name: string): number[] {
  const bytes = readFileSync(file);
  const start = 8 + Number(bytes.readBigUInt64LE(0));
  const e = headerOf(file)[name]!;
  const chunk = bytes.subarray(start + e.data_offsets[0], start + e.data_offsets[1]);
  return e.dtype === 'U8' ? [...chunk] : [...new Float32Array(chunk.buffer.slice(chunk.byteOffset, chunk.byteOffset + chunk.byteLength))];
}

const CURVES = `sparsegraph: 1
name: curves
nodes:
  curve: { kind: test-curve }
  perpoint: { kind: test-curve, with: { per_point_masks: true } }
  m: { kind: test-mask, with: { n: 6, every: 3 } }
  c: { kind: test-constant, with: { v: 1 } }
`;

async function ranCurves(): Promise<{ dir: string; cache: string; file: string; exportOf: (id: string, ...args: string[]) => ReturnType<typeof cli> }> {
  const dir = tempDir();
  const cache = join(dir, 'cache');
  const file = writePipeline(dir, 'curves.yaml', CURVES);
  const ran = await cli(['run', file, '--cache', cache]);
  assert.equal(ran.code, 0, ran.stderr);
  return { dir, cache, file, exportOf: (id, ...args) => cli(['export', id, '--pipeline', file, '--cache', cache, ...args]) };
}

test('a checkpoint exported as .safetensors loads back bit-exact; its key follows the content, not the path', async () => {
  const dir = tempDir();
  const cache = join(dir, 'cache');
  const source = writePipeline(dir, 'make.yaml', 'sparsegraph: 1\nname: make\nnodes:\n  ckpt: { kind: test-checkpoint, with: { seed: 7 } }\n');
  assert.equal((await cli(['run', source, '--cache', cache])).code, 0);
  const out = join(dir, 'ckpt.safetensors');
  const exported = await cli(['export', 'ckpt', '--pipeline', source, '--cache', cache, '--out', out, '--json']);
  assert.equal(exported.code, 0, exported.stderr);
  assert.deepEqual(JSON.parse(exported.stdout).tensors, 2);

  const loader = 'sparsegraph: 1\nname: load\nnodes:\n  loaded: { kind: load-checkpoint, with: { path: ckpt.safetensors } }\n';
  const load = writePipeline(dir, 'load.yaml', loader);
  assert.equal((await cli(['run', load, '--cache', cache])).code, 0);
  const original = await checkpointOf(source, cache, 'ckpt');
  const loaded = await checkpointOf(load, cache, 'loaded');
  assert.deepEqual(loaded.model, original.model);
  assert.deepEqual(Object.keys(loaded.tensors).sort(), ['fc1.bias', 'fc1.weight']);
  for (const name of Object.keys(original.tensors)) {
    assert.deepEqual(Buffer.from(loaded.tensors[name]!.data.buffer), Buffer.from(original.tensors[name]!.data.buffer), name);
  }
  assert.deepEqual([...loaded.masks['fc1.weight']!.data], [...original.masks['fc1.weight']!.data]);

  // Same bytes elsewhere: same key. Other bytes at the same path: a new key, and plan says why.
  const elsewhere = join(dir, 'moved');
  mkdirSync(elsewhere);
  copyFileSync(out, join(elsewhere, 'ckpt.safetensors'));
  const moved = writePipeline(elsewhere, 'load.yaml', loader);
  assert.equal(graphOf(moved).byId.get('loaded')!.key, graphOf(load).byId.get('loaded')!.key);
  writeFileSync(out, checkpointToSafetensors({ ...original, step: 5 }));
  const plan = JSON.parse((await cli(['plan', load, '--cache', cache, '--json'])).stdout) as { nodes: { reason: string }[] };
  assert.equal(plan.nodes[0]!.reason, 'file content changed');
});

test('export names the problem when the target has no output of the file\'s type, and a missing file is a located error', async () => {
  const dir = tempDir();
  const cache = join(dir, 'cache');
  const p = writePipeline(dir, 'p.yaml', 'sparsegraph: 1\nname: p\nnodes:\n  c: { kind: test-constant, with: { v: 1 } }\n');
  assert.equal((await cli(['run', p, '--cache', cache])).code, 0);
  const bad = await cli(['export', 'c', '--pipeline', p, '--cache', cache, '--out', join(dir, 'x.safetensors')]);
  assert.equal(bad.code, 2);
  assert.equal(bad.stderr, "sparsegraph: error: output 'out' of c is a Metrics; a Metrics exports as .json or .csv\n");
  const missing = writePipeline(dir, 'm.yaml', 'sparsegraph: 1\nname: m\nnodes:\n  l: { kind: load-checkpoint, with: { path: nowhere.safetensors } }\n');
  const result = await cli(['validate', missing]);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /m\.yaml:4:45: error: cannot read nowhere\.safetensors: .*file not found/);
});

test('a tensor node runs on the requested backend, recorded in its provenance; a missing backend is a usage error', async () => {
  const dir = tempDir();
  const cache = join(dir, 'cache');
  const p = writePipeline(dir, 'p.yaml', 'sparsegraph: 1\nname: p\nnodes:\n  t: { kind: test-tensor-sum, with: { n: 100 } }\n');
  const ran = await cli(['run', p, '--cache', cache, '--backend', 'cpu', '--jobs', '1']);
  assert.equal(ran.code, 0, ran.stderr);
  const shown = JSON.parse((await cli(['show', 't', '--pipeline', p, '--cache', cache, '--json'])).stdout) as {
    result: { provenance: { backend: { name: string; version: string }; libraries: Record<string, string> } };
  };
  assert.equal(shown.result.provenance.backend.name, 'cpu');
  // The versions as the installed packages state them, read here rather than through the code under test.
  const versionOf = (packageJson: string) => (JSON.parse(readFileSync(require.resolve(packageJson), 'utf8')) as { version: string }).version;
  const cpuVersion = versionOf('@tensorflow/tfjs-backend-cpu/package.json');
  assert.equal(shown.result.provenance.backend.version, cpuVersion);
  assert.deepEqual(shown.result.provenance.libraries, {
    node: process.version,
    sparsegraph: versionOf(fileURLToPath(new URL('../../../package.json', import.meta.url))),
    tfjs: cpuVersion,
  });
  const missing = await cli(['run', p, '--cache', cache, '--backend', 'tensorflow', '--force', 't']);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /backend 'tensorflow' needs the npm package @tensorflow\/tfjs-node, which is not installed \(npm install @tensorflow\/tfjs-node\)/);
});

test('a curve exports as one .safetensors, point k of tensor NAME as NAME_k (dnn-mode-connectivity), and reads back equal', async () => {
  const { dir, cache, file, exportOf } = await ranCurves();
  const out = join(dir, 'curve.safetensors');
  const exported = await exportOf('curve', '--out', out, '--json');
  assert.equal(exported.code, 0, exported.stderr);
  assert.deepEqual(JSON.parse(exported.stdout), { key: graphOf(file).byId.get('curve')!.key, port: 'curve', type: 'Curve', out, bytes: readFileSync(out).length, points: 3, tensors: 12 });

  const { __metadata__: metadata, ...tensors } = headerOf(out);
  const perPoint = (name: string) => [0, 1, 2].map((k) => `${name}_${k}`);
  assert.deepEqual(Object.keys(tensors), [
    ...perPoint('fc1.bias'),
    'fc1.weight.mask',
    ...perPoint('fc1.weight'),
    ...perPoint('fc2.bias'),
    'fc2.weight.mask',
    ...perPoint('fc2.weight'),
  ]);
  assert.deepEqual(metadata, {
    format: 'pt',
    type: 'Curve',
    model: JSON.stringify({ arch: 'mlp', inputShape: [2], numClasses: 2, options: { hidden: [3] } }),
    family: 'bezier',
    degree: '2',
    subspace: 'sparse',
    points: '3',
    masks: 'shared',
    steps: '[0,10,20]',
    metas: '[{"point":0},{"point":1},{"point":2}]',
  });
  assert.deepEqual([tensors['fc1.weight_1']!.dtype, tensors['fc1.weight_1']!.shape], ['F32', [3, 2]]);
  assert.deepEqual(tensorOf(out, 'fc1.weight_0'), [0, 0.125, 0.25, 0.375, 0.5, 0.625]);
  assert.deepEqual(tensorOf(out, 'fc1.weight_1'), [0, 1.125, 1.25, 1.375, 1.5, 1.625]);
  assert.deepEqual(tensorOf(out, 'fc2.bias_2'), [-2, -2.125]);
  assert.equal(tensors['fc1.weight.mask']!.dtype, 'U8');
  assert.deepEqual(tensorOf(out, 'fc1.weight.mask'), [0, 1, 1, 1, 1, 1]);
  const stored = (await outputsOf(file, cache, 'curve'))['curve'];
  assert.deepEqual(curveFromSafetensors(readFileSync(out), { source: out }), stored);

  // Points with different masks: each point's masks under its own suffix.
  const outPer = join(dir, 'perpoint.safetensors');
  const text = await exportOf('perpoint', '--out', outPer);
  assert.equal(text.code, 0, text.stderr);
  assert.equal(text.stdout, `wrote the Curve perpoint.curve (3 points, 12 tensors) to ${outPer} (${readFileSync(outPer).length} bytes)\n`);
  const header = headerOf(outPer);
  assert.equal(header.__metadata__['masks'], 'per-point');
  assert.deepEqual(
    Object.keys(header).filter((n) => n.endsWith('.mask')),
    [...perPoint('fc1.weight'), ...perPoint('fc2.weight')].map((n) => `${n}.mask`).sort(),
  );
  assert.deepEqual(tensorOf(outPer, 'fc1.weight_2.mask'), [1, 1, 0, 1, 1, 1]);
  assert.deepEqual(curveFromSafetensors(readFileSync(outPer)), (await outputsOf(file, cache, 'perpoint'))['curve']);
});

test('a landscape and metrics export as .json (the values themselves) or .csv; a mask as NAME.mask tensors', async () => {
  const { dir, cache, file, exportOf } = await ranCurves();
  const stored = await outputsOf(file, cache, 'curve');
  const written = async (port: string, name: string) => {
    const out = join(dir, name);
    const result = await exportOf('curve', '--port', port, '--out', out);
    assert.equal(result.code, 0, result.stderr);
    return readFileSync(out, 'utf8');
  };
  assert.equal(
    await written('landscape', 'l.csv'),
    'x,split,loss,accuracy\n0,train,0.5,0.75\n0,test,0.625,0.7\n0.5,train,2.25,0.1\n0.5,test,2.5,0.125\n1,train,0.25,0.875\n1,test,0.375,0.8\n',
  );
  const landscapeJson = await written('landscape', 'l.json');
  assert.deepEqual(JSON.parse(landscapeJson), stored['landscape']);
  assert.equal(landscapeJson, `${JSON.stringify(stored['landscape'], null, 2)}\n`);
  assert.equal(await written('metrics', 'm.CSV'), 'name,index,value\nbarrier,,0.125\n"odd, ""name""",,3\nloss,0,1\nloss,1,0.5\nloss,2,0.25\n');
  assert.deepEqual(JSON.parse(await written('metrics', 'm.json')), { values: { barrier: 0.125, 'odd, "name"': 3 }, series: { loss: [1, 0.5, 0.25] } });

  // The only Metrics output of a node needs no --port.
  const out = join(dir, 'c.json');
  const constant = await exportOf('c', '--out', out, '--json');
  assert.equal(constant.code, 0, constant.stderr);
  assert.deepEqual(JSON.parse(constant.stdout), { key: graphOf(file).byId.get('c')!.key, port: 'out', type: 'Metrics', out, bytes: 33, values: 1, series: 0 });
  assert.equal(readFileSync(out, 'utf8'), '{\n  "values": {\n    "v": 1\n  }\n}\n');

  const maskOut = join(dir, 'm.safetensors');
  assert.equal((await exportOf('m', '--out', maskOut)).code, 0);
  const { __metadata__: metadata, ...tensors } = headerOf(maskOut);
  assert.deepEqual(metadata, { format: 'pt', type: 'Mask', model: JSON.stringify({ arch: 'test', inputShape: [6], numClasses: 2 }) });
  assert.deepEqual(Object.keys(tensors), ['w.mask']);
  assert.deepEqual(tensors['w.mask']!.dtype, 'U8');
  assert.deepEqual(tensorOf(maskOut, 'w.mask'), [1, 0, 0, 1, 0, 0]);
  assert.deepEqual(maskFromSafetensors(readFileSync(maskOut)), (await outputsOf(file, cache, 'm'))['mask']);
});

test('export says which output and which extensions fit, and writes nothing when none does', async () => {
  const { dir, exportOf } = await ranCurves();
  const cases: [string[], string][] = [
    [['--out', 'x.csv'], 'curve has 2 outputs that export as .csv: landscape (Landscape), metrics (Metrics); choose one with --port'],
    [['--port', 'curve', '--out', 'x.csv'], "output 'curve' of curve is a Curve; a Curve exports as .safetensors"],
    [['--port', 'landscape', '--out', 'x.safetensors'], "output 'landscape' of curve is a Landscape; a Landscape exports as .json or .csv"],
    [['--port', 'nope', '--out', 'x.json'], "curve has no output 'nope'; its outputs: curve (Curve), landscape (Landscape), metrics (Metrics)"],
    [['--out', 'x.svg'], 'curve has no output that exports as .svg; its outputs: curve (Curve), landscape (Landscape), metrics (Metrics)'],
    [
      ['--out', 'x.txt'],
      'cannot tell a format from the name x.txt; export writes .safetensors (Checkpoint, Mask, Curve), .json (Landscape, Metrics), .csv (Landscape, Metrics), .svg (Figure)',
    ],
  ];
  for (const [args, message] of cases) {
    const result = await exportOf('curve', ...args.map((a) => (a.startsWith('x.') ? join(dir, a) : a)));
    assert.equal(result.code, 2, args.join(' '));
    assert.equal(result.stderr, `sparsegraph: error: ${message.replace('x.txt', join(dir, 'x.txt'))}\n`);
  }
  for (const name of ['x.csv', 'x.safetensors', 'x.json', 'x.svg', 'x.txt']) assert.equal(existsSync(join(dir, name)), false, name);
});
