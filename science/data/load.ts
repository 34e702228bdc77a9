/**
 * Loads a dataset into host memory as typed arrays. Never downloads anything and never imports a tensor
 * library: the pipeline analysis imports this folder on machines without any backend.
 */
import { readCifarBatches } from './cifar.js';
import { resolvedFingerprint } from './fingerprint.js';
import { datasetFiles } from './files.js';
import { DataFileError, readIdxPair } from './idx.js';
import { Rng } from './random.js';
import { canonicalJson } from '../../base/canonical-json.js';
import { resolveDatasetSpec, type DatasetSpec, type ResolvedDatasetSpec } from './spec.js';

/** One split: `x` holds n samples row-major ([n, ...sampleShape]), `y` their class indices. */
export interface Split {
  readonly x: Float32Array;
  readonly y: Int32Array;
  readonly n: number;
}

export interface Dataset {
  readonly spec: ResolvedDatasetSpec;
  /** Shape of one sample, channels last: [28, 28, 1] for MNIST, [32, 32, 3] for CIFAR-10. */
  readonly sampleShape: readonly number[];
  readonly numClasses: number;
  readonly train: Split;
  readonly test: Split;
  /** See `datasetFingerprint`. */
  readonly fingerprint: string;
}

interface RawSplit {
  readonly values: Uint8Array | Float32Array;
  readonly labels: Uint8Array | Int32Array;
  readonly n: number;
}

function take(split: RawSplit, size: number | undefined, sampleSize: number): RawSplit {
  if (size === undefined || size >= split.n) return split;
  if (!(size > 0) || !Number.isInteger(size)) throw new RangeError(`split size must be a positive integer, got ${size}`);
  return { values: split.values.subarray(0, size * sampleSize), labels: split.labels.subarray(0, size), n: size };
}

function synthetic(spec: ResolvedDatasetSpec & { name: 'synthetic' }): { train: RawSplit; test: RawSplit; sampleShape: number[]; numClasses: number } {
  const sampleShape = [...spec.sampleShape];
  const { numClasses, noise } = spec;
  const d = sampleShape.reduce((a, b) => a * b, 1);
  const protoRng = new Rng(spec.seed, 'synthetic-prototypes');
  const prototypes = Float32Array.from({ length: numClasses * d }, () => protoRng.normal());
  const make = (n: number, stream: string): RawSplit => {
    const rng = new Rng(spec.seed, stream);
    const values = new Float32Array(n * d);
    const labels = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const c = rng.int(numClasses);
      labels[i] = c;
      for (let j = 0; j < d; j++) values[i * d + j] = prototypes[c * d + j]! + noise * rng.normal();
    }
    return { values, labels, n };
  };
  return { train: make(spec.train, 'synthetic-train'), test: make(spec.test, 'synthetic-test'), sampleShape, numClasses };
}

function normalise(raw: RawSplit, mode: ResolvedDatasetSpec['normalize'], stats: { mean: Float64Array; std: Float64Array } | undefined): Float32Array {
  const out = new Float32Array(raw.values.length);
  const v = raw.values;
  if (mode === 'none') {
    out.set(v);
  } else if (mode === 'unit') {
    const scale = v instanceof Uint8Array ? 1 / 255 : 1;
    for (let i = 0; i < v.length; i++) out[i] = v[i]! * scale;
  } else {
    const { mean, std } = stats!;
    const c = mean.length;
    for (let i = 0; i < v.length; i++) out[i] = (v[i]! - mean[i % c]!) / std[i % c]!;
  }
  return out;
}

/** Per-channel (last axis) mean and standard deviation of the training values. */
function channelStats(raw: RawSplit, channels: number): { mean: Float64Array; std: Float64Array } {
  const sum = new Float64Array(channels);
  const sq = new Float64Array(channels);
  const v = raw.values;
  for (let i = 0; i < v.length; i++) {
    const x = v[i]!;
    sum[i % channels]! += x;
    sq[i % channels]! += x * x;
  }
  const count = v.length / channels;
  const mean = sum.map((s) => s / count);
  const std = sq.map((s, c) => Math.sqrt(Math.max(s / count - mean[c]! ** 2, 1e-12)));
  return { mean, std };
}

