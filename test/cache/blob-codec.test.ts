import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  BlobFormatError,
  blobDigest,
  decodeTensor,
  encodeTensor,
  readBlobHeader,
} from '../../cache/blob-codec.js';
import type { HostTensor } from '../../base/values.js';
import { floatTensor, maskTensor, rng, sameBits } from './fixtures/data.js';

function roundTrip(tensor: HostTensor): HostTensor {
  const decoded = decodeTensor(encodeTensor(tensor));
  assert.equal(decoded.dtype, tensor.dtype);
  assert.deepEqual(decoded.shape, tensor.shape);
  assert.equal(decoded.data.constructor, tensor.data.constructor);
  assert.ok(sameBits(decoded.data, tensor.data), 'decoded data differs bit-wise');
  return decoded;
}

/** Floats that a careless codec changes: signed zeros, subnormals, extremes, infinities, NaN. */
function awkwardFloats(): Float32Array {
  const bits = new Uint32Array([
    0x80000000, // -0
    0x00000001, // smallest positive subnormal
    0x807fffff, // largest negative subnormal
    0x00400000, // a subnormal in the middle
    0x7f7fffff, // largest finite
    0xff7fffff, // most negative finite
    0x7f800000, // +Infinity
    0xff800000, // -Infinity
    0x7fc00000, // the canonical NaN
    0x3f800000, // 1
  ]);
  return new Float32Array(bits.buffer);
}

