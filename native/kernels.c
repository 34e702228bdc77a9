/*
 * sparsegraph's native kernels: what one training or evaluation step of a fully connected network needs
 * beyond the dense products, which go to the system's BLAS (OpenBLAS, opened at run time with dlopen so
 * that building needs no BLAS headers and a machine without one still loads this library and reports
 * why). Called from TypeScript through koffi, on Float32Arrays, without copies.
 *
 * Layouts. Weights are [out, in], row-major (PyTorch's Linear layout, so checkpoints need no permute).
 * Activations are feature-major, [features, B]: a layer's rows are contiguous runs of B values, so the
 * sparse kernels below touch whole rows and the compiler vectorises them over the batch.
 *
 * Sparse layers hold their kept weights in CSR (rows = outputs). The forward pass gathers rows of the
 * input through CSR; the input gradient gathers rows of dZ through the transpose (CSC, whose entries
 * point back into the CSR values, so one value array serves both); the weight gradient is computed only
 * at kept positions (a sampled dense-dense product: one dot product over the batch per kept weight).
 *
 * Determinism: every loop has a fixed order and fixed partial sums (no threads, no -ffast-math), so a
 * step gives the same bits on every run on one machine.
 */
#include <dlfcn.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* CBLAS constants (cblas.h), written out so building needs no BLAS headers. */
enum { ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112 };
typedef void (*sgemm_fn)(int, int, int, int, int, int, float, const float *, int, const float *, int, float, float *, int);
typedef void (*set_threads_fn)(int);
typedef char *(*get_config_fn)(void);

static sgemm_fn sgemm = 0;

/* Version of this file's interface; the TypeScript side refuses a library built from another. */
int sg_abi_version(void) { return 1; }

/*
 * Opens the BLAS at `path`, takes its cblas_sgemm and limits it to one thread (the worker pool keeps the
 * cores busy; BLAS threads would compete with it). Writes the library's own description (OpenBLAS's
 * configuration string) or the reason it failed into `info`. Returns 0 on success.
 */
int sg_init(const char *path, char *info, int info_len) {
  void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    snprintf(info, info_len, "%s", dlerror());
    return 1;
  }
  sgemm_fn f = (sgemm_fn)dlsym(lib, "cblas_sgemm");
  if (!f) {
    snprintf(info, info_len, "%s has no cblas_sgemm", path);
    return 2;
  }
  set_threads_fn threads = (set_threads_fn)dlsym(lib, "openblas_set_num_threads");
  if (threads) threads(1);
  get_config_fn config = (get_config_fn)dlsym(lib, "openblas_get_config");
  snprintf(info, info_len, "%s", config ? config() : path);
  sgemm = f;
  return 0;
}

/* C[M,N] = alpha op(A) op(B) + beta C, row-major, op = transpose where the flag is set. */
void sg_gemm(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a, const float *b, float beta, float *c) {
  int lda = trans_a ? m : k;
  int ldb = trans_b ? k : n;
  sgemm(ROW_MAJOR, trans_a ? TRANS : NO_TRANS, trans_b ? TRANS : NO_TRANS, m, n, k, alpha, a, lda, b, ldb, beta, c, n);
}

/* dst[cols, rows] = src[rows, cols]^T, in tiles that stay in L1. */
void sg_transpose(const float *src, int rows, int cols, float *dst) {
  const int T = 32;
  for (int r0 = 0; r0 < rows; r0 += T)
    for (int c0 = 0; c0 < cols; c0 += T) {
      int r1 = r0 + T < rows ? r0 + T : rows, c1 = c0 + T < cols ? c0 + T : cols;
      for (int r = r0; r < r1; r++)
        for (int c = c0; c < c1; c++) dst[(int64_t)c * rows + r] = src[(int64_t)r * cols + c];
    }
}

/* z[o, :] += bias[o], then ReLU where `relu` is set; z is [out, B]. */
void sg_bias_act(float *z, const float *bias, int out, int batch, int relu) {
  for (int o = 0; o < out; o++) {
    float *row = z + (int64_t)o * batch;
    const float b = bias[o];
    if (relu)
      for (int i = 0; i < batch; i++) {
        float v = row[i] + b;
        row[i] = v > 0.0f ? v : 0.0f;
      }
    else
      for (int i = 0; i < batch; i++) row[i] += b;
  }
}

