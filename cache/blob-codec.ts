/**
 * The binary encoding of one HostTensor, the unit the cache stores and addresses by sha256.
 *
 * Layout (all integers little-endian; the header is padded to a multiple of 8 bytes so that the payload
 * can be viewed as a typed array without copying):
 *
 *   offset  size  field
 *   0       4     magic "SGTB"
 *   4       1     codec version (1)
 *   5       1     encoding: 0 dense, 1 sparse (bitmask + non-zero values), 2 bits (bitmask only)
 *   6       1     dtype: 0 float32, 1 int32, 2 uint8
 *   7       1     rank r
 *   8       8     element count n (float64, an exact integer)
 *   16      8     stored value count: n for dense, the non-zero count for sparse and bits (float64)
 *   24      4*r   dimensions (uint32 each)
 *   ...           zero padding to a multiple of 8
 *   payload:
 *     dense:  n values of the dtype
 *     sparse: bitmask of ceil(n/64)*8 bytes (bit i&7 of byte i>>3 set when element i is non-zero),
 *             then the non-zero values in index order
 *     bits:   the bitmask only; every set element is 1 (uint8 masks)
 *
 * "Non-zero" means a non-zero bit pattern, so -0 and every NaN payload are kept exactly.
 * Encoding is deterministic, so equal tensors give equal bytes and equal digests.
 */
import { createHash } from 'node:crypto';
import { endianness } from 'node:os';
import type { Digest } from '../base/brand.js';
import type { DType, HostTensor } from '../base/values.js';

const MAGIC = 0x42544753; // "SGTB" read as a little-endian uint32
const CODEC_VERSION = 1;
const FIXED_HEADER_BYTES = 24;

export const BLOB_ENCODINGS = ['dense', 'sparse', 'bits'] as const;
export type BlobEncoding = (typeof BLOB_ENCODINGS)[number];
const DTYPES: readonly DType[] = ['float32', 'int32', 'uint8'];
const ELEMENT_BYTES: Readonly<Record<DType, number>> = { float32: 4, int32: 4, uint8: 1 };

// Typed-array views read and write in platform byte order; the format is little-endian.
if (endianness() !== 'LE') {
  throw new Error('sparsegraph cache: blob encoding needs a little-endian platform');
}

/** A blob whose bytes do not follow the layout above (truncated, wrong magic, inconsistent counts). */
export class BlobFormatError extends Error {
  constructor(detail: string) {
    super(`not a valid tensor blob: ${detail}`);
    this.name = 'BlobFormatError';
  }
}

export interface EncodeOptions {
  /**
   * Fraction of zero elements above which a float32 or int32 (or uint8) tensor is stored sparse.
   * Default 0.5. A uint8 tensor holding only 0 and 1 is always stored as bits (1/8 of its dense size).
   */
  readonly sparseAbove?: number;
}

/** What a blob's header says, without decoding its payload. */
export interface BlobHeader {
  readonly encoding: BlobEncoding;
  readonly dtype: DType;
  readonly shape: readonly number[];
  /** Number of elements of the tensor. */
  readonly elements: number;
  /** Number of stored values (all elements when dense, the non-zeros otherwise). */
  readonly stored: number;
  /** Byte offset of the payload. */
  readonly payloadOffset: number;
}

export function encodeTensor(tensor: HostTensor, options: EncodeOptions = {}): Uint8Array {
  const problem = tensorProblem(tensor);
  if (problem !== undefined) throw new TypeError(`cannot encode tensor: ${problem}`);
  const { dtype, shape } = tensor;
  const n = tensor.data.length;
  const sparseAbove = options.sparseAbove ?? 0.5;
  if (n === 0) return writeDense(tensor);
  const words = wordsOf(tensor.data);
  let nonZero = 0;
  let onlyOnes = dtype === 'uint8';
  for (let i = 0; i < words.length; i++) {
    const v = words[i]!;
    if (v !== 0) {
      nonZero++;
      if (v !== 1) onlyOnes = false;
    }
  }
  const maskBytes = bitmaskBytes(n);
  const candidates: { encoding: BlobEncoding; bytes: number }[] = [
    { encoding: 'dense', bytes: n * ELEMENT_BYTES[dtype] },
  ];
  if (onlyOnes) candidates.push({ encoding: 'bits', bytes: maskBytes });
  if ((n - nonZero) / n > sparseAbove) {
    candidates.push({ encoding: 'sparse', bytes: maskBytes + nonZero * ELEMENT_BYTES[dtype] });
  }
  candidates.sort((a, b) => a.bytes - b.bytes);
  switch (candidates[0]!.encoding) {
    case 'dense':
      return writeDense(tensor);
    case 'sparse':
      return writeMasked(dtype, shape, words, nonZero, true);
    case 'bits':
      return writeMasked(dtype, shape, words, nonZero, false);
  }
}

