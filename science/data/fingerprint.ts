/**
 * A dataset's fingerprint: sha256 over its preprocessing (the resolved spec without paths) and the
 * sha256 of each file's bytes, by role. The same bytes found at another path give the same fingerprint,
 * so results stay valid when a project moves. File digests are memoised per process by
 * path + size + mtime, since planning asks for fingerprints often and hashing MNIST takes ~0.2 s.
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { datasetFiles } from './files.js';
import { DataFileError } from './idx.js';
import { resolveDatasetSpec, type DatasetSpec, type ResolvedDatasetSpec } from './spec.js';
import { canonicalJson } from '../../base/canonical-json.js';

/** Bump when loading or preprocessing changes meaning, so old fingerprints no longer match. */
export const DATA_FORMAT_VERSION = 1;

const fileDigests = new Map<string, string>();

/** sha256 (hex) of a file's bytes as stored (gzipped files are hashed compressed). */
export function fileDigest(file: string): string {
  let stat;
  try {
    stat = statSync(file);
  } catch {
    throw new DataFileError(file, 'file not found');
  }
  const memoKey = JSON.stringify([file, stat.size, stat.mtimeMs, stat.ino]);
  const known = fileDigests.get(memoKey);
  if (known) return known;
  const digest = createHash('sha256').update(readFileSync(file)).digest('hex');
  fileDigests.set(memoKey, digest);
  return digest;
}

/** The dataset's fingerprint: lowercase hex sha256. */
export function datasetFingerprint(spec: DatasetSpec): string {
  return resolvedFingerprint(resolveDatasetSpec(spec));
}

/** The fingerprint of a spec already resolved (as analysis and the loader hold it). */
export function resolvedFingerprint(resolved: ResolvedDatasetSpec): string {
  const files = datasetFiles(resolved);
  const { path: _path, files: _files, ...rest } = resolved;
  const content: Record<string, string | readonly string[]> = {};
  switch (files.kind) {
    case 'idx':
      content.trainImages = fileDigest(files.trainImages);
      content.trainLabels = fileDigest(files.trainLabels);
      content.testImages = fileDigest(files.testImages);
      content.testLabels = fileDigest(files.testLabels);
      break;
    case 'cifar10':
      content.train = files.train.map(fileDigest);
      content.test = files.test.map(fileDigest);
      break;
    case 'none':
      break;
  }
  // MNIST and an `idx` spec pointing at the same bytes describe the same data.
  const family = rest.name === 'mnist' || rest.name === 'fashion-mnist' ? 'idx' : rest.name;
  const canonical = canonicalJson({ version: DATA_FORMAT_VERSION, spec: { ...rest, name: family }, content });
  return createHash('sha256').update(canonical).digest('hex');
}
