/** `sparsegraph export` to .safetensors and back into a pipeline through a load-checkpoint node. */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { openStore } from '../../cache/lmdb-store.js';
import { checkpointToSafetensors } from '../../core/nn/safetensors.js';
import type { Checkpoint } from '../../core/values.js';
import { cli, graphOf, tempDir, writePipeline } from './helpers.js';

async function checkpointOf(file: string, cache: string, id: string): Promise<Checkpoint> {
  const store = await openStore(cache);
  try {
    return (await store.load(graphOf(file).byId.get(id)!.key))['checkpoint'] as Checkpoint;
  } finally {
    await store.close();
  }
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

test('export names the problem when the target has no checkpoint, and a missing file is a located error', async () => {
  const dir = tempDir();
  const cache = join(dir, 'cache');
  const p = writePipeline(dir, 'p.yaml', 'sparsegraph: 1\nname: p\nnodes:\n  c: { kind: test-constant, with: { v: 1 } }\n');
  assert.equal((await cli(['run', p, '--cache', cache])).code, 0);
  const bad = await cli(['export', 'c', '--pipeline', p, '--cache', cache, '--out', join(dir, 'x.safetensors')]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /c has 0 checkpoint outputs \(none\); choose one with --port/);
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
  assert.match(shown.result.provenance.backend.version, /^\d+\.\d+\.\d+$/);
  assert.ok(shown.result.provenance.libraries['tfjs']);
  const missing = await cli(['run', p, '--cache', cache, '--backend', 'tensorflow', '--force', 't']);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /backend 'tensorflow' needs the npm package @tensorflow\/tfjs-node, which is not installed \(npm install @tensorflow\/tfjs-node\)/);
});
