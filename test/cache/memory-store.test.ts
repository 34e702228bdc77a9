import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { blobChecksum } from '../../cache/checksum.js';
import { collectGarbage } from '../../cache/gc.js';
import { TABLES, type BlobInfo } from '../../cache/layout.js';
import { MemoryStore } from '../../cache/memory-store.js';
import { packRecord } from '../../cache/record-codec.js';
import { CorruptEntryError } from '../../cache/store.js';
import { floatTensor, keyOf, provenance, sameBits } from './fixtures/data.js';
import { storeContract } from './store-contract.js';

storeContract({
  name: 'MemoryStore',
  open: async (options) => new MemoryStore(options),
  corruptBlob: async (store, digest) => {
    (store as MemoryStore).corruptBlobForTesting(digest, 100);
    return store;
  },
  corruptChecksum: async (store, digest) => {
    const checksum = Buffer.from(store.blobInfo(digest)!.xxh64!, 'ascii');
    (store as MemoryStore).tamperForTesting(TABLES.blobInfo, digest, (bytes) => {
      const at = Buffer.from(bytes).indexOf(checksum);
      assert.ok(at >= 0);
      bytes[at + 8]! ^= 0x01;
      return bytes;
    });
    return store;
  },
  dropChecksum: async (store, digest) => {
    const info = store.blobInfo(digest)!;
    (store as MemoryStore).tamperForTesting(TABLES.blobInfo, digest, () => packRecord(digest, { refs: info.refs, bytes: info.bytes } satisfies BlobInfo));
    return store;
  },
  cleanup: async () => undefined,
});

describe('MemoryStore: a BlobInfo record that does not decode', () => {
  it('costs a sha256 check but neither data nor detection', async () => {
    const store = new MemoryStore();
    const key = keyOf('garbled-info');
    const weights = floatTensor([64, 64], 0, 31);
    await store.put(key, { weights }, provenance('n'));
    const digest = store.entry(key)!.blobs[0]!.digest;
    // 0xc1 is the one byte MessagePack never uses: the record no longer decodes.
    store.tamperForTesting(TABLES.blobInfo, digest, () => Uint8Array.of(0xc1));
    assert.equal(store.blobInfo(digest), undefined);
    const loaded = (await store.load(key))['weights'] as typeof weights;
    assert.ok(sameBits(loaded.data, weights.data));
    // Its reference count is unknown, so the record is left for gc to rebuild rather than guessed.
    assert.equal(store.blobInfo(digest), undefined);
    await collectGarbage(store, { roots: [key] });
    assert.deepEqual(store.blobInfo(digest), { refs: 1, bytes: store.entry(key)!.blobs[0]!.bytes });
    await store.load(key);
    assert.equal(store.blobInfo(digest)!.xxh64, blobChecksum(store.blob(digest)!), 'a verified load records the checksum');

    store.corruptBlobForTesting(digest, 100);
    await assert.rejects(store.load(key), (error: unknown) => {
      assert.ok(error instanceof CorruptEntryError);
      assert.match(error.message, /matches neither its xxh64 checksum nor its sha256/);
      return true;
    });
    assert.equal(store.has(key), false);
    assert.equal(store.hasBlob(digest), false);
    await store.close();
  });
});
