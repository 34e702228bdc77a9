/**
 * Weight layouts. Checkpoints use PyTorch's layout so exported safetensors load into torch unchanged:
 * Linear weight [out, in], Conv2d weight [out, in, kh, kw]. On the device the trainer keeps tfjs's
 * layout, which makes the forward matMul/conv2d transpose-free: Linear [in, out], Conv2d [kh, kw, in, out].
 * Conversion happens on the host, once per load or save.
 */

/** The kinds of layer whose weight is stored transposed on the device. */
export type WeightLayout = 'linear' | 'conv2d' | 'plain';

/** Device shape of a checkpoint-layout shape. */
export function deviceShape(layout: WeightLayout, shape: readonly number[]): number[] {
  switch (layout) {
    case 'linear':
      return [shape[1]!, shape[0]!];
    case 'conv2d':
      return [shape[2]!, shape[3]!, shape[1]!, shape[0]!];
    case 'plain':
      return [...shape];
  }
}

/** Permutes data from checkpoint layout to device layout (or back, with `inverse`). */
export function permuteLayout<T extends Float32Array | Uint8Array>(layout: WeightLayout, shape: readonly number[], data: T, inverse = false): T {
  if (layout === 'plain') return data;
  const out = new (data.constructor as { new (n: number): T })(data.length);
  if (layout === 'linear') {
    const [o, i] = [shape[0]!, shape[1]!];
    for (let r = 0; r < o; r++) {
      for (let c = 0; c < i; c++) {
        // checkpoint index r*i + c  <->  device index c*o + r
        if (inverse) out[r * i + c] = data[c * o + r]!;
        else out[c * o + r] = data[r * i + c]!;
      }
    }
    return out;
  }
  const [co, ci, kh, kw] = [shape[0]!, shape[1]!, shape[2]!, shape[3]!];
  for (let a = 0; a < co; a++) {
    for (let b = 0; b < ci; b++) {
      for (let y = 0; y < kh; y++) {
        for (let x = 0; x < kw; x++) {
          const ckpt = ((a * ci + b) * kh + y) * kw + x;
          const dev = ((y * kw + x) * ci + b) * co + a;
          if (inverse) out[ckpt] = data[dev]!;
          else out[dev] = data[ckpt]!;
        }
      }
    }
  }
  return out;
}
