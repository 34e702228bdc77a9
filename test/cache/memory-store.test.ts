import { MemoryStore } from '../../cache/memory-store.js';
import { storeContract } from './store-contract.js';

storeContract({
  name: 'MemoryStore',
  open: async (options) => new MemoryStore(options),
  corruptBlob: async (store, digest) => {
    (store as MemoryStore).corruptBlobForTesting(digest, 100);
    return store;
  },
  cleanup: async () => undefined,
});
