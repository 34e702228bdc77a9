#!/usr/bin/env node
/**
 * Compiles native/kernels.c into dist/native/libsgkernels.so with the machine's C compiler, for the
 * native training path. Never fails the build: without a compiler (or on a platform it does not know)
 * it prints one line and sparsegraph computes on the wasm path instead. Tuned for the building machine
 * (-march=native), since it is built where it runs (at `npm install`); set SPARSEGRAPH_NATIVE=0 to skip.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'native', 'libsgkernels.so');
const source = join(root, 'native', 'kernels.c');

function compile(cc, tuning) {
  return spawnSync(cc, ['-O3', ...tuning, '-std=gnu11', '-ffp-contract=fast', '-fPIC', '-shared', '-o', out, source, '-lm', '-ldl'], { encoding: 'utf8' });
}

if (process.env.SPARSEGRAPH_NATIVE === '0') {
  console.log('native kernels: skipped (SPARSEGRAPH_NATIVE=0); sparsegraph will compute on the wasm path');
} else if (process.platform !== 'linux') {
  console.log(`native kernels: not built on ${process.platform} (Linux only so far); sparsegraph will compute on the wasm path`);
} else {
  mkdirSync(dirname(out), { recursive: true });
  const cc = process.env.CC || 'cc';
  let r = compile(cc, ['-march=native']);
  if (r.status !== 0 && !r.error) r = compile(cc, []);
  if (r.error || r.status !== 0) {
    const why = r.error ? `${cc} not found` : r.stderr.split('\n')[0];
    console.log(`native kernels: not built (${why}); sparsegraph will compute on the wasm path. Install a C compiler (apt-get install gcc) and run npm run build for the fast path.`);
  }
}