/* dz[i] = 0 where the unit was inactive (a[i] <= 0): ReLU's derivative read from its output. */
void sg_relu_backward(float *dz, const float *a, int64_t n) {
  for (int64_t i = 0; i < n; i++)
    if (!(a[i] > 0.0f)) dz[i] = 0.0f;
}

/* db[o] = sum over the batch of dz[o, :], in 16 fixed partial sums. */
void sg_bias_grad(const float *dz, int out, int batch, float *db) {
  for (int o = 0; o < out; o++) {
    const float *row = dz + (int64_t)o * batch;
    float s[16] = {0};
    int i = 0;
    for (; i + 16 <= batch; i += 16)
      for (int j = 0; j < 16; j++) s[j] += row[i + j];
    float t = 0.0f;
    for (int j = 0; j < 16; j++) t += s[j];
    for (; i < batch; i++) t += row[i];
    db[o] = t;
  }
}

/*
 * Mean cross-entropy of logits [K, B] against labels smoothed by `smoothing` (targets (1-eps) one-hot +
 * eps/K), and, when `dlogits` is given, its gradient (softmax - target) / B. Returns the batch mean;
 * `correct` (when given) receives how many argmax predictions equal the label (first maximum wins).
 */
double sg_softmax_xent(const float *logits, const int32_t *labels, int classes, int batch, float smoothing, float *dlogits, int32_t *correct) {
  double total = 0.0;
  int32_t right = 0;
  const float off = smoothing / (float)classes, on = 1.0f - smoothing + off;
  for (int b = 0; b < batch; b++) {
    float mx = logits[b];
    int arg = 0;
    for (int k = 1; k < classes; k++) {
      float v = logits[(int64_t)k * batch + b];
      if (v > mx) mx = v, arg = k;
    }
    if (arg == labels[b]) right++;
    float sum = 0.0f;
    for (int k = 0; k < classes; k++) sum += expf(logits[(int64_t)k * batch + b] - mx);
    const float lse = mx + logf(sum);
    double nll = 0.0;
    for (int k = 0; k < classes; k++) {
      const float logp = logits[(int64_t)k * batch + b] - lse;
      const float t = k == labels[b] ? on : off;
      nll -= (double)(logp * t);
      if (dlogits) dlogits[(int64_t)k * batch + b] = (expf(logp) - t) / (float)batch;
    }
    total += nll;
  }
  if (correct) *correct = right;
  return total / batch;
}

/*
 * SGD with momentum as PyTorch (v = m v + g, step along v, or g + m v with Nesterov) and coupled weight
 * decay, over n entries. `mask` (nullable, 0/1 bytes) zeroes the gradient of masked entries, so masked
 * weights, zero already, stay exactly zero. With momentum 0 the buffer is left as it is.
 */
void sg_sgd(float *w, float *v, const float *g, const uint8_t *mask, int64_t n, float lr, float momentum, float wd, int nesterov) {
  for (int64_t i = 0; i < n; i++) {
    float gi = mask && !mask[i] ? 0.0f : g[i];
    gi = gi + w[i] * wd;
    if (momentum == 0.0f) {
      w[i] = w[i] - gi * lr;
      continue;
    }
    const float nv = v[i] * momentum + gi;
    v[i] = nv;
    w[i] = w[i] - (nesterov ? gi + nv * momentum : nv) * lr;
  }
}

/*
 * Sixteen floats as one value (GCC/Clang vector extensions: AVX-512 registers here, pairs or quads of
 * narrower registers elsewhere). `aligned(4)` because rows start at any float.
 */
typedef float v16 __attribute__((vector_size(64), aligned(4)));
#define V(p) (*(const v16 *)(p))

/*
 * out[i, :] = sum over entries j of row i: val[j] * src[idx[j], :] for rows of `batch` values, NV*16
 * values at a time held in registers (the accumulators never touch memory inside the entry loop).
 * `perm`, when given, maps an entry to its value (the CSC view of a CSR matrix).
 */
