import { storeContract } from './store-contract.js';
import { lmdbHarness } from './fixtures/lmdb-harness.js';

storeContract(lmdbHarness());
