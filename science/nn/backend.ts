/**
 * Chooses the tensor backend: tfjs-node-gpu (when installed and an NVIDIA GPU is present) > tfjs-node >
 * wasm > cpu, unless a name is requested (argument, or env SPARSEGRAPH_BACKEND). Backend packages are
 * imported dynamically, so a missing optional one is a choice, not a crash.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadNativeKernels, NATIVE_HINT } from './kernels/native.js';
import type { HostKernels } from './kernels/host-kernels.js';
import { tf } from './tf.js';
import { BACKEND_NAMES, BackendUnavailableError, PACKAGES, parseBackendName, TFJS_BACKENDS, type BackendName } from './backend-names.js';

export { BACKEND_NAMES, BackendUnavailableError, parseBackendName, type BackendName };

/** What ran the numbers, for provenance. */
export interface BackendInfo {
  /** One of BACKEND_NAMES. */
  readonly name: BackendName;
  /** Version of the backend's npm package. */
  readonly version: string;
  readonly package: string;
  /** tfjs's own name for the registered backend (`tensorflow`, `wasm`, `cpu`). */
  readonly tfjsBackend: string;
  /** Version of @tensorflow/tfjs-core. */
  readonly coreVersion: string;
  /** With `native`: the native kernels and the BLAS under them (OpenBLAS's configuration string). */
  readonly kernels?: string;
}

const require = createRequire(import.meta.url);

function packageVersion(pkg: string): string {
  try {
    return (JSON.parse(readFileSync(require.resolve(`${pkg}/package.json`), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function hasNvidiaGpu(): boolean {
  return existsSync('/proc/driver/nvidia/version') || existsSync('/dev/nvidia0');
}

/** Imports the backend's package and makes it tfjs's active backend; throws with the reason. */
async function activate(name: BackendName): Promise<void> {
  const pkg = PACKAGES[name];
  try {
    await import(pkg);
  } catch (err) {
    const first = (err as Error).message.split('\n')[0];
    throw new BackendUnavailableError(name, `backend '${name}' needs the npm package ${pkg}, which is not installed or does not load here (npm install ${pkg}): ${first}`);
  }
  if (name === 'native') {
    const native = loadNativeKernels();
    if (!native.ok) throw new BackendUnavailableError(name, `backend 'native' is unavailable here: ${native.reason}; ${NATIVE_HINT}`);
  }
  // The threaded wasm build does not start under Node; SIMD single-thread does.
  if (TFJS_BACKENDS[name] === 'wasm') tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  if (!(await tf.setBackend(TFJS_BACKENDS[name]))) throw new BackendUnavailableError(name, `backend '${name}' (${pkg}) failed to initialise`);
}

let active: BackendInfo | undefined;

/**
 * Activates a backend and returns what was chosen. With no request (and no SPARSEGRAPH_BACKEND) the best
 * available one is taken; a requested one that cannot load is an error naming its package.
 */
export async function selectBackend(requested?: string): Promise<BackendInfo> {
  const wanted = requested ?? process.env.SPARSEGRAPH_BACKEND;
  let chosen: BackendName | undefined;
  if (wanted !== undefined && wanted !== '' && wanted !== 'auto') {
    chosen = parseBackendName(wanted);
    if (active?.name === chosen) return active;
    await activate(chosen);
  } else {
    if (active) return active;
    const order: BackendName[] = hasNvidiaGpu() ? ['tensorflow-gpu', 'tensorflow', 'native', 'wasm', 'cpu'] : ['tensorflow', 'native', 'wasm', 'cpu'];
    for (const name of order) {
      try {
        await activate(name);
        chosen = name;
        break;
      } catch {
        // Not installed or not loadable here: try the next one.
      }
    }
    if (!chosen) throw new BackendUnavailableError('auto', `no tensor backend could be loaded; npm install ${PACKAGES.wasm}`);
  }
  await tf.ready();
  active = {
    name: chosen,
    version: packageVersion(PACKAGES[chosen]),
    package: PACKAGES[chosen],
    tfjsBackend: tf.getBackend(),
    coreVersion: packageVersion('@tensorflow/tfjs-core'),
    ...(chosen === 'native' ? { kernels: nativeDescription() } : {}),
  };
  return active;
}

function nativeDescription(): string {
  const native = loadNativeKernels();
  return native.ok ? native.kernels.description : native.reason;
}

/**
 * The host kernels that train and evaluate fully connected networks, when the active backend is
 * `native`; undefined otherwise (those networks then run as tfjs programs like every other).
 */
export function hostKernels(): HostKernels | undefined {
  if (active?.name !== 'native') return undefined;
  const native = loadNativeKernels();
  return native.ok ? native.kernels : undefined;
}

/** The active backend, for provenance; undefined before `selectBackend`. */
export function backendDescription(): BackendInfo | undefined {
  return active;
}

/**
 * Facts about the active backend that pick fast paths. On wasm and cpu a matMul with a transpose flag
 * is 7-10x slower than an explicit transpose followed by a plain matMul, and slicing a large resident
 * tensor copies it; native TensorFlow handles both well.
 */
export interface KernelPreferences {
  /** Transpose explicitly instead of passing transposeA/transposeB to matMul. */
  readonly explicitTranspose: boolean;
  /** Gather batches from a dataset kept on the device instead of uploading each batch from the host. */
  readonly residentData: boolean;
}

export function kernelPreferences(): KernelPreferences {
  const native = tf.getBackend() === 'tensorflow' || tf.getBackend() === 'webgl' || tf.getBackend() === 'webgpu';
  return { explicitTranspose: !native, residentData: false };
}