#define GATHER_ROWS(NV)                                                                            \
  static void gather_rows_##NV(const int32_t *ptr, const int32_t *idx, const int32_t *perm,       \
                               const float *val, const float *src, int64_t batch, int i0, float *dst) { \
    v16 acc[NV];                                                                                   \
    for (int q = 0; q < NV; q++) acc[q] = (v16){0};                                                \
    for (int32_t j = ptr[0]; j < ptr[1]; j++) {                                                    \
      const float w = val[perm ? perm[j] : j];                                                     \
      const float *r = src + (int64_t)idx[j] * batch + i0;                                         \
      for (int q = 0; q < NV; q++) acc[q] += w * V(r + 16 * q);                                    \
    }                                                                                              \
    for (int q = 0; q < NV; q++) memcpy(dst + i0 + 16 * q, &acc[q], sizeof(v16));                  \
  }
GATHER_ROWS(8)
GATHER_ROWS(1)

static void gather_rows(const int32_t *ptr, const int32_t *idx, const int32_t *perm, const float *val, const float *src, int batch, float *dst) {
  int i0 = 0;
  for (; i0 + 128 <= batch; i0 += 128) gather_rows_8(ptr, idx, perm, val, src, batch, i0, dst);
  for (; i0 + 16 <= batch; i0 += 16) gather_rows_1(ptr, idx, perm, val, src, batch, i0, dst);
  for (int i = i0; i < batch; i++) {
    float s = 0.0f;
    for (int32_t j = ptr[0]; j < ptr[1]; j++) s += val[perm ? perm[j] : j] * src[(int64_t)idx[j] * batch + i];
    dst[i] = s;
  }
}

/*
 * z[out, B] = W a for CSR W (row_ptr[out+1], col[nnz], val[nnz]) and a [in, B]: each output row is a
 * sum of input rows scaled by the kept weights.
 */
void sg_csr_forward(int out, int batch, const int32_t *row_ptr, const int32_t *col, const float *val, const float *a, float *z) {
  for (int o = 0; o < out; o++) gather_rows(row_ptr + o, col, 0, val, a, batch, z + (int64_t)o * batch);
}

/*
 * da[in, B] = W^T dz through the transpose of W's pattern: CSC (col_ptr[in+1], row[nnz]) whose entry j
 * holds W's value val[perm[j]].
 */
void sg_csc_backward(int in, int batch, const int32_t *col_ptr, const int32_t *row, const int32_t *perm, const float *val, const float *dz, float *da) {
  for (int k = 0; k < in; k++) gather_rows(col_ptr + k, row, perm, val, dz, batch, da + (int64_t)k * batch);
}

static float hsum(v16 v) {
  float t = 0.0f;
  for (int q = 0; q < 16; q++) t += v[q];
  return t;
}

/*
 * g[j] = sum over the batch of dz[o, :] * a[col[j], :] for each kept weight j of row o. With a batch of
 * 128, row o of dz stays in registers while its entries stream past.
 */
void sg_csr_grad(int out, int batch, const int32_t *row_ptr, const int32_t *col, const float *dz, const float *a, float *g) {
  for (int o = 0; o < out; o++) {
    const float *dr = dz + (int64_t)o * batch;
    if (batch == 128) {
      v16 d[8];
      for (int q = 0; q < 8; q++) d[q] = V(dr + 16 * q);
      for (int32_t j = row_ptr[o]; j < row_ptr[o + 1]; j++) {
        const float *ar = a + (int64_t)col[j] * batch;
        v16 s0 = d[0] * V(ar), s1 = d[1] * V(ar + 16);
        for (int q = 2; q < 8; q += 2) s0 += d[q] * V(ar + 16 * q), s1 += d[q + 1] * V(ar + 16 * q + 16);
        g[j] = hsum(s0 + s1);
      }
      continue;
    }
    for (int32_t j = row_ptr[o]; j < row_ptr[o + 1]; j++) {
      const float *ar = a + (int64_t)col[j] * batch;
      v16 s = {0};
      int i = 0;
      for (; i + 16 <= batch; i += 16) s += V(dr + i) * V(ar + i);
      float t = hsum(s);
      for (; i < batch; i++) t += dr[i] * ar[i];
      g[j] = t;
    }
  }
}

/* y = a x + b y over n entries (mixing a path's basis points; b = 0 overwrites y). */
void sg_axpby(int64_t n, float a, const float *x, float b, float *y) {
  if (b == 0.0f)
    for (int64_t i = 0; i < n; i++) y[i] = a * x[i];
  else
    for (int64_t i = 0; i < n; i++) y[i] = a * x[i] + b * y[i];
}
