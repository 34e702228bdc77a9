/**
 * Backend names, aliases and packages, without importing tfjs: the CLI checks a requested backend
 * before it starts workers, and analysis never loads a tensor library.
 */
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';

/**
 * The names users may request. `native` is wasm for every tensor program plus the native kernels
 * (native/kernels.c on the system BLAS) for the networks they cover (fully connected ones).
 */
export const BACKEND_NAMES = ['tensorflow-gpu', 'tensorflow', 'native', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

const ALIASES: Readonly<Record<string, BackendName>> = {
  'tensorflow-gpu': 'tensorflow-gpu',
  'node-gpu': 'tensorflow-gpu',
  'tfjs-node-gpu': 'tensorflow-gpu',
  gpu: 'tensorflow-gpu',
  cuda: 'tensorflow-gpu',
  tensorflow: 'tensorflow',
  node: 'tensorflow',
  'tfjs-node': 'tensorflow',
  native: 'native',
  blas: 'native',
  openblas: 'native',
  wasm: 'wasm',
  cpu: 'cpu',
};

export const PACKAGES: Readonly<Record<BackendName, string>> = {
  'tensorflow-gpu': '@tensorflow/tfjs-node-gpu',
  tensorflow: '@tensorflow/tfjs-node',
  native: '@tensorflow/tfjs-backend-wasm',
  wasm: '@tensorflow/tfjs-backend-wasm',
  cpu: '@tensorflow/tfjs-backend-cpu',
};

/** The name each package registers its backend under in tfjs (both TensorFlow packages say `tensorflow`). */
export const TFJS_BACKENDS: Readonly<Record<BackendName, string>> = {
  'tensorflow-gpu': 'tensorflow',
  tensorflow: 'tensorflow',
  native: 'wasm',
  wasm: 'wasm',
  cpu: 'cpu',
};

/** Thrown when a requested backend cannot be used; names the package to install. */
export class BackendUnavailableError extends Error {
  constructor(
    readonly backend: string,
    reason: string,
  ) {
    super(reason);
    this.name = 'BackendUnavailableError';
  }
}

/** Parses a user's backend name (aliases such as `node`, `gpu` accepted). */
export function parseBackendName(requested: string): BackendName {
  const name = ALIASES[requested.trim().toLowerCase()];
  if (!name) throw new BackendUnavailableError(requested, `unknown backend '${requested}'; known: ${BACKEND_NAMES.join(', ')}`);
  return name;
}

/**
 * Checks that a requested backend's package is installed, without loading it: a clear error before any
 * node runs. (Whether it then initialises, e.g. finds its native library, shows when it is activated.)
 */
export function checkBackendInstalled(requested: string): BackendName | 'auto' {
  if (requested.trim() === '' || requested.trim().toLowerCase() === 'auto') return 'auto';
  const name = parseBackendName(requested);
  const pkg = PACKAGES[name];
  try {
    createRequire(import.meta.url).resolve(`${pkg}/package.json`);
  } catch {
    throw new BackendUnavailableError(name, `backend '${name}' needs the npm package ${pkg}, which is not installed (npm install ${pkg})`);
  }
  return name;
}

/**
 * How many accelerator slots a run has by default: the NVIDIA devices of this machine when the GPU
 * backend is installed and not overridden by a request for another backend, else none.
 */
export function defaultAcceleratorSlots(requested: string | undefined): number {
  if (requested && requested !== 'auto' && parseBackendName(requested) !== 'tensorflow-gpu') return 0;
  try {
    createRequire(import.meta.url).resolve(`${PACKAGES['tensorflow-gpu']}/package.json`);
  } catch {
    return 0;
  }
  try {
    return readdirSync('/dev').filter((name) => /^nvidia\d+$/.test(name)).length;
  } catch {
    return 0;
  }
}
