/**
 * The behaviour every result store must have, run against each store (memory-store.test.ts,
 * lmdb-store.test.ts). A store-specific harness opens fresh stores and damages blobs.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { Digest, NodeKey } from '../../base/brand.js';
import type { HostTensor } from '../../base/values.js';
import { blobChecksum } from '../../cache/checksum.js';
import { collectGarbage } from '../../cache/gc.js';
import { currentThread } from '../../cache/liveness.js';
import type { StoreOptions } from '../../cache/store-core.js';
import {
  CorruptEntryError,
  MissingResultError,
  StoreClosedError,
  type CacheStore,
  type LastRun,
} from '../../cache/store.js';
import { floatTensor, keyOf, maskTensor, provenance, sameBits } from './fixtures/data.js';
import { watchedSignal } from './fixtures/watched-claim.js';

export interface StoreHarness {
  readonly name: string;
  /** A fresh, empty store. */
  open(options?: StoreOptions): Promise<CacheStore>;
  /**
   * Flips a byte inside the stored bytes of blob `digest`, the way a failing disk would, and returns
   * the store to use afterwards (a harness may have to close and reopen it).
   */
  corruptBlob(store: CacheStore, digest: Digest): Promise<CacheStore>;
  /** Flips one character of the xxh64 checksum recorded in blob `digest`'s BlobInfo (same contract). */
  corruptChecksum(store: CacheStore, digest: Digest): Promise<CacheStore>;
  /** Rewrites blob `digest`'s BlobInfo without a checksum, as builds before checksums wrote it. */
  dropChecksum(store: CacheStore, digest: Digest): Promise<CacheStore>;
  /** Removes whatever the harness created (temporary directories). */
  cleanup(): Promise<void>;
}

function tensorAt(tree: Record<string, unknown>, ...path: string[]): HostTensor {
  let node: unknown = tree;
  for (const p of path) node = (node as Record<string, unknown>)[p];
  return node as HostTensor;
}

function digestsOf(store: CacheStore, key: NodeKey): Digest[] {
  return store.entry(key)!.blobs.map((b) => b.digest);
}

/** A checkpoint-like output tree with dense, sparse and mask tensors and awkward scalars. */
function sampleOutputs(seed: number): Record<string, unknown> {
  return {
    checkpoint: {
      model: { arch: 'lenet300', inputShape: [784], numClasses: 10 },
      tensors: {
        'fc1.weight': floatTensor([30, 40], 0, seed),
        'fc2.weight': floatTensor([40, 20], 0.9, seed + 1),
        'fc2.bias': { dtype: 'int32', shape: [3], data: new Int32Array([-1, 0, 2147483647]) },
      },
      masks: { 'fc2.weight': maskTensor([40, 20], 0.1, seed + 2) },
      step: 0,
      meta: { loss: NaN, best: Infinity, delta: -0, note: 'ok', flag: true },
    },
    metrics: { values: { accuracy: 0.98 }, series: { loss: [1.5, 0.5, -0] } },
    nothing: null,
    list: [1, 'two', [3, { four: 4 }]],
  };
}

