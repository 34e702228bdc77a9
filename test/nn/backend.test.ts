import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backendDescription, selectBackend } from '../../science/nn/backend.js';

test('a requested backend that is not installed names its package', async () => {
  let installed = true;
  try {
    await import('@tensorflow/tfjs-node' as string);
  } catch {
    installed = false;
  }
  if (!installed) await assert.rejects(selectBackend('tensorflow'), /npm install @tensorflow\/tfjs-node/);
  await assert.rejects(selectBackend('tpu'), /unknown backend 'tpu'; known: tensorflow-gpu, tensorflow, native, wasm, cpu/);
});

test('the chosen backend is described for provenance', async () => {
  const info = await selectBackend('cpu');
  assert.equal(info.name, 'cpu');
  assert.match(info.version, /^\d+\.\d+\.\d+/);
  assert.deepEqual(backendDescription(), info);
});