describe('blob codec', () => {
  it('round-trips dense float32 bit-exactly, with -0, subnormals, infinities and NaN', () => {
    const data = awkwardFloats();
    const decoded = roundTrip({ dtype: 'float32', shape: [2, 5], data });
    assert.equal(readBlobHeader(encodeTensor({ dtype: 'float32', shape: [2, 5], data })).encoding, 'dense');
    assert.ok(Object.is(decoded.data[0], -0));
    assert.equal(decoded.data[1], 1.401298464324817e-45);
    assert.ok(Number.isNaN(decoded.data[8]));
  });

  it('round-trips int32 extremes and uint8 values', () => {
    roundTrip({ dtype: 'int32', shape: [5], data: new Int32Array([-2147483648, 2147483647, -1, 0, 42]) });
    roundTrip({ dtype: 'uint8', shape: [4], data: new Uint8Array([0, 255, 7, 1]) });
  });

  it('round-trips scalars, empty tensors and zero-sized dimensions', () => {
    roundTrip({ dtype: 'float32', shape: [], data: new Float32Array([3.5]) });
    roundTrip({ dtype: 'float32', shape: [0], data: new Float32Array(0) });
    roundTrip({ dtype: 'int32', shape: [3, 0, 2], data: new Int32Array(0) });
    roundTrip({ dtype: 'float32', shape: [], data: new Float32Array([0]) });
  });

  it('stores a 90%-sparse float32 tensor as bitmask + values in at most 15% of its dense size', () => {
    const tensor = floatTensor([300, 1000], 0.9, 1);
    const bytes = encodeTensor(tensor);
    const header = readBlobHeader(bytes);
    assert.equal(header.encoding, 'sparse');
    const nonZero = tensor.data.filter((v) => v !== 0).length;
    assert.equal(header.stored, nonZero);
    // header + n/8 bitmask bytes + 4 bytes per non-zero value
    assert.equal(bytes.length, header.payloadOffset + Math.ceil(300_000 / 64) * 8 + 4 * nonZero);
    assert.ok(bytes.length <= 0.15 * tensor.data.byteLength, `${bytes.length} > 15% of ${tensor.data.byteLength}`);
    roundTrip(tensor);
  });

  it('keeps -0 and subnormals inside sparse tensors (they are non-zero bit patterns)', () => {
    const data = new Float32Array(1000);
    const awkward = awkwardFloats();
    for (let i = 0; i < awkward.length; i++) data[i * 97] = awkward[i]!;
    const tensor: HostTensor = { dtype: 'float32', shape: [1000], data };
    assert.equal(readBlobHeader(encodeTensor(tensor)).encoding, 'sparse');
    const decoded = roundTrip(tensor);
    assert.ok(Object.is(decoded.data[0], -0));
    assert.ok(Object.is(decoded.data[1], 0));
  });

  it('round-trips sparse tensors of every length and density bit-exactly', () => {
    const random = rng(3);
    for (const n of [1, 7, 31, 32, 33, 63, 64, 65, 1000, 4099]) {
      for (const sparsity of [0.51, 0.9, 0.99, 1]) {
        const data = new Int32Array(n);
        for (let i = 0; i < n; i++) data[i] = random() < sparsity ? 0 : (random() * 2 ** 32) | 0 || 1;
        const tensor: HostTensor = { dtype: 'int32', shape: [n], data };
        const zeros = data.filter((v) => v === 0).length;
        // Below 64 elements the 8-byte bitmask can outweigh dense data; the smaller form wins.
        if (zeros / n > 0.5 && n >= 64) assert.equal(readBlobHeader(encodeTensor(tensor)).encoding, 'sparse', `n=${n} s=${sparsity}`);
        roundTrip(tensor);
      }
    }
  });

  it('stores a 0/1 uint8 mask as bits (1/8 of its size) and a sparse uint8 tensor as bitmask + values', () => {
    const mask = maskTensor([100, 80], 0.3, 5);
    const bytes = encodeTensor(mask);
    assert.equal(readBlobHeader(bytes).encoding, 'bits');
    assert.equal(bytes.length, readBlobHeader(bytes).payloadOffset + 1000);
    roundTrip(mask);
    const allOnes: HostTensor = { dtype: 'uint8', shape: [64], data: new Uint8Array(64).fill(1) };
    assert.equal(readBlobHeader(encodeTensor(allOnes)).encoding, 'bits');
    roundTrip(allOnes);
    const counts = new Uint8Array(1000);
    counts[3] = 200;
    counts[999] = 9;
    const sparse: HostTensor = { dtype: 'uint8', shape: [1000], data: counts };
    assert.equal(readBlobHeader(encodeTensor(sparse)).encoding, 'sparse');
    roundTrip(sparse);
  });

  it('respects sparseAbove', () => {
    const tensor = floatTensor([1000], 0.6, 2);
    assert.equal(readBlobHeader(encodeTensor(tensor)).encoding, 'sparse');
    assert.equal(readBlobHeader(encodeTensor(tensor, { sparseAbove: 0.7 })).encoding, 'dense');
  });

  it('encodes deterministically, with sha256 digests', () => {
    const a = encodeTensor(floatTensor([50, 50], 0.2, 9));
    const b = encodeTensor(floatTensor([50, 50], 0.2, 9));
    assert.deepEqual(a, b);
    assert.match(blobDigest(a), /^[0-9a-f]{64}$/);
    assert.equal(blobDigest(a), createHash('sha256').update(a).digest('hex'));
  });

  it('decodes from bytes at any alignment', () => {
    for (const tensor of [floatTensor([101], 0, 4), floatTensor([101], 0.95, 4), maskTensor([101], 0.5, 4)]) {
      const bytes = encodeTensor(tensor);
      const shifted = new Uint8Array(bytes.length + 3);
      shifted.set(bytes, 3);
      const decoded = decodeTensor(shifted.subarray(3));
      assert.ok(sameBits(decoded.data, tensor.data));
    }
  });

  it('returns dense data as a view over the given bytes unless asked to copy', () => {
    const tensor = floatTensor([64], 0, 1);
    const bytes = encodeTensor(tensor);
    assert.equal(decodeTensor(bytes).data.buffer, bytes.buffer);
    const copied = decodeTensor(bytes, { copy: true });
    assert.notEqual(copied.data.buffer, bytes.buffer);
    assert.ok(sameBits(copied.data, tensor.data));
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    assert.ok(sameBits(decodeTensor(shifted.subarray(1), { copy: true }).data, tensor.data));
  });

  it('rejects malformed blobs and malformed tensors with clear errors', () => {
    const bytes = encodeTensor(floatTensor([10], 0, 1));
    assert.throws(() => decodeTensor(bytes.subarray(0, 10)), BlobFormatError);
    assert.throws(() => decodeTensor(bytes.subarray(0, bytes.length - 4)), /bytes, the header implies/);
    const wrongMagic = bytes.slice();
    wrongMagic[0] = 0;
    assert.throws(() => decodeTensor(wrongMagic), /bad magic/);
    assert.throws(
      () => encodeTensor({ dtype: 'float32', shape: [3], data: new Float32Array(4) }),
      /shape \[3\] has 3 elements but data has 4/,
    );
    assert.throws(
      () => encodeTensor({ dtype: 'int32', shape: [2], data: new Float32Array(2) } as unknown as HostTensor),
      /data is Float32Array, expected Int32Array/,
    );
  });
});
