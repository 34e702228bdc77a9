/**
 * CIFAR-10 binary batches (https://www.cs.toronto.edu/~kriz/cifar.html): records of one label byte and
 * 3072 pixel bytes, channel-major (1024 red, 1024 green, 1024 blue) for a 32x32 image.
 */
import { DataFileError, isGzipped, readFileStart, readMaybeGzipped } from './idx.js';

const RECORD = 1 + 3072;
export const CIFAR10_TRAIN_FILES = ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin'] as const;
export const CIFAR10_TEST_FILES = ['test_batch.bin'] as const;

/** Images as HWC bytes [n, 32, 32, 3] (the layout tfjs convolutions take), labels 0..9. */
export interface CifarSplit {
  readonly images: Uint8Array;
  readonly labels: Uint8Array;
  readonly n: number;
}

/** The records in a batch file of `length` bytes (uncompressed); a partial record is an error naming the file. */
function recordsIn(file: string, length: number): number {
  if (length === 0 || length % RECORD !== 0) {
    throw new DataFileError(file, `truncated: ${length} bytes is not a whole number of ${RECORD}-byte CIFAR-10 records`);
  }
  return length / RECORD;
}

/**
 * The records in CIFAR-10 batch files, from their sizes alone (what analysis reads to know the training
 * set's size); undefined when one is gzipped, since only decompressing it all would say.
 */
export function countCifarRecords(files: readonly string[]): number | undefined {
  let n = 0;
  for (const file of files) {
    const { start, size } = readFileStart(file, 2);
    if (isGzipped(start)) return undefined;
    n += recordsIn(file, size);
  }
  return n;
}

export function readCifarBatches(files: readonly string[]): CifarSplit {
  const parts = files.map((file) => {
    const bytes = readMaybeGzipped(file);
    recordsIn(file, bytes.length);
    return { file, bytes };
  });
  const n = parts.reduce((s, p) => s + p.bytes.length / RECORD, 0);
  const images = new Uint8Array(n * 3072);
  const labels = new Uint8Array(n);
  let i = 0;
  for (const { file, bytes } of parts) {
    for (let r = 0; r < bytes.length; r += RECORD, i++) {
      const label = bytes[r]!;
      if (label > 9) throw new DataFileError(file, `record ${(r / RECORD) | 0} has label ${label}, expected 0..9 (not a CIFAR-10 binary batch?)`);
      labels[i] = label;
      const out = i * 3072;
      for (let p = 0; p < 1024; p++) {
        images[out + 3 * p] = bytes[r + 1 + p]!;
        images[out + 3 * p + 1] = bytes[r + 1 + 1024 + p]!;
        images[out + 3 * p + 2] = bytes[r + 1 + 2048 + p]!;
      }
    }
  }
  return { images, labels, n };
}
