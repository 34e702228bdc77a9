/** Datasets as typed arrays, their fingerprints and deterministic data order. No tensor library here. */
export { DataFileError, parseIdx, readIdx, readIdxPair, type IdxArray, type IdxPair } from './idx.js';
export { readCifarBatches } from './cifar.js';
export { datasetFiles, mnistDataDir, type DatasetFiles } from './files.js';
export { datasetFingerprint, fileDigest, DATA_FORMAT_VERSION } from './fingerprint.js';
export { loadDataset, type Dataset, type Split } from './load.js';
export { permutation, Rng, streamId } from './random.js';
export * from './spec.js';
export { dataHooks, prepareDataset, type PreparedDataset } from './prepare.js';
export { datasetFacts, type DatasetFacts } from './facts.js';
