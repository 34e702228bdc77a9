/**
 * A dataset spec as a pipeline wrote it, made ready for a key and for a run: paths resolved against the
 * pipeline file, defaults filled in, the content fingerprinted, and what kinds' checks need to know of
 * it (the training set's size) read cheaply.
 */
import { isAbsolute, resolve } from 'node:path';
import { datasetFacts, type DatasetFacts } from './facts.js';
import { fileDigest, resolvedFingerprint } from './fingerprint.js';
import { datasetSpecOf, resolveDatasetSpec, type DatasetFields, type DatasetSpec, type ResolvedDatasetSpec } from './spec.js';

export interface PreparedDataset {
  /** What the node's `run` loads: absolute paths, every default written out. */
  readonly spec: ResolvedDatasetSpec;
  /** What enters the key: the same without where the files are (the fingerprint covers their bytes). */
  readonly keyed: Omit<ResolvedDatasetSpec, 'path' | 'files'>;
  readonly fingerprint: string;
  /** What analysis gives the kinds' checks: the training set's size. */
  readonly facts: DatasetFacts;
}

export function prepareDataset(written: DatasetSpec, baseDir: string): PreparedDataset {
  const path = written.path;
  const located = path !== undefined && !isAbsolute(path) ? { ...written, path: resolve(baseDir, path) } : written;
  const spec = resolveDatasetSpec(located);
  const { path: _path, files: _files, ...keyed } = spec;
  const fingerprint = resolvedFingerprint(spec);
  return { spec, keyed, fingerprint, facts: datasetFacts(spec) };
}

/** What analysis needs from the data layer to key nodes that read data: pass it as analyze()'s options. */
export const dataHooks = {
  dataset: (spec: unknown, baseDir: string): PreparedDataset => prepareDataset(datasetSpecOf(spec as DatasetFields), baseDir),
  fileDigest,
};
