/**
 * The native kernels (native/kernels.c, built at install into dist/native/libsgkernels.so) and the system
 * BLAS they call, loaded through koffi. tfjs-free, so the CLI can say which path a run takes before any
 * backend loads. Every array is passed as a pointer to its own memory (koffi passes typed arrays, and
 * their subarrays, without copying), so the kernels work in place on the training loop's buffers.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { HostKernels } from './host-kernels.js';

/** The interface version native/kernels.c reports; a library built from another version is refused. */
const ABI_VERSION = 1;

const LIBRARY = fileURLToPath(new URL('../../../native/libsgkernels.so', import.meta.url));

/**
 * Where OpenBLAS may be, in order: the dynamic loader's search (Debian's libopenblas0-pthread registers
 * libopenblas.so.0), then the Debian and Fedora paths of the one-thread and pthread builds. Another BLAS
 * with a cblas_sgemm (BLIS, MKL) is taken from $SPARSEGRAPH_BLAS.
 */
const BLAS_CANDIDATES = [
  'libopenblas.so.0',
  '/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0',
  '/usr/lib/x86_64-linux-gnu/openblas-serial/libopenblas.so.0',
  '/usr/lib/aarch64-linux-gnu/openblas-pthread/libopenblas.so.0',
  '/usr/lib64/libopenblas.so.0',
  'libopenblas.so',
];

/** How to get the native path, said wherever it is missing. */
export const NATIVE_HINT =
  'for the native path install a C compiler and OpenBLAS (apt-get install gcc libopenblas0-pthread) and rebuild (npm run build)';

export type NativeLoad = { readonly ok: true; readonly kernels: HostKernels } | { readonly ok: false; readonly reason: string };

let loaded: NativeLoad | undefined;

/** Loads the native kernels once per thread; the reason when they cannot be used here. */
export function loadNativeKernels(): NativeLoad {
  loaded ??= tryLoad();
  return loaded;
}

function tryLoad(): NativeLoad {
  if (!existsSync(LIBRARY)) return { ok: false, reason: `the native kernels were not built (no ${LIBRARY})` };
  let koffi: typeof import('koffi');
  try {
    koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
  } catch (err) {
    return { ok: false, reason: `the npm package koffi does not load here: ${(err as Error).message.split('\n')[0]}` };
  }
  let lib: ReturnType<typeof koffi.load>;
  try {
    lib = koffi.load(LIBRARY);
  } catch (err) {
    return { ok: false, reason: `${LIBRARY} does not load: ${(err as Error).message.split('\n')[0]}` };
  }
  const abi = lib.func('int sg_abi_version(void)')() as number;
  if (abi !== ABI_VERSION) return { ok: false, reason: `${LIBRARY} is from another version of sparsegraph (interface ${abi}, expected ${ABI_VERSION}); rebuild with npm run build` };
  // One BLAS thread per worker: the pool keeps the cores busy. Set before OpenBLAS starts its threads.
  process.env.OPENBLAS_NUM_THREADS ??= '1';
  const init = lib.func('int sg_init(const char *path, char *info, int len)');
  const requested = process.env.SPARSEGRAPH_BLAS;
  const tried: string[] = [];
  let blas: string | undefined;
  for (const path of requested ? [requested] : BLAS_CANDIDATES) {
    const info = Buffer.alloc(512);
    if (init(path, info, info.length) === 0) {
      blas = info.toString('utf8', 0, info.indexOf(0)).trim();
      break;
    }
    tried.push(info.toString('utf8', 0, info.indexOf(0)));
  }
  if (blas === undefined) return { ok: false, reason: `no BLAS found (${requested ? `$SPARSEGRAPH_BLAS=${requested}: ${tried[0]}` : `tried ${BLAS_CANDIDATES.join(', ')}`})` };
  return { ok: true, kernels: bind(lib, blas) };
}

