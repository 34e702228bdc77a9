/**
 * The IDX format of MNIST-like datasets (http://yann.lecun.com/exdb/mnist/): two zero bytes, a type
 * byte, a dimension count, then big-endian uint32 sizes and the data. Files may be gzipped.
 */
import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { constants as zlibConstants, gunzipSync } from 'node:zlib';

/** A parsed IDX file. Element types other than ubyte are converted to float64. */
export interface IdxArray {
  readonly dims: readonly number[];
  readonly data: Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;
}

/** A malformed or missing data file; the message names the file and what was wrong. */
export class DataFileError extends Error {
  constructor(
    readonly file: string,
    readonly problem: string,
  ) {
    super(`${file}: ${problem}`);
    this.name = 'DataFileError';
  }
}

const ELEMENT_TYPES: Readonly<Record<number, { name: string; bytes: number }>> = {
  0x08: { name: 'ubyte', bytes: 1 },
  0x09: { name: 'byte', bytes: 1 },
  0x0b: { name: 'short', bytes: 2 },
  0x0c: { name: 'int', bytes: 4 },
  0x0d: { name: 'float', bytes: 4 },
  0x0e: { name: 'double', bytes: 8 },
};

/** A file that cannot be read, said as a data file problem. */
function unreadable(file: string, err: unknown): DataFileError {
  const code = (err as NodeJS.ErrnoException).code;
  return new DataFileError(file, code === 'ENOENT' ? 'file not found' : `cannot read (${String(err)})`);
}

/** Whether bytes start with the gzip magic bytes. */
export const isGzipped = (bytes: Uint8Array): boolean => bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;

/** The first `max` bytes of a file and its size, without reading the rest. */
export function readFileStart(file: string, max: number): { start: Uint8Array; size: number } {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    throw unreadable(file, err);
  }
  try {
    const size = fstatSync(fd).size;
    const buffer = new Uint8Array(Math.min(size, max));
    return { start: buffer.subarray(0, readSync(fd, buffer, 0, buffer.length, 0)), size };
  } catch (err) {
    throw unreadable(file, err);
  } finally {
    closeSync(fd);
  }
}

/** Reads a file, gunzipping it when it starts with the gzip magic bytes. */
export function readMaybeGzipped(file: string): Uint8Array {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw unreadable(file, err);
  }
  if (isGzipped(bytes)) {
    try {
      bytes = gunzipSync(bytes);
    } catch (err) {
      throw new DataFileError(file, `corrupt gzip data (${(err as Error).message})`);
    }
  }
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
}

/** An IDX header: the element type, the dimensions and where the data starts. */
interface IdxHeader {
  readonly type: { readonly name: string; readonly bytes: number };
  readonly dims: readonly number[];
  readonly headerBytes: number;
}

