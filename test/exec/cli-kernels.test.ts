/**
 * Which kernels a run computes with, through the CLI: the one line `run` prints, the automatic fallback
 * to wasm when the native path cannot load (with the reason and how to get it), provenance that names
 * the path, keys that do not depend on it, and a build that never fails for lack of a compiler.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { openStore } from '../../cache/lmdb-store.js';
import type { Checkpoint } from '../../base/values.js';
import { loadNativeKernels } from '../../science/nn/kernels/native.js';
import { cli, graphOf, tempDir, writePipeline } from './helpers.js';

const native = loadNativeKernels();
const skip = native.ok ? false : `native kernels unavailable: ${native.reason}`;

const TINY = `sparsegraph: 1
name: tiny
nodes:
  init: { kind: init, with: { arch: mlp, arch_options: { hidden: [16] }, input_shape: [8], classes: 3, seed: 1 } }
  dense:
    kind: train-dense
    inputs: { init: init }
    with: { dataset: { name: synthetic, seed: 3, train: 128, test: 32, sampleShape: [8], numClasses: 3 }, epochs: 2, batch_size: 32 }
`;

async function checkpointOf(file: string, cache: string): Promise<{ ckpt: Checkpoint; backend: { name: string; kernels?: string } | undefined }> {
  const store = await openStore(cache);
  try {
    const key = graphOf(file).byId.get('dense')!.key;
    const ckpt = (await store.load(key))['checkpoint'] as Checkpoint;
    const prov = store.record(key)?.provenance as { backend?: { name: string; kernels?: string } } | undefined;
    return { ckpt, backend: prov?.backend };
  } finally {
    await store.close();
  }
}

test('run says it computes on the native kernels and records them in provenance', { skip }, async () => {
  const dir = tempDir();
  const file = writePipeline(dir, 'tiny.yaml', TINY);
  const cache = join(dir, 'cache');
  const ran = await cli(['run', file, '--cache', cache, '--jobs', '1']);
  assert.equal(ran.code, 0, ran.stderr);
  assert.match(ran.stderr, /^kernels: native \(sparsegraph native kernels 1, OpenBLAS [^;]+; one BLAS thread per worker\) for fully connected networks, wasm for the rest$/m);
  const { ckpt, backend } = await checkpointOf(file, cache);
  assert.equal(ckpt.meta?.backend, 'native');
  assert.equal(backend?.name, 'native');
  assert.match(backend?.kernels ?? '', /^sparsegraph native kernels 1, OpenBLAS/);
  const shown = await cli(['show', 'dense', '--pipeline', file, '--cache', cache]);
  assert.match(shown.stdout, /with native \d+\.\d+\.\d+/);
  assert.match(shown.stdout, /\n {2}kernels sparsegraph native kernels 1, OpenBLAS /);
});

test('without a usable BLAS the run falls back to wasm, says why and how to get the native path; keys do not change', async () => {
  const dir = tempDir();
  const file = writePipeline(dir, 'tiny.yaml', TINY);
  const cache = join(dir, 'cache');
  const env = { SPARSEGRAPH_BLAS: join(dir, 'no-such-libblas.so') };
  const ran = await cli(['run', file, '--cache', cache, '--jobs', '1'], { env });
  assert.equal(ran.code, 0, ran.stderr);
  if (native.ok) {
    assert.match(ran.stderr, /^kernels: wasm, the slow path \(native unavailable: no BLAS found \(\$SPARSEGRAPH_BLAS=.*no-such-libblas\.so: .*no-such-libblas\.so: cannot open shared object file/m);
  } else {
    assert.match(ran.stderr, /^kernels: wasm, the slow path \(native unavailable: /m);
  }
  assert.match(ran.stderr, /for the native path install a C compiler and OpenBLAS \(apt-get install gcc libopenblas0-pthread\) and rebuild \(npm run build\)$/m);
  const { ckpt, backend } = await checkpointOf(file, cache);
  assert.equal(ckpt.meta?.backend, 'wasm');
  assert.equal(backend?.name, 'wasm');
  // Asking for native where it cannot load is an error that names the reason, before anything is stored.
  const forced = await cli(['run', file, '--cache', join(dir, 'forced'), '--backend', 'native', '--json'], { env });
  assert.equal(forced.code, 1);
  assert.match(forced.stdout + forced.stderr, /backend 'native' is unavailable here: no BLAS found/);
  // The path is no part of a key: both plans name the same keys, and the wasm result counts as cached.
  const plans = await Promise.all([{}, env].map((e) => cli(['plan', file, '--json', '--cache', cache], { env: e })));
  const keys = plans.map((p) => (JSON.parse(p.stdout) as { nodes: { id: string; key: string; status: string }[] }).nodes.map((n) => [n.id, n.key, n.status]));
  assert.deepEqual(keys[0], keys[1]);
  assert.deepEqual(keys[0]!.map((k) => k[2]), ['cached', 'cached']);
});

test('the native build prints one line and succeeds without a C compiler', () => {
  const script = fileURLToPath(new URL('../../../native/build.mjs', import.meta.url));
  const r = spawnSync(process.execPath, [script], { env: { ...process.env, CC: '/nonexistent/cc' }, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'native kernels: not built (/nonexistent/cc not found); sparsegraph will compute on the wasm path. Install a C compiler (apt-get install gcc) and run npm run build for the fast path.\n');
});
