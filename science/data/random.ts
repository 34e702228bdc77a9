/**
 * Seeded pseudo-random numbers computed on the host, so initialisation and data order are bit-identical
 * on every backend (tfjs's own generators differ between backends).
 *
 * Streams are derived from (seed, ...labels) by hashing, so the data-order stream of epoch 3 does not
 * depend on how many numbers epoch 2 drew, and an init seed and a data-order seed never share a stream.
 */

/** splitmix32 finaliser: a good 32-bit mixing function. */
function mix32(x: number): number {
  x = (x + 0x9e3779b9) | 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** Hashes a seed and any number of labels (numbers or strings) into a 32-bit stream id. */
export function streamId(seed: number, ...labels: (number | string)[]): number {
  let h = mix32(seed >>> 0) ^ mix32(Math.floor(seed / 2 ** 32) >>> 0);
  for (const label of labels) {
    if (typeof label === 'number') {
      h = mix32(h ^ mix32(label >>> 0));
    } else {
      for (let i = 0; i < label.length; i++) h = mix32(h ^ label.charCodeAt(i));
      h = mix32(h ^ label.length);
    }
  }
  return h;
}

/** A sfc32 generator: fast, 128-bit state, passes PractRand; enough for shuffles and initial weights. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spareNormal: number | undefined;

  constructor(seed: number, ...labels: (number | string)[]) {
    const s = streamId(seed, ...labels);
    this.a = mix32(s);
    this.b = mix32(this.a ^ 0x1234567);
    this.c = mix32(this.b ^ 0x89abcdef);
    this.d = 1;
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  uniform(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform integer in [0, n), without modulo bias. */
  int(n: number): number {
    const limit = 4294967296 - (4294967296 % n);
    for (;;) {
      const r = this.nextUint32();
      if (r < limit) return r % n;
    }
  }

  /** Standard normal (Box-Muller, both values used). */
  normal(): number {
    if (this.spareNormal !== undefined) {
      const s = this.spareNormal;
      this.spareNormal = undefined;
      return s;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }
}

/**
 * The order in which an epoch visits the n training examples: a Fisher-Yates shuffle seeded by the
 * data-order seed and the epoch number, so any epoch can be recomputed on its own (resuming needs that).
 */
export function permutation(n: number, seed: number, epoch: number): Int32Array {
  const rng = new Rng(seed, 'data-order', epoch);
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = p[i]!;
    p[i] = p[j]!;
    p[j] = t;
  }
  return p;
}