/** The header at the start of IDX bytes (all of a file, or only its first bytes). */
function idxHeader(bytes: Uint8Array, file: string, length = bytes.length): IdxHeader {
  if (bytes.length < 4) throw new DataFileError(file, `truncated: ${length} bytes, no IDX header`);
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    const magic = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join('');
    throw new DataFileError(file, `bad magic number 0x${magic}: not an IDX file (expected 0x0000TTDD)`);
  }
  const type = ELEMENT_TYPES[bytes[2]!];
  if (!type) throw new DataFileError(file, `bad magic number: unknown IDX element type 0x${bytes[2]!.toString(16)}`);
  const rank = bytes[3]!;
  if (rank === 0) throw new DataFileError(file, 'bad magic number: IDX header declares 0 dimensions');
  const headerBytes = 4 + 4 * rank;
  if (bytes.length < headerBytes) throw new DataFileError(file, `truncated: header needs ${headerBytes} bytes, file has ${length}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) dims.push(view.getUint32(4 + 4 * i, false));
  return { type, dims, headerBytes };
}

/**
 * The dimensions an IDX file (gzipped or not) declares, from its first bytes alone: what analysis
 * reads to know a training set's size without loading it. The data itself is checked when it is loaded.
 */
export function readIdxDims(file: string): readonly number[] {
  // The largest header (255 dimensions) is 1,024 bytes; 64 KiB of a gzip stream holds far more than that.
  let { start: head, size: length } = readFileStart(file, 64 * 1024);
  if (isGzipped(head)) {
    try {
      // The start of the stream only: a sync flush at the end decompresses what these bytes hold.
      head = gunzipSync(head, { finishFlush: zlibConstants.Z_SYNC_FLUSH });
    } catch (err) {
      throw new DataFileError(file, `corrupt gzip data (${(err as Error).message})`);
    }
    length = head.length;
  }
  return idxHeader(head, file, length).dims;
}

/** Parses IDX bytes; `file` only names the source in error messages. */
export function parseIdx(bytes: Uint8Array, file: string): IdxArray {
  const { type, dims, headerBytes } = idxHeader(bytes, file);
  const count = dims.reduce((a, b) => a * b, 1);
  const expected = headerBytes + count * type.bytes;
  if (bytes.length < expected) {
    throw new DataFileError(file, `truncated: dimensions [${dims.join(', ')}] need ${expected} bytes, file has ${bytes.length}`);
  }
  if (bytes.length > expected) {
    throw new DataFileError(file, `${bytes.length - expected} unexpected bytes after the data of dimensions [${dims.join(', ')}]`);
  }
  const body = bytes.subarray(headerBytes, expected);
  switch (bytes[2]) {
    case 0x08:
      return { dims, data: body };
    case 0x09:
      return { dims, data: new Int8Array(body.buffer, body.byteOffset, count) };
    default: {
      // Multi-byte IDX elements are big-endian; typed arrays are host (little) endian, so decode by hand.
      const out = bytes[2] === 0x0b ? new Int16Array(count) : bytes[2] === 0x0c ? new Int32Array(count) : bytes[2] === 0x0d ? new Float32Array(count) : new Float64Array(count);
      const bv = new DataView(body.buffer, body.byteOffset, body.byteLength);
      for (let i = 0; i < count; i++) {
        out[i] =
          bytes[2] === 0x0b ? bv.getInt16(2 * i) : bytes[2] === 0x0c ? bv.getInt32(4 * i) : bytes[2] === 0x0d ? bv.getFloat32(4 * i) : bv.getFloat64(8 * i);
      }
      return { dims, data: out };
    }
  }
}

/** Reads and parses an IDX file (gzipped or not). */
export function readIdx(file: string): IdxArray {
  return parseIdx(readMaybeGzipped(file), file);
}

/** An image file and its label file, checked against each other. */
export interface IdxPair {
  /** Pixel bytes, row-major [n, ...sampleShape]. */
  readonly images: Uint8Array;
  readonly labels: Uint8Array;
  readonly n: number;
  /** Shape of one image, e.g. [28, 28]. */
  readonly sampleShape: readonly number[];
}

export function readIdxPair(imagesFile: string, labelsFile: string): IdxPair {
  const images = readIdx(imagesFile);
  const labels = readIdx(labelsFile);
  if (!(images.data instanceof Uint8Array)) throw new DataFileError(imagesFile, 'expected unsigned byte (0x08) pixels');
  if (!(labels.data instanceof Uint8Array)) throw new DataFileError(labelsFile, 'expected unsigned byte (0x08) labels');
  if (images.dims.length < 2) throw new DataFileError(imagesFile, `expected at least 2 dimensions, found [${images.dims.join(', ')}]`);
  if (labels.dims.length !== 1) throw new DataFileError(labelsFile, `expected 1 dimension, found [${labels.dims.join(', ')}]`);
  const n = images.dims[0]!;
  if (labels.dims[0] !== n) {
    throw new DataFileError(labelsFile, `count mismatch: ${labels.dims[0]} labels for ${n} images in ${imagesFile}`);
  }
  return { images: images.data, labels: labels.data, n, sampleShape: images.dims.slice(1) };
}
