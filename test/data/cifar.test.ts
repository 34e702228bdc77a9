import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { DataFileError, datasetFingerprint, loadDataset, readCifarBatches } from '../../science/data/index.js';

const RECORD = 3073;
const TRAIN = ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin'];
const root = mkdtempSync(join(tmpdir(), 'sparsegraph-cifar-'));
after(() => rmSync(root, { recursive: true, force: true }));

/**
 * A CIFAR-10 record as the format lays it out: the label, then 1024 red, 1024 green and 1024 blue bytes,
 * each plane row-major. Pixel (row, col) of channel ch of record `seed` is (seed + 7 ch + 3 row + col) mod 256.
 */
function record(label: number, seed: number): Uint8Array {
  const r = new Uint8Array(RECORD);
  r[0] = label;
  for (let ch = 0; ch < 3; ch++) for (let row = 0; row < 32; row++) for (let col = 0; col < 32; col++) r[1 + ch * 1024 + row * 32 + col] = (seed + 7 * ch + 3 * row + col) % 256;
  return r;
}
const pixel = (seed: number, row: number, col: number, ch: number): number => (seed + 7 * ch + 3 * row + col) % 256;

/** A directory of batches: two records per training batch (labels 2b, 2b+1), one test record (label 9). */
function cifarDir(name: string, change: (file: string, bytes: Uint8Array) => Uint8Array | undefined = (_, b) => b): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  const batches: [string, Uint8Array][] = [
    ...TRAIN.map((file, b): [string, Uint8Array] => [file, Buffer.concat([record(2 * b, 10 * b), record(2 * b + 1, 10 * b + 1)])]),
    ['test_batch.bin', record(9, 200)],
  ];
  for (const [file, bytes] of batches) {
    const written = change(file, bytes);
    if (written) writeFileSync(join(dir, file), written);
  }
  return dir;
}

test('a valid CIFAR-10 directory loads: shapes, labels in batch order, pixels channels-last', () => {
  const dir = cifarDir('valid');
  const ds = loadDataset({ name: 'cifar10', path: dir, normalize: 'none' });
  assert.deepEqual(ds.sampleShape, [32, 32, 3]);
  assert.equal(ds.numClasses, 10);
  assert.equal(ds.train.n, 10);
  assert.equal(ds.train.x.length, 10 * 3072);
  assert.deepEqual(Array.from(ds.train.y), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.equal(ds.test.n, 1);
  assert.deepEqual(Array.from(ds.test.y), [9]);
  // Sample i of batch b has seed 10 b + i; HWC index (row * 32 + col) * 3 + ch.
  for (const [sample, seed] of [[0, 0], [3, 11], [9, 41]] as const) {
    for (const [row, col, ch] of [[0, 0, 0], [0, 1, 2], [31, 31, 1], [5, 17, 2]] as const) {
      assert.equal(ds.train.x[sample * 3072 + (row * 32 + col) * 3 + ch], pixel(seed, row, col, ch), `sample ${sample} (${row}, ${col}, ${ch})`);
    }
  }
  assert.equal(ds.test.x[(2 * 32 + 3) * 3 + 1], pixel(200, 2, 3, 1));
  const unit = loadDataset({ name: 'cifar10', path: dir });
  assert.equal(unit.train.x[(31 * 32 + 31) * 3 + 2], Math.fround(pixel(0, 31, 31, 2) / 255));
  // The official archive's cifar-10-batches-bin/ folder is found from its parent, gzipped batches read.
  const parent = join(root, 'archive');
  const nested = cifarDir(join('archive', 'cifar-10-batches-bin'), (_, b) => gzipSync(b));
  const fromParent = loadDataset({ name: 'cifar10', path: parent, normalize: 'none' });
  assert.deepEqual(fromParent.train.x, ds.train.x);
  assert.deepEqual(fromParent.test.y, ds.test.y);
  assert.match(datasetFingerprint({ name: 'cifar10', path: nested }), /^[0-9a-f]{64}$/);
  assert.equal(datasetFingerprint({ name: 'cifar10', path: join(root, 'valid') }), datasetFingerprint({ name: 'cifar10', path: cifarDir('copy') }));
});

test('a missing batch is an error naming the file', () => {
  const dir = cifarDir('missing', (file, b) => (file === 'data_batch_4.bin' ? undefined : b));
  const file = join(dir, 'data_batch_4.bin');
  const expected = `${file}: file not found (CIFAR-10 binary version expected: data_batch_1..5.bin, test_batch.bin)`;
  assert.throws(() => loadDataset({ name: 'cifar10', path: dir }), (e: unknown) => e instanceof DataFileError && e.file === file && e.message === expected);
  assert.throws(() => datasetFingerprint({ name: 'cifar10', path: dir }), { message: expected });
  assert.throws(() => readCifarBatches([file]), { message: `${file}: file not found` });
});

test('a truncated or empty batch is an error naming the file and its size', () => {
  const dir = cifarDir('truncated', (file, b) => (file === 'data_batch_2.bin' ? b.subarray(0, RECORD + 100) : file === 'test_batch.bin' ? new Uint8Array(0) : b));
  const file = join(dir, 'data_batch_2.bin');
  assert.throws(() => loadDataset({ name: 'cifar10', path: dir }), {
    name: 'DataFileError',
    message: `${file}: truncated: 3173 bytes is not a whole number of 3073-byte CIFAR-10 records`,
  });
  const empty = join(dir, 'test_batch.bin');
  assert.throws(() => readCifarBatches([empty]), { message: `${empty}: truncated: 0 bytes is not a whole number of 3073-byte CIFAR-10 records` });
});

test('a label outside 0..9 is an error naming the file and the record', () => {
  // CIFAR-100's binary records start with a coarse label (0..19): reading one as CIFAR-10 must fail.
  const dir = cifarDir('label', (file, b) => (file === 'data_batch_5.bin' ? Buffer.concat([b.subarray(0, RECORD), record(17, 3)]) : b));
  const file = join(dir, 'data_batch_5.bin');
  assert.throws(() => loadDataset({ name: 'cifar10', path: dir }), {
    name: 'DataFileError',
    message: `${file}: record 1 has label 17, expected 0..9 (not a CIFAR-10 binary batch?)`,
  });
});

test('a batch rewritten in place is read again, not served from the memo', () => {
  const dir = cifarDir('rewritten');
  const before = loadDataset({ name: 'cifar10', path: dir });
  assert.deepEqual(Array.from(before.test.y), [9]);
  writeFileSync(join(dir, 'test_batch.bin'), Buffer.concat([record(4, 1), record(5, 2)]));
  const after = loadDataset({ name: 'cifar10', path: dir });
  assert.deepEqual(Array.from(after.test.y), [4, 5]);
  assert.notEqual(after.fingerprint, before.fingerprint);
});