export interface DecodeOptions {
  /**
   * Always put the data in fresh memory. Without it, an aligned dense payload comes back as a view over
   * `bytes` (no copy), which is right only when the tensor may own `bytes`.
   */
  readonly copy?: boolean;
  /**
   * Copies a dense payload into the fresh memory instead of a plain `into.set(...)`: must fill `into`
   * with `bytes.subarray(payloadOffset)` (the store checksums the blob in the same pass). Only called
   * when a dense payload is copied; never for sparse or bits payloads, nor for views.
   */
  readonly copyDense?: (bytes: Uint8Array, payloadOffset: number, into: Uint8Array) => void;
}

/** Decodes a blob; sparse and bits payloads are always expanded into fresh memory. */
export function decodeTensor(bytes: Uint8Array, options: DecodeOptions = {}): HostTensor {
  const header = readBlobHeader(bytes);
  const { dtype, elements: n, stored, payloadOffset } = header;
  const size = ELEMENT_BYTES[dtype];
  switch (header.encoding) {
    case 'dense': {
      expectLength(bytes, payloadOffset + n * size);
      const start = bytes.byteOffset + payloadOffset;
      if (options.copy !== true && start % size === 0) {
        return { dtype, shape: header.shape, data: typedArray(dtype, bytes.buffer, start, n) } as HostTensor;
      }
      // One memcpy into fresh memory; a byte-wise view copies correctly at any source alignment.
      const data = typedArray(dtype, new ArrayBuffer(n * size), 0, n);
      if (options.copyDense !== undefined) options.copyDense(bytes, payloadOffset, new Uint8Array(data.buffer));
      else new Uint8Array(data.buffer).set(bytes.subarray(payloadOffset));
      return { dtype, shape: header.shape, data } as HostTensor;
    }
    case 'sparse':
    case 'bits': {
      const maskBytes = bitmaskBytes(n);
      const valueBytes = header.encoding === 'sparse' ? stored * size : 0;
      expectLength(bytes, payloadOffset + maskBytes + valueBytes);
      // Word access needs 4-byte alignment; a misaligned input is copied once.
      const aligned = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
      const mask = new Uint32Array(aligned.buffer, aligned.byteOffset + payloadOffset, maskBytes / 4);
      const out = size === 4 ? new Int32Array(n) : new Uint8Array(n);
      let k: number;
      if (header.encoding === 'bits') {
        k = scatterOnes(mask, out);
      } else {
        const valuesAt = aligned.byteOffset + payloadOffset + maskBytes;
        const values = size === 4 ? new Int32Array(aligned.buffer, valuesAt, stored) : new Uint8Array(aligned.buffer, valuesAt, stored);
        k = scatter(mask, values, out);
      }
      if (k !== stored) throw new BlobFormatError(`bitmask has ${k} set bits, header says ${stored}`);
      return { dtype, shape: header.shape, data: typedArray(dtype, out.buffer, 0, n) } as HostTensor;
    }
  }
}

/**
 * Why `value` is not a well-formed HostTensor (dtype known, data of the matching typed-array class, shape
 * of non-negative integers whose product is the data length), or undefined when it is one.
 */
export function tensorProblem(value: HostTensor): string | undefined {
  const { dtype, shape, data } = value;
  if (!DTYPES.includes(dtype)) return `unknown dtype ${JSON.stringify(dtype)}`;
  const expected = dtype === 'float32' ? Float32Array : dtype === 'int32' ? Int32Array : Uint8Array;
  if (!(data instanceof expected)) return `data is ${data?.constructor?.name ?? typeof data}, expected ${expected.name} for dtype ${dtype}`;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0 && d <= 0xffffffff)) {
    return `shape ${JSON.stringify(shape)} is not a list of non-negative integers`;
  }
  const product = shape.reduce((a, b) => a * b, 1);
  if (product !== data.length) return `shape ${JSON.stringify(shape)} has ${product} elements but data has ${data.length}`;
  return undefined;
}