function labelsToInt32(labels: Uint8Array | Int32Array, numClasses: number, source: string): Int32Array {
  const y = labels instanceof Int32Array ? labels : Int32Array.from(labels);
  for (let i = 0; i < y.length; i++) {
    if (y[i]! >= numClasses) throw new DataFileError(source, `label ${y[i]} at index ${i} is not below the ${numClasses} classes`);
  }
  return y;
}

function loadUncached(spec: ResolvedDatasetSpec, fingerprint: string): Dataset {
  let train: RawSplit;
  let test: RawSplit;
  let sampleShape: number[];
  let numClasses: number;
  let labelSource = spec.name;
  const files = datasetFiles(spec);
  if (spec.name === 'synthetic') {
    ({ train, test, sampleShape, numClasses } = synthetic(spec));
  } else if (files.kind === 'idx') {
    const tr = readIdxPair(files.trainImages, files.trainLabels);
    const te = readIdxPair(files.testImages, files.testLabels);
    if (tr.sampleShape.join('x') !== te.sampleShape.join('x')) {
      throw new DataFileError(files.testImages, `image shape [${te.sampleShape.join(', ')}] differs from the training images' [${tr.sampleShape.join(', ')}]`);
    }
    train = { values: tr.images, labels: tr.labels, n: tr.n };
    test = { values: te.images, labels: te.labels, n: te.n };
    sampleShape = tr.sampleShape.length === 2 ? [...tr.sampleShape, 1] : [...tr.sampleShape];
    numClasses = (spec.name === 'idx' ? spec.numClasses : undefined) ?? (spec.name === 'idx' ? tr.labels.reduce((a: number, b: number) => Math.max(a, b), 0) + 1 : 10);
    labelSource = files.trainLabels as typeof labelSource;
  } else if (files.kind === 'cifar10') {
    const tr = readCifarBatches(files.train);
    const te = readCifarBatches(files.test);
    train = { values: tr.images, labels: tr.labels, n: tr.n };
    test = { values: te.images, labels: te.labels, n: te.n };
    sampleShape = [32, 32, 3];
    numClasses = 10;
  } else {
    throw new Error(`no loader for dataset ${spec.name}`);
  }
  const sampleSize = sampleShape.reduce((a, b) => a * b, 1);
  train = take(train, spec.trainSize, sampleSize);
  test = take(test, spec.testSize, sampleSize);
  const stats = spec.normalize === 'standardize' ? channelStats(train, sampleShape[sampleShape.length - 1]!) : undefined;
  return {
    spec,
    sampleShape,
    numClasses,
    train: { x: normalise(train, spec.normalize, stats), y: labelsToInt32(train.labels, numClasses, labelSource), n: train.n },
    test: { x: normalise(test, spec.normalize, stats), y: labelsToInt32(test.labels, numClasses, labelSource), n: test.n },
    fingerprint,
  };
}

// Several nodes in one worker usually train on the same data; keep the last few loaded sets.
const MEMO_SIZE = 2;
const memo = new Map<string, Dataset>();

/**
 * Loads (or returns the memoised copy of) a dataset. The arrays are shared between callers: treat them
 * as read-only.
 */
export function loadDataset(spec: DatasetSpec, opts: { readonly fingerprint?: string } = {}): Dataset {
  const resolved = resolveDatasetSpec(spec);
  // The fingerprint (file digests, memoised by size and mtime) is part of the key, so files rewritten
  // in place are read again rather than served stale. Analysis hands it over when it already has it.
  const fingerprint = opts.fingerprint ?? resolvedFingerprint(resolved);
  const key = JSON.stringify([canonicalJson(resolved), fingerprint]);
  const hit = memo.get(key);
  if (hit) {
    memo.delete(key);
    memo.set(key, hit);
    return hit;
  }
  const ds = loadUncached(resolved, fingerprint);
  memo.set(key, ds);
  while (memo.size > MEMO_SIZE) memo.delete(memo.keys().next().value!);
  return ds;
}