function bind(lib: ReturnType<(typeof import('koffi'))['load']>, blas: string): HostKernels {
  const gemm = lib.func('void sg_gemm(int ta, int tb, int m, int n, int k, float alpha, const float *a, const float *b, float beta, float *c)');
  const transpose = lib.func('void sg_transpose(const float *src, int rows, int cols, float *dst)');
  const biasAct = lib.func('void sg_bias_act(float *z, const float *bias, int out, int batch, int relu)');
  const reluBackward = lib.func('void sg_relu_backward(float *dz, const float *a, int64_t n)');
  const biasGrad = lib.func('void sg_bias_grad(const float *dz, int out, int batch, float *db)');
  const xent = lib.func('double sg_softmax_xent(const float *logits, const int32_t *labels, int classes, int batch, float smoothing, float *dlogits, int32_t *correct)');
  const sgd = lib.func('void sg_sgd(float *w, float *v, const float *g, const uint8_t *mask, int64_t n, float lr, float momentum, float wd, int nesterov)');
  const axpby = lib.func('void sg_axpby(int64_t n, float a, const float *x, float b, float *y)');
  const csrForward = lib.func('void sg_csr_forward(int out, int batch, const int32_t *rowPtr, const int32_t *col, const float *val, const float *a, float *z)');
  const cscBackward = lib.func('void sg_csc_backward(int in, int batch, const int32_t *colPtr, const int32_t *row, const int32_t *perm, const float *val, const float *dz, float *da)');
  const csrGrad = lib.func('void sg_csr_grad(int out, int batch, const int32_t *rowPtr, const int32_t *col, const float *dz, const float *a, float *g)');
  return {
    name: 'native',
    description: `sparsegraph native kernels ${ABI_VERSION}, ${blas}`,
    gemm: (ta, tb, m, n, k, alpha, a, b, beta, c) => gemm(ta ? 1 : 0, tb ? 1 : 0, m, n, k, alpha, a, b, beta, c),
    transpose: (src, rows, cols, dst) => transpose(src, rows, cols, dst),
    biasAct: (z, bias, out, batch, relu) => biasAct(z, bias, out, batch, relu ? 1 : 0),
    reluBackward: (dz, a, n) => reluBackward(dz, a, n),
    biasGrad: (dz, out, batch, db) => biasGrad(dz, out, batch, db),
    softmaxXent: (logits, labels, classes, batch, smoothing, dlogits, correct) => xent(logits, labels, classes, batch, smoothing, dlogits, correct) as number,
    sgd: (w, v, g, mask, n, lr, o) => sgd(w, v, g, mask, n, lr, o.momentum, o.weightDecay, o.nesterov ? 1 : 0),
    axpby: (n, a, x, b, y) => axpby(n, a, x, b, y),
    csrForward: (out, batch, m, a, z) => csrForward(out, batch, m.rowPtr, m.col, m.val, a, z),
    cscBackward: (inputs, batch, m, dz, da) => cscBackward(inputs, batch, m.colPtr, m.row, m.perm, m.val, dz, da),
    csrGrad: (out, batch, m, dz, a, g) => csrGrad(out, batch, m.rowPtr, m.col, dz, a, g),
  };
}

/**
 * One line on the path a run's fully connected networks will compute on, for the CLI to print before
 * it starts: `native` with its BLAS, or why not and how to get it. Undefined where another backend was
 * asked for (the user chose; nothing to advise).
 */
export function computePathLine(requested: string | undefined, tensorflowInstalled: boolean): string | undefined {
  const wanted = requested?.trim().toLowerCase();
  if (wanted && wanted !== 'auto' && wanted !== 'native') return undefined;
  if (!wanted && tensorflowInstalled) return undefined;
  const native = loadNativeKernels();
  if (native.ok) return `kernels: native (${native.kernels.description}; one BLAS thread per worker) for fully connected networks, wasm for the rest`;
  return `kernels: wasm, the slow path (native unavailable: ${native.reason}); ${NATIVE_HINT}`;
}