export function readBlobHeader(bytes: Uint8Array): BlobHeader {
  if (bytes.length < FIXED_HEADER_BYTES) throw new BlobFormatError(`${bytes.length} bytes is shorter than a header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== MAGIC) throw new BlobFormatError('bad magic');
  const version = view.getUint8(4);
  if (version !== CODEC_VERSION) throw new BlobFormatError(`codec version ${version}, this build reads ${CODEC_VERSION}`);
  const encoding = BLOB_ENCODINGS[view.getUint8(5)];
  const dtype = DTYPES[view.getUint8(6)];
  if (encoding === undefined || dtype === undefined) throw new BlobFormatError('unknown encoding or dtype');
  if (encoding === 'bits' && dtype !== 'uint8') throw new BlobFormatError('bits encoding of a non-uint8 tensor');
  const rank = view.getUint8(7);
  const elements = view.getFloat64(8, true);
  const stored = view.getFloat64(16, true);
  const payloadOffset = headerBytes(rank);
  if (bytes.length < payloadOffset) throw new BlobFormatError('truncated shape');
  const shape: number[] = [];
  let product = 1;
  for (let i = 0; i < rank; i++) {
    const d = view.getUint32(FIXED_HEADER_BYTES + 4 * i, true);
    shape.push(d);
    product *= d;
  }
  if (!Number.isSafeInteger(elements) || product !== elements) throw new BlobFormatError('shape does not match element count');
  if (!Number.isSafeInteger(stored) || stored < 0 || stored > elements) throw new BlobFormatError('bad stored value count');
  if (encoding === 'dense' && stored !== elements) throw new BlobFormatError('dense blob with stored != elements');
  return { encoding, dtype, shape, elements, stored, payloadOffset };
}

/** sha256 of a blob, lowercase hex, computed on this thread. */
export function blobDigest(bytes: Uint8Array): Digest {
  return createHash('sha256').update(bytes).digest('hex') as Digest;
}

// ---------------------------------------------------------------------------------------------------

function headerBytes(rank: number): number {
  return roundUp8(FIXED_HEADER_BYTES + 4 * rank);
}

function bitmaskBytes(n: number): number {
  return Math.ceil(n / 64) * 8;
}

function roundUp8(n: number): number {
  return (n + 7) & ~7;
}

/** The tensor's elements as integers of the same width: compares bit patterns, never float values. */
function wordsOf(data: HostTensor['data']): Int32Array | Uint8Array {
  if (data instanceof Uint8Array) return data;
  return new Int32Array(data.buffer, data.byteOffset, data.length);
}

function typedArray(dtype: DType, buffer: ArrayBufferLike, offset: number, n: number): HostTensor['data'] {
  switch (dtype) {
    case 'float32':
      return new Float32Array(buffer, offset, n);
    case 'int32':
      return new Int32Array(buffer, offset, n);
    case 'uint8':
      return new Uint8Array(buffer, offset, n);
  }
}

function writeHeader(out: Uint8Array, encoding: BlobEncoding, dtype: DType, shape: readonly number[], n: number, stored: number): void {
  if (shape.length > 255) throw new RangeError(`tensor rank ${shape.length} exceeds 255`);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  view.setUint32(0, MAGIC, true);
  view.setUint8(4, CODEC_VERSION);
  view.setUint8(5, BLOB_ENCODINGS.indexOf(encoding));
  view.setUint8(6, DTYPES.indexOf(dtype));
  view.setUint8(7, shape.length);
  view.setFloat64(8, n, true);
  view.setFloat64(16, stored, true);
  shape.forEach((d, i) => view.setUint32(FIXED_HEADER_BYTES + 4 * i, d, true));
}

function writeDense(tensor: HostTensor): Uint8Array {
  const { data } = tensor;
  const offset = headerBytes(tensor.shape.length);
  const out = new Uint8Array(offset + data.byteLength);
  writeHeader(out, 'dense', tensor.dtype, tensor.shape, data.length, data.length);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), offset);
  return out;
}

function writeMasked(
  dtype: DType,
  shape: readonly number[],
  words: Int32Array | Uint8Array,
  nonZero: number,
  withValues: boolean,
): Uint8Array {
  const n = words.length;
  const offset = headerBytes(shape.length);
  const maskBytes = bitmaskBytes(n);
  const valueBytes = withValues ? nonZero * ELEMENT_BYTES[dtype] : 0;
  const out = new Uint8Array(offset + maskBytes + valueBytes);
  writeHeader(out, withValues ? 'sparse' : 'bits', dtype, shape, n, nonZero);
  const mask = new Uint32Array(out.buffer, offset, maskBytes / 4);
  if (!withValues) {
    for (let i = 0; i < n; i++) if (words[i] !== 0) mask[i >>> 5]! |= 1 << (i & 31);
    return out;
  }
  const values = words instanceof Int32Array
    ? new Int32Array(out.buffer, offset + maskBytes, nonZero)
    : new Uint8Array(out.buffer, offset + maskBytes, nonZero);
  let k = 0;
  for (let i = 0; i < n; i++) {
    const v = words[i]!;
    if (v !== 0) {
      mask[i >>> 5]! |= 1 << (i & 31);
      values[k++] = v;
    }
  }
  return out;
}

/** Writes values[k] at the index of the k-th set bit; returns the number of set bits. */
function scatter(mask: Uint32Array, values: Int32Array | Uint8Array, out: Int32Array | Uint8Array): number {
  let k = 0;
  for (let w = 0; w < mask.length; w++) {
    let m = mask[w]!;
    if (m === 0) continue;
    const base = w << 5;
    while (m !== 0) {
      const low = m & -m;
      out[base + 31 - Math.clz32(low)] = values[k++]!;
      m ^= low;
    }
  }
  return k;
}

/** `scatter` for 0/1 masks, which store no values: kept apart so the hot loop has no branch per bit. */
function scatterOnes(mask: Uint32Array, out: Int32Array | Uint8Array): number {
  let k = 0;
  for (let w = 0; w < mask.length; w++) {
    let m = mask[w]!;
    if (m === 0) continue;
    const base = w << 5;
    while (m !== 0) {
      const low = m & -m;
      out[base + 31 - Math.clz32(low)] = 1;
      m ^= low;
      k++;
    }
  }
  return k;
}

function expectLength(bytes: Uint8Array, length: number): void {
  if (bytes.length !== length) throw new BlobFormatError(`${bytes.length} bytes, the header implies ${length}`);
}
