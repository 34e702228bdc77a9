/**
 * What analysis knows about a dataset without loading it: the size of the training split a node reads,
 * from the spec (synthetic `train`) or the files' headers (IDX: the first bytes of the training images;
 * CIFAR-10: the batch files' sizes), capped by `trainSize` as the loader caps it.
 */
import { countCifarRecords } from './cifar.js';
import { datasetFiles } from './files.js';
import { readIdxDims } from './idx.js';
import type { ResolvedDatasetSpec } from './spec.js';

export interface DatasetFacts {
  /** Samples in the training split; absent when only loading the data would say (gzipped CIFAR-10). */
  readonly trainSize?: number;
}

export function datasetFacts(spec: ResolvedDatasetSpec): DatasetFacts {
  const n = samplesInTrainingFiles(spec);
  if (n === undefined) return {};
  return { trainSize: spec.trainSize === undefined ? n : Math.min(n, spec.trainSize) };
}

function samplesInTrainingFiles(spec: ResolvedDatasetSpec): number | undefined {
  if (spec.name === 'synthetic') return spec.train;
  const files = datasetFiles(spec);
  switch (files.kind) {
    case 'idx':
      return readIdxDims(files.trainImages)[0];
    case 'cifar10':
      return countCifarRecords(files.train);
    case 'none':
      return undefined;
  }
}
