/** The cache's public surface, for the executor and the CLI. */
export * from './store.js';
export { openStore, LmdbStore, type LmdbStoreOptions } from './lmdb-store.js';
export { MemoryStore } from './memory-store.js';
export type { StoreOptions } from './store-core.js';
export { StoreBusyError } from './store-lock.js';
export { collectGarbage, planSweep, type GcOptions, type GcReport } from './gc.js';
export { exportBundle, importBundle, readBundleHeader, BundleError, BUNDLE_FORMAT_VERSION, type BundleHeader, type ExportReport, type ImportReport } from './bundle.js';
export { encodeTensor, decodeTensor, readBlobHeader, blobDigest, BlobFormatError, type BlobEncoding, type BlobHeader, type DecodeOptions, type EncodeOptions } from './blob-codec.js';
export { inputKeys, reachableFrom } from './reachability.js';
