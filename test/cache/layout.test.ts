/**
 * Pins the on-disk format with literal values: a change here orphans every existing cache, so it must
 * come with a FORMAT_VERSION (or codec version) bump, never by accident.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import xxhash from 'xxhash-wasm';
import { blobDigest, encodeTensor } from '../../cache/blob-codec.js';
import { blobChecksum, checksumWhileCopying } from '../../cache/checksum.js';
import { FILES, FORMAT_VERSION, lastRunKey, pinKey, TABLES, type BlobInfo } from '../../cache/layout.js';
import { checkRecord, packRecord, packValue, unpackRecord } from '../../cache/record-codec.js';
import type { NodeKey } from '../../base/brand.js';

describe('cache layout', () => {
  it('names tables, files and composite keys as it always did', () => {
    assert.equal(FORMAT_VERSION, 2);
    assert.deepEqual(Object.values(TABLES), ['results', 'blobs', 'blob-info', 'claims', 'runs', 'run-keys', 'progress', 'last-runs', 'pins', 'meta']);
    assert.deepEqual(FILES, {
      data: 'data.mdb',
      lock: 'lock.mdb',
      openers: 'openers',
      compactionLock: 'compacting.json',
      compactionTmp: 'compact-tmp',
      // The live progress files `run` writes for `serve` (cli/serve/progress-log.ts); not LMDB's.
      progress: 'progress',
    });
    assert.equal(lastRunKey('pipelines/paper.yaml', 'train'), '["pipelines/paper.yaml","train"]');
    assert.equal(pinKey('ab'.repeat(32) as NodeKey, 'fig 3'), `["${'ab'.repeat(32)}","fig 3"]`);
    // Composite keys past LMDB's key size limit are hashed.
    assert.equal(lastRunKey('x'.repeat(2000), 'n'), 'sha256:1c12d2583e5f560bcce3307ecaf41be084fdd33f512d05b7a8b216b0405df329');
    // ...by the definition: sha256 of the composite key's JSON text, recomputed here without layout.ts.
    assert.equal(createHash('sha256').update(JSON.stringify(['x'.repeat(2000), 'n'])).digest('hex'), '1c12d2583e5f560bcce3307ecaf41be084fdd33f512d05b7a8b216b0405df329');
  });

  it('encodes tensors to the same bytes and digests as it always did', () => {
    const dense = encodeTensor({ dtype: 'float32', shape: [2, 2], data: new Float32Array([1, -0, 0.5, -2]) });
    assert.equal(
      Buffer.from(dense).toString('hex'),
      // "SGTB", v1, dense, float32, rank 2, n=4.0, stored=4.0, dims 2 2, then 1, -0, 0.5, -2
      '53475442010000020000000000001040000000000000104002000000020000000000803f000000800000003f000000c0',
    );
    assert.equal(blobDigest(dense), '208d7a54056b0e2e254b70dbd295618dff17b412c6a656e49fd27207c26e97c6');
    // A blob's digest is the sha256 of its bytes: recomputed from the pinned hex, not through blob-codec.
    const denseBytes = Buffer.from('53475442010000020000000000001040000000000000104002000000020000000000803f000000800000003f000000c0', 'hex');
    assert.equal(createHash('sha256').update(denseBytes).digest('hex'), '208d7a54056b0e2e254b70dbd295618dff17b412c6a656e49fd27207c26e97c6');
    const sparse = encodeTensor({ dtype: 'float32', shape: [100], data: Float32Array.from({ length: 100 }, (_, i) => (i % 10 === 0 ? i / 4 : 0)) });
    assert.equal(blobDigest(sparse), '83d012bd670d89018c23ce7df9cb9c34f416031bd5b7bfbbce9983803aa6746c');
    const bits = encodeTensor({ dtype: 'uint8', shape: [10], data: Uint8Array.from([1, 0, 0, 1, 1, 0, 0, 0, 0, 1]) });
    assert.equal(blobDigest(bits), 'c0fe02905958d482f12bfefe52743b127436a1dec97d71a91574c32f255723ca');
  });

  it('records blob checksums as xxh64 (seed 0) hex in BlobInfo, as it always did', async () => {
    // The published xxh64 of the empty input.
    assert.equal(blobChecksum(new Uint8Array(0)), 'ef46db3751d8e999');
    const dense = encodeTensor({ dtype: 'float32', shape: [2, 2], data: new Float32Array([1, -0, 0.5, -2]) });
    assert.equal(blobChecksum(dense), '8786ce76f2174800');
    const info: BlobInfo = { refs: 1, bytes: dense.length, xxh64: blobChecksum(dense) };
    assert.equal(
      Buffer.from(packValue(info)).toString('hex'),
      // map of 3: "refs" 1, "bytes" 48, "xxh64" "8786ce76f2174800"
      'de0003a47265667301a5627974657330a57878683634b038373836636537366632313734383030',
    );
    // Stored as a frame: "SGR" v1, the xxh64 (big-endian) of what follows it, key length 8, the key
    // (a short stand-in for a digest), then the MessagePack value above.
    assert.equal(
      Buffer.from(packRecord('dddddddd', info)).toString('hex'),
      '5347520183b654d330205be908000000' + '6464646464646464' + 'de0003a47265667301a5627974657330a57878683634b038373836636537366632313734383030',
    );
    // Large blobs are hashed in chunks; the result is the one-shot xxh64 of the whole.
    const { h64Raw } = await xxhash();
    const large = new Uint8Array(3 * 256 * 1024 + 13).map((_, i) => (i * 2654435761) >>> 24);
    assert.equal(blobChecksum(large), h64Raw(large).toString(16).padStart(16, '0'));
    // ... also when computed while copying everything past a header.
    const copy = new Uint8Array(large.length - 40);
    assert.equal(checksumWhileCopying(large, 40, copy), blobChecksum(large));
    assert.deepEqual(copy, large.subarray(40));
  });

  it('refuses a framed record that is damaged or found under another key', () => {
    const frame = packRecord('key-a', { metric: 0.25 });
    assert.deepEqual(unpackRecord('key-a', frame), { ok: true, value: { metric: 0.25 } });
    assert.equal(checkRecord('key-b', frame), 'stored under the wrong key (it was written for "key-a")');
    // Every single flipped bit, anywhere in the frame, is detected.
    for (let bit = 0; bit < frame.length * 8; bit++) {
      const damaged = frame.slice();
      damaged[bit >> 3]! ^= 1 << (bit & 7);
      assert.equal(unpackRecord('key-a', damaged).ok, false, `bit ${bit}`);
    }
    assert.equal(checkRecord('key-a', frame.subarray(0, 10)), 'not a framed record');
    assert.equal(checkRecord('key-a', packValue({ metric: 0.25 })), 'not a framed record');
  });
});
