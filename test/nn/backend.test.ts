import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { backendDescription, selectBackend } from '../../science/nn/backend.js';

const backendModule = new URL('../../science/nn/backend.js', import.meta.url).href;

/**
 * A resolver hook that finds no @tensorflow/tfjs-node, the way Node answers where the optional package
 * failed to install. Whether it is installed differs between machines, so the test takes it away
 * instead of asking which machine it is on: the not-installed path is checked everywhere.
 */
const WITHOUT_TFJS_NODE = `
import { register } from 'node:module';
register('data:text/javascript,' + encodeURIComponent(\`
  export async function resolve(specifier, context, next) {
    if (specifier === '@tensorflow/tfjs-node') {
      throw Object.assign(new Error("Cannot find package '@tensorflow/tfjs-node' imported from backend.js"), { code: 'ERR_MODULE_NOT_FOUND' });
    }
    return next(specifier, context);
  }\`));
const { selectBackend } = await import(${JSON.stringify(backendModule)});
await selectBackend('tensorflow').then(() => console.log('resolved'), (e) => console.log(e.message));
`;

test('a requested backend that is not installed names its package', async () => {
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', WITHOUT_TFJS_NODE], { cwd: fileURLToPath(new URL('.', import.meta.url)) });
  assert.equal(
    stdout,
    "backend 'tensorflow' needs the npm package @tensorflow/tfjs-node, which is not installed or does not load here (npm install @tensorflow/tfjs-node): Cannot find package '@tensorflow/tfjs-node' imported from backend.js\n",
  );
  await assert.rejects(selectBackend('tpu'), /unknown backend 'tpu'; known: tensorflow-gpu, tensorflow, native, wasm, cpu/);
});

test('the chosen backend is described for provenance', async () => {
  const info = await selectBackend('cpu');
  assert.equal(info.name, 'cpu');
  assert.match(info.version, /^\d+\.\d+\.\d+/);
  assert.deepEqual(backendDescription(), info);
});