export function storeContract(harness: StoreHarness): void {
  describe(`store contract: ${harness.name}`, () => {
    after(() => harness.cleanup());

    it('round-trips output trees bit-exactly, with records and sizes', async () => {
      const store = await harness.open();
      const key = keyOf('round-trip');
      const outputs = sampleOutputs(1);
      const prov = provenance('train', { init: keyOf('init'), many: [keyOf('a'), keyOf('b')] });
      assert.equal(store.has(key), false);
      assert.equal(store.record(key), undefined);
      await store.put(key, outputs, prov);
      assert.equal(store.has(key), true);
      assert.deepEqual(store.keys(), [key]);
      const loaded = await store.load(key);
      // deepStrictEqual compares typed arrays element-wise with Object.is: -0, NaN are checked.
      assert.deepStrictEqual(loaded, outputs);
      for (const name of ['fc1.weight', 'fc2.weight', 'fc2.bias']) {
        assert.ok(sameBits(tensorAt(loaded, 'checkpoint', 'tensors', name).data, tensorAt(outputs, 'checkpoint', 'tensors', name).data));
      }
      const record = store.record(key)!;
      assert.equal(record.key, key);
      assert.deepStrictEqual(record.provenance, prov);
      assert.ok(!Number.isNaN(Date.parse(record.createdAt)));
      const entry = store.entry(key)!;
      assert.equal(entry.blobs.length, 4);
      assert.equal(record.sizeBytes, entry.blobs.reduce((s, b) => s + b.bytes, 0));
      // The 90%-sparse weight is stored in well under a fifth of its dense 3,200 bytes.
      const sparse = entry.blobs.find((b) => b.bytes < 600);
      assert.ok(sparse !== undefined, `blob sizes ${entry.blobs.map((b) => b.bytes).join(', ')}`);
      await store.close();
    });

    it('hands out copies: mutating a loaded tree changes neither the store nor other outputs', async () => {
      const store = await harness.open();
      const key = keyOf('copies');
      const shared = floatTensor([16], 0, 3);
      await store.put(key, { a: shared, b: shared, c: { dtype: 'float32', shape: [16], data: shared.data.slice() } }, provenance('n'));
      assert.equal(store.entry(key)!.blobs.length, 1);
      const first = await store.load(key);
      tensorAt(first, 'a').data[0] = 1234;
      assert.notEqual(tensorAt(first, 'b').data[0], 1234);
      assert.notEqual(tensorAt(first, 'c').data[0], 1234);
      const second = await store.load(key);
      assert.ok(sameBits(tensorAt(second, 'a').data, shared.data));
      await store.close();
    });

    it('rejects a load of a missing key, trees using the reserved key, and malformed tensors', async () => {
      const store = await harness.open();
      await assert.rejects(store.load(keyOf('absent')), MissingResultError);
      await assert.rejects(store.put(keyOf('x'), { bad: { $sg: 'tensor' } }, provenance('n')), /"\$sg" is reserved/);
      await assert.rejects(
        store.put(keyOf('x'), { t: { w: { dtype: 'float32', shape: [2], data: new Float32Array(3) } } }, provenance('n')),
        /outputs\.t\.w: shape \[2\] has 2 elements but data has 3/,
      );
      assert.equal(store.has(keyOf('x')), false);
      await store.close();
    });

    it('detects a flipped byte in a blob, removes the entry and its blob, and accepts a recomputation', async () => {
      let store = await harness.open();
      const key = keyOf('corrupt');
      const outputs = { weights: floatTensor([64, 64], 0, 11) };
      await store.put(key, outputs, provenance('n'));
      const [digest] = digestsOf(store, key);
      store = await harness.corruptBlob(store, digest!);
      assert.equal(store.has(key), true);
      const error = await store.load(key).then(
        () => assert.fail('load of a corrupted entry succeeded'),
        (e: unknown) => e,
      );
      assert.ok(error instanceof CorruptEntryError, String(error));
      assert.equal(error.key, key);
      assert.equal(error.digest, digest);
      assert.match(error.message, /is corrupted .*matches neither its xxh64 checksum nor its sha256.*it was removed/);
      assert.equal(store.has(key), false);
      assert.equal(store.hasBlob(digest!), false);
      assert.equal(store.blobInfo(digest!), undefined);
      await store.put(key, outputs, provenance('n'));
      assert.ok(sameBits(tensorAt(await store.load(key), 'weights').data, outputs.weights.data));
      await store.close();
    });

    it('detects a flipped byte with a full sha256 check too', async () => {
      let store = await harness.open();
      const key = keyOf('corrupt-digest');
      await store.put(key, { weights: floatTensor([64, 64], 0.9, 13) }, provenance('n'));
      const [digest] = digestsOf(store, key);
      store = await harness.corruptBlob(store, digest!);
      await assert.rejects(store.load(key, { verify: 'digest' }), (error: unknown) => {
        assert.ok(error instanceof CorruptEntryError, String(error));
        assert.match(error.message, /content does not match its sha256/);
        return true;
      });
      assert.equal(store.has(key), false);
      assert.equal(store.hasBlob(digest!), false);
      await store.close();
    });

    it('records the xxh64 checksum of every blob it stores, and keeps it while references change', async () => {
      const store = await harness.open();
      const shared = floatTensor([40, 40], 0, 14);
      await store.put(keyOf('c1'), { w: shared, m: maskTensor([100], 0.3, 15) }, provenance('c1'));
      await store.saveProgress(keyOf('c2'), { w: shared, o: floatTensor([30], 0.95, 16) });
      const digests = new Set([...digestsOf(store, keyOf('c1'))]);
      for (const digest of digests) {
        const info = store.blobInfo(digest)!;
        assert.match(info.xxh64 ?? '', /^[0-9a-f]{16}$/);
        assert.equal(info.xxh64, blobChecksum(store.blob(digest)!));
      }
      const sharedDigest = digestsOf(store, keyOf('c1')).find((d) => store.blob(d)!.length > 6000)!;
      assert.equal(store.blobInfo(sharedDigest)!.refs, 2);
      await store.remove(keyOf('c1'));
      assert.deepEqual(store.blobInfo(sharedDigest), { refs: 1, bytes: store.blob(sharedDigest)!.length, xxh64: blobChecksum(store.blob(sharedDigest)!) });
      await collectGarbage(store, { roots: [] });
      assert.equal(store.hasBlob(sharedDigest), false, 'gc removed the stale progress state and its blobs');

      // Imported blobs get a checksum too.
      const source = await harness.open();
      await source.put(keyOf('c3'), { w: shared }, provenance('c3'));
      const entry = source.entry(keyOf('c3'))!;
      const blobs = new Map(entry.blobs.map((b) => [b.digest, source.blob(b.digest)!]));
      assert.equal(await store.importEntry(entry, blobs), 'imported');
      assert.equal(store.blobInfo(sharedDigest)!.xxh64, source.blobInfo(sharedDigest)!.xxh64);
      await source.close();
      await store.close();
    });

    it('catches a damaged checksum record: the sha256 vouches for the sound blob and gc rebuilds the record', async () => {
      let store = await harness.open();
      const key = keyOf('bad-checksum');
      const outputs = { weights: floatTensor([64, 64], 0, 17) };
      await store.put(key, outputs, provenance('n'));
      const [digest] = digestsOf(store, key);
      const good = store.blobInfo(digest!)!;
      store = await harness.corruptChecksum(store, digest!);
      // The record's own checksum no longer matches: it is not read as a (wrong) checksum.
      assert.equal(store.blobInfo(digest!), undefined, 'the damaged record is not believed');
      assert.ok(sameBits(tensorAt(await store.load(key), 'weights').data, outputs.weights.data));
      assert.equal(store.has(key), true);
      assert.ok(sameBits(tensorAt(await store.load(key), 'weights').data, outputs.weights.data));
      // Its reference count is unknown to a load; gc counts the references again.
      await collectGarbage(store, { roots: [key], compact: false });
      assert.deepEqual(store.blobInfo(digest!), { refs: 1, bytes: good.bytes });
      await store.load(key);
      assert.deepEqual(store.blobInfo(digest!), good, 'a verified load records the checksum');
      await store.close();
    });

    it('never trusts a damaged checksum record over a damaged blob', async () => {
      let store = await harness.open();
      const key = keyOf('bad-both');
      await store.put(key, { weights: floatTensor([64, 64], 0, 18) }, provenance('n'));
      const [digest] = digestsOf(store, key);
      store = await harness.corruptChecksum(store, digest!);
      store = await harness.corruptBlob(store, digest!);
      await assert.rejects(store.load(key), (error: unknown) => {
        assert.ok(error instanceof CorruptEntryError, String(error));
        assert.match(error.message, /matches neither its xxh64 checksum nor its sha256/);
        return true;
      });
      assert.equal(store.has(key), false);
      assert.equal(store.hasBlob(digest!), false);
      await store.close();
    });

    it('checks blobs without a checksum (older stores) by sha256, then records one', async () => {
      let store = await harness.open();
      const key = keyOf('legacy');
      const outputs = { weights: floatTensor([64, 64], 0.5, 19) };
      await store.put(key, outputs, provenance('n'));
      const [digest] = digestsOf(store, key);
      const good = store.blobInfo(digest!)!;
      store = await harness.dropChecksum(store, digest!);
      assert.equal(store.blobInfo(digest!)!.xxh64, undefined);
      // A put of the same content (another key) records the checksum from the fresh bytes.
      await store.put(keyOf('legacy-2'), outputs, provenance('n'));
      assert.deepEqual(store.blobInfo(digest!), { ...good, refs: 2 });
      await store.remove(keyOf('legacy-2'));

      store = await harness.dropChecksum(store, digest!);
      assert.ok(sameBits(tensorAt(await store.load(key), 'weights').data, outputs.weights.data));
      assert.deepEqual(store.blobInfo(digest!), good, 'a sha256-verified load recorded the checksum');

      store = await harness.dropChecksum(store, digest!);
      store = await harness.corruptBlob(store, digest!);
      await assert.rejects(store.load(key), (error: unknown) => {
        assert.ok(error instanceof CorruptEntryError, String(error));
        assert.match(error.message, /content does not match its sha256/);
        return true;
      });
      assert.equal(store.has(key), false);
      await store.close();
    });

    it('skips verification only when asked', async () => {
      let store = await harness.open();
      const key = keyOf('unverified');
      await store.put(key, { weights: floatTensor([64, 64], 0, 12) }, provenance('n'));
      store = await harness.corruptBlob(store, digestsOf(store, key)[0]!);
      const loaded = await store.load(key, { verify: 'none' });
      assert.equal(tensorAt(loaded, 'weights').data.length, 4096);
      assert.equal(store.has(key), true);
      await assert.rejects(store.load(key), CorruptEntryError);
      await store.close();
    });

    it('deduplicates blobs and frees them when the last result using them goes', async () => {
      const store = await harness.open();
      const weights = floatTensor([32, 32], 0, 21);
      await store.put(keyOf('one'), { w: weights }, provenance('one'));
      await store.put(keyOf('two'), { w: weights, extra: floatTensor([8], 0, 22) }, provenance('two'));
      assert.equal(store.stats().blobs, 2);
      await store.remove(keyOf('one'));
      assert.equal(store.has(keyOf('one')), false);
      assert.equal(store.stats().blobs, 2);
      assert.ok(sameBits(tensorAt(await store.load(keyOf('two')), 'w').data, weights.data));
      await store.remove(keyOf('two'));
      assert.deepEqual(store.stats(), { ...store.stats(), results: 0, blobs: 0, blobBytes: 0 });
      await store.close();
    });

    it('replaces a result put again under the same key and frees the old blobs', async () => {
      const store = await harness.open();
      const key = keyOf('forced');
      await store.put(key, { w: floatTensor([100], 0, 1) }, provenance('n'));
      const replacement = floatTensor([100], 0, 2);
      await store.put(key, { w: replacement }, provenance('n', {}, { seed: 8 }));
      assert.equal(store.stats().blobs, 1);
      assert.equal(store.record(key)!.provenance.seed, 8);
      assert.ok(sameBits(tensorAt(await store.load(key), 'w').data, replacement.data));
      await store.close();
    });

    it('saves, overwrites, loads and clears progress; a put clears it too', async () => {
      const store = await harness.open();
      const key = keyOf('long');
      assert.equal(await store.loadProgress(key), undefined);
      await store.saveProgress(key, { epoch: 1, weights: floatTensor([50], 0, 1) });
      const epoch2 = { epoch: 2, weights: floatTensor([50], 0, 2), optimizer: { m: floatTensor([50], 0.95, 3) } };
      await store.saveProgress(key, epoch2);
      assert.equal(store.stats().blobs, 2, 'the first epoch\'s blob was freed');
      assert.deepStrictEqual(await store.loadProgress(key), epoch2);
      await store.clearProgress(key);
      assert.equal(await store.loadProgress(key), undefined);
      assert.equal(store.stats().blobs, 0);
      await store.saveProgress(key, epoch2);
      await store.put(key, { final: epoch2.weights }, provenance('long'));
      assert.equal(await store.loadProgress(key), undefined);
      assert.equal(store.stats().progress, 0);
      assert.equal(store.stats().blobs, 1);
      await store.close();
    });

    it('reports a damaged progress state and removes it', async () => {
      let store = await harness.open();
      const key = keyOf('long-damaged');
      const weights = floatTensor([500], 0, 5);
      await store.saveProgress(key, { epoch: 3, weights });
      // A result holding the same tensor shares its blob, which is how the test finds the digest.
      await store.put(keyOf('sharer'), { weights }, provenance('s'));
      assert.equal(store.stats().blobs, 1);
      store = await harness.corruptBlob(store, digestsOf(store, keyOf('sharer'))[0]!);
      await assert.rejects(store.loadProgress(key), CorruptEntryError);
      assert.equal(await store.loadProgress(key), undefined);
      assert.equal(store.stats().progress, 0);
      await store.close();
    });

    it('verifies progress by checksum: a damaged checksum record costs a sha256, a damaged blob is reported', async () => {
      let store = await harness.open();
      const key = keyOf('long-checksum');
      const weights = floatTensor([500], 0, 6);
      await store.saveProgress(key, { epoch: 3, weights });
      await store.put(keyOf('sharer-2'), { weights }, provenance('s'));
      const [digest] = digestsOf(store, keyOf('sharer-2'));
      const good = store.blobInfo(digest!)!;
      store = await harness.corruptChecksum(store, digest!);
      const state = (await store.loadProgress(key))!;
      assert.ok(sameBits((state['weights'] as HostTensor).data, weights.data));
      assert.equal(store.blobInfo(digest!), undefined, 'left for gc, which counts its references again');
      assert.ok(good.xxh64);
      store = await harness.corruptBlob(store, digest!);
      assert.ok(await store.loadProgress(key, { verify: 'none' }), 'unverified reads skip the check');
      await assert.rejects(store.loadProgress(key), /matches neither its xxh64 checksum nor its sha256 \(in-progress state\)/);
      assert.equal(await store.loadProgress(key), undefined);
      await store.close();
    });

    it('remembers the last run per scope and node id', async () => {
      const store = await harness.open();
      const run: LastRun = { key: keyOf('r'), kind: 'train', version: 2, params: { lr: 0.1 }, inputs: { init: keyOf('i') }, data: 'mnist', salt: 's' };
      assert.equal(store.lastRun('a.yaml', 'train'), undefined);
      await store.setLastRun('a.yaml', 'train', run);
      await store.setLastRun('b.yaml', 'train', { ...run, version: 3 });
      assert.deepStrictEqual(store.lastRun('a.yaml', 'train'), run);
      assert.equal(store.lastRun('b.yaml', 'train')!.version, 3);
      const longScope = 'x'.repeat(5000);
      await store.setLastRun(longScope, 'n', run);
      assert.deepStrictEqual(store.lastRun(longScope, 'n'), run);
      await store.close();
    });

    it('pins and unpins labels', async () => {
      const store = await harness.open();
      const [a, b] = [keyOf('pa'), keyOf('pb')].sort() as [NodeKey, NodeKey];
      await store.pin(b, 'paper');
      await store.pin(a, 'paper');
      await store.pin(a, 'baseline');
      await store.pin(a, 'baseline');
      assert.deepEqual(store.pins().map((p) => [p.key, p.label]), [[a, 'baseline'], [a, 'paper'], [b, 'paper']]);
      assert.equal(await store.unpin(a, 'paper'), 1);
      assert.equal(await store.unpin(a, 'nope'), 0);
      assert.equal(await store.unpin(b), 1);
      assert.deepEqual(store.pins().map((p) => p.label), ['baseline']);
      await assert.rejects(store.pin(a, ''), RangeError);
      await store.close();
    });

    it('lets one claimant compute while the others wait for its result', async () => {
      const store = await harness.open();
      const key = keyOf('claimed');
      const first = await store.claim(key);
      assert.equal(first.status, 'owner');
      let settled = false;
      const watch = watchedSignal();
      const waiter = store.claim(key, { pollMs: 10, signal: watch.signal }).then((c) => ((settled = true), c));
      await watch.afterLooks(3);
      assert.equal(settled, false, 'a second claimant must wait while the owner is alive');
      await store.put(key, { v: 1 }, provenance('n'));
      assert.deepEqual(await waiter, { status: 'done' });
      assert.deepEqual(await store.claim(key), { status: 'done' });
      let liveClaims: readonly NodeKey[] = ['not looked at' as NodeKey];
      await store.sweep((view) => ((liveClaims = view.liveClaims), { removeResults: [], removeProgress: [] }), { dryRun: true });
      assert.deepEqual(liveClaims, [], 'the put released the claim');
      await store.close();
    });

    it('hands the claim to a waiter when the owner releases without a result', async () => {
      const store = await harness.open();
      const key = keyOf('released');
      const first = await store.claim(key);
      assert.equal(first.status, 'owner');
      const watch = watchedSignal();
      const waiter = store.claim(key, { pollMs: 10, signal: watch.signal });
      // Released only once the waiter has found the key held: the hand-over happens while it waits.
      await watch.afterLooks(1);
      if (first.status === 'owner') first.release();
      const second = await waiter;
      assert.equal(second.status, 'owner');
      if (second.status === 'owner') second.release();
      await store.close();
    });

    it('stops waiting when the signal aborts', async () => {
      const store = await harness.open();
      const key = keyOf('aborted');
      const first = await store.claim(key);
      const watch = watchedSignal();
      const waiter = store.claim(key, { pollMs: 10, signal: watch.signal });
      await watch.afterLooks(2);
      watch.abort(new Error('stop waiting'));
      await assert.rejects(waiter, /stop waiting/);
      assert.equal(watch.looks, 2, 'no look after the abort');
      if (first.status === 'owner') first.release();
      await store.close();
    });

    it('keeps a live holder\'s claim past its stale time: by its thread where /proc tells, else by heartbeats', async () => {
      // With /proc no heartbeat comes within the test, so only the holder thread's liveness can keep the
      // claim; without, heartbeats every 40 ms must. (Holders on other hosts: test/cache/liveness.test.ts.)
      const store = await harness.open({ claimHeartbeatMs: currentThread() === undefined ? 40 : 60_000, claimStaleMs: 400 });
      const key = keyOf('heartbeat');
      const first = await store.claim(key);
      assert.equal(first.status, 'owner');
      const claimedAt = Date.now();
      const watch = watchedSignal();
      const waiter = store.claim(key, { pollMs: 20, signal: watch.signal });
      // The waiter still finds the claim held at a look made more than twice the stale time after it
      // was taken: the claim outlived its stale time while its holder lived.
      await watch.lookWhen(() => Date.now() - claimedAt > 2 * 400);
      watch.abort(new Error('still owned'));
      await assert.rejects(waiter, /still owned/);
      if (first.status === 'owner') first.release();
      const second = await store.claim(key, { pollMs: 20 });
      assert.equal(second.status, 'owner', 'released: the next claimant owns it');
      if (second.status === 'owner') second.release();
      await store.close();
    });

    it('keeps what a run in progress may read or write through gc, and what that came from, until the run ends', async () => {
      const store = await harness.open();
      const k = (n: string): NodeKey => keyOf(`run-${n}`);
      await store.put(k('old-input'), { v: 1 }, provenance('old-input'));
      await store.put(k('unrelated'), { v: 2 }, provenance('unrelated'));
      const end = await store.beginRun([k('fresh'), k('next')]);
      await store.put(k('fresh'), { v: 3 }, provenance('fresh', { x: k('old-input') }));
      const during = await collectGarbage(store, { roots: [], compact: false });
      assert.deepEqual(during.removedResults, [k('unrelated')]);
      end();
      const after = await collectGarbage(store, { roots: [], compact: false });
      assert.deepEqual([...after.removedResults].sort(), [k('fresh'), k('old-input')].sort());
      await store.close();
    });

    it('collects garbage: keeps roots, pins and what they came from; removes the rest and unused blobs', async () => {
      const store = await harness.open();
      const k = (n: string): NodeKey => keyOf(`gc-${n}`);
      const put = (n: string, inputs: Record<string, NodeKey | NodeKey[]>, seed: number): Promise<void> =>
        store.put(k(n), { w: floatTensor([256], 0, seed) }, provenance(n, inputs));
      await put('init', {}, 1);
      await put('train', { init: k('init') }, 2);
      await put('prune', { model: k('train') }, 3);
      await put('old-train', { init: k('init') }, 4);
      await put('unrelated', {}, 5);
      await put('pinned-child', { many: [k('pinned-parent')] }, 6);
      await put('pinned-parent', {}, 7);
      await store.pin(k('pinned-child'), 'keep');
      await store.saveProgress(k('running'), { w: floatTensor([256], 0, 8) });
      await store.saveProgress(k('prune'), { w: floatTensor([256], 0, 9) });
      const before = store.stats();
      assert.equal(before.results, 7);

      const dry = await collectGarbage(store, { roots: [k('prune')], dryRun: true });
      assert.deepEqual([...dry.removedResults].sort(), [k('old-train'), k('unrelated')].sort());
      assert.deepEqual(dry.removedProgress, [k('running')]);
      assert.equal(dry.removedBlobs, 3);
      assert.equal(dry.bytesFreed, 3 * store.entry(k('init'))!.blobs[0]!.bytes);
      assert.equal(dry.after.results, 5);
      assert.equal(dry.compaction, undefined);
      assert.equal(store.stats().results, 7, 'a dry run changes nothing');

      const report = await collectGarbage(store, { roots: [k('prune')] });
      assert.deepEqual([...report.removedResults].sort(), [...dry.removedResults].sort());
      assert.equal(report.removedBlobs, 3);
      assert.equal(report.bytesFreed, dry.bytesFreed);
      assert.deepEqual(store.keys().sort(), [k('init'), k('train'), k('prune'), k('pinned-child'), k('pinned-parent')].sort());
      assert.equal(store.stats().blobs, 6);
      assert.ok(await store.loadProgress(k('prune')));
      for (const key of store.keys()) await store.load(key);
      await store.close();
    });

    it('collects garbage older than a cut-off only', async () => {
      const store = await harness.open();
      await store.put(keyOf('young'), { w: floatTensor([8], 0, 1) }, provenance('young', { src: keyOf('young-input') }));
      await store.put(keyOf('young-input'), { w: floatTensor([8], 0, 2) }, provenance('young-input'));
      const now = Date.now();
      const keepAll = await collectGarbage(store, { roots: [], olderThan: 60_000, now, compact: false });
      assert.deepEqual(keepAll.removedResults, []);
      const removeAll = await collectGarbage(store, { roots: [], olderThan: 60_000, now: now + 120_000, compact: false });
      assert.equal(removeAll.removedResults.length, 2);
      assert.deepEqual(store.stats(), { ...store.stats(), results: 0, blobs: 0 });
      await store.close();
    });

    it('imports entries only with every blob present and matching its digest', async () => {
      const source = await harness.open();
      const target = await harness.open();
      const key = keyOf('imported');
      await source.put(key, { w: floatTensor([100], 0, 1), m: maskTensor([100], 0.5, 2) }, provenance('n'));
      const entry = source.entry(key)!;
      const blobs = new Map(entry.blobs.map((b) => [b.digest, source.blob(b.digest)!]));
      const [first, second] = entry.blobs;
      await assert.rejects(target.importEntry(entry, new Map([[first!.digest, blobs.get(first!.digest)!]])), /is neither given nor stored/);
      const damaged = new Map(blobs);
      const bad = blobs.get(second!.digest)!.slice();
      bad[bad.length - 1]! ^= 1;
      damaged.set(second!.digest, bad);
      await assert.rejects(target.importEntry(entry, damaged), /does not match its digest/);
      assert.deepEqual(target.stats(), { ...target.stats(), results: 0, blobs: 0 });
      assert.equal(await target.importEntry(entry, blobs), 'imported');
      assert.equal(await target.importEntry(entry, blobs), 'present');
      assert.deepStrictEqual(await target.load(key), await source.load(key));
      assert.deepStrictEqual(target.record(key), source.record(key));
      await source.close();
      await target.close();
    });

    it('refuses calls after close', async () => {
      const store = await harness.open();
      await store.close();
      assert.throws(() => store.has(keyOf('any')), StoreClosedError);
      await assert.rejects(store.put(keyOf('any'), {}, provenance('n')), StoreClosedError);
      await store.close();
    });
  });
}
