/** What only the on-disk store does: persistence, file compaction, handle registry, format checks. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { open } from 'lmdb';
import { collectGarbage } from '../../cache/gc.js';
import { FILES, META_KEYS, TABLES } from '../../cache/layout.js';
import { openStore } from '../../cache/lmdb-store.js';
import { packRecord } from '../../cache/record-codec.js';
import { StoreFormatError } from '../../cache/store.js';
import { StoreBusyError } from '../../cache/store-lock.js';
import { floatTensor, keyOf, provenance, sameBits } from './fixtures/data.js';
import { tempDir } from './fixtures/lmdb-harness.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
function freshDir(): string {
  const dir = tempDir('sg-lmdb-');
  dirs.push(dir);
  return dir;
}

/** The pid of a process that has exited (so it is certainly not alive). */
function deadPid(): number {
  const result = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(result.stdout.toString());
}

function dataFileBytes(dir: string): number {
  return fs.statSync(path.join(dir, FILES.data)).size;
}

describe('LMDB store on disk', () => {
  it('keeps results, progress, last runs and pins across reopening', async () => {
    const dir = freshDir();
    const weights = floatTensor([100, 10], 0.5, 1);
    let store = await openStore(dir);
    await store.put(keyOf('kept'), { w: weights }, provenance('n'));
    await store.saveProgress(keyOf('running'), { epoch: 4 });
    await store.setLastRun('p.yaml', 'n', { key: keyOf('kept'), kind: 'k', version: 1, params: {}, inputs: {} });
    await store.pin(keyOf('kept'), 'paper');
    await store.close();
    store = await openStore(dir);
    assert.ok(sameBits(((await store.load(keyOf('kept')))['w'] as typeof weights).data, weights.data));
    assert.deepEqual(await store.loadProgress(keyOf('running')), { epoch: 4 });
    assert.equal(store.lastRun('p.yaml', 'n')!.key, keyOf('kept'));
    assert.deepEqual(store.pins().map((p) => p.label), ['paper']);
    await store.close();
  });

  it('gc shrinks the data file on disk and leaves a working store', async () => {
    const dir = freshDir();
    const store = await openStore(dir);
    const keep = floatTensor([256, 1000], 0, 100);
    await store.put(keyOf('keep'), { w: keep }, provenance('keep'));
    for (let i = 0; i < 12; i++) await store.put(keyOf(`drop-${i}`), { w: floatTensor([256, 1000], 0, i) }, provenance(`drop-${i}`));
    const before = dataFileBytes(dir);
    assert.ok(before > 13 * 1_000_000, `data file is ${before} bytes`);

    const report = await collectGarbage(store, { roots: [keyOf('keep')] });
    assert.equal(report.removedResults.length, 12);
    assert.equal(report.removedBlobs, 12);
    assert.ok(report.compaction?.compacted === true, JSON.stringify(report.compaction));
    const after = dataFileBytes(dir);
    assert.equal(report.after.fileBytes, after);
    assert.equal(report.before.fileBytes, before);
    assert.ok(after < 2 * 1_100_000, `data file still ${after} bytes (was ${before})`);

    // The same handle keeps working after the file was swapped.
    assert.ok(sameBits(((await store.load(keyOf('keep')))['w'] as typeof keep).data, keep.data));
    await store.put(keyOf('new'), { w: floatTensor([10], 0, 1) }, provenance('new'));
    assert.deepEqual(store.keys().sort(), [keyOf('keep'), keyOf('new')].sort());
    await store.close();
    const reopened = await openStore(dir);
    assert.equal(reopened.keys().length, 2);
    await reopened.close();
  });

  it('does not compact while another handle has the store open, and says who', async () => {
    const dir = freshDir();
    const first = await openStore(dir);
    const second = await openStore(dir);
    await first.put(keyOf('a'), { w: floatTensor([1000], 0, 1) }, provenance('a'));
    const report = await collectGarbage(first, { roots: [] });
    assert.equal(report.removedResults.length, 1, 'the sweep itself still happens');
    assert.deepEqual(report.compaction, {
      compacted: false,
      reason: `the store is open in 1 other handle(s) (pid ${process.pid} thread 0 on ${hostname()}); close them to compact`,
    });
    assert.equal(second.has(keyOf('a')), false);
    await second.close();
    assert.equal((await first.compact()).compacted, true);
    await first.close();
  });

  it('does not compact while this handle owns a claim', async () => {
    const store = await openStore(freshDir());
    const claim = await store.claim(keyOf('busy'));
    assert.deepEqual(await store.compact(), { compacted: false, reason: 'this store handle owns 1 claim(s)' });
    if (claim.status === 'owner') claim.release();
    assert.equal((await store.compact()).compacted, true);
    await store.close();
  });

  it('ignores handle files of dead processes', async () => {
    const dir = freshDir();
    const store = await openStore(dir);
    const stale = { host: hostname(), pid: deadPid(), threadId: 0, since: new Date().toISOString() };
    fs.writeFileSync(path.join(dir, FILES.openers, 'stale.json'), JSON.stringify(stale));
    assert.equal((await store.compact()).compacted, true);
    assert.equal(fs.existsSync(path.join(dir, FILES.openers, 'stale.json')), false);
    await store.close();
  });

  it('waits for a live compaction before opening, and clears one left by a dead process', async () => {
    const dir = freshDir();
    await (await openStore(dir)).close();
    const host = hostname();
    const lock = path.join(dir, FILES.compactionLock);
    fs.writeFileSync(lock, JSON.stringify({ host, pid: process.pid, threadId: 0, since: '' }));
    await assert.rejects(openStore(dir, { openTimeoutMs: 200 }), StoreBusyError);
    fs.writeFileSync(lock, JSON.stringify({ host, pid: deadPid(), threadId: 0, since: '' }));
    fs.mkdirSync(path.join(dir, FILES.compactionTmp));
    const store = await openStore(dir, { openTimeoutMs: 200 });
    assert.equal(fs.existsSync(lock), false);
    assert.equal(fs.existsSync(path.join(dir, FILES.compactionTmp)), false);
    await store.close();
  });

  it('refuses a store written in another format version', async () => {
    const dir = freshDir();
    const env = open({ path: dir, maxDbs: 12 });
    const meta = env.openDB({ name: TABLES.meta, encoding: 'binary' });
    await meta.put(META_KEYS.format, Buffer.from(packRecord(META_KEYS.format, { version: 99, createdAt: '' })));
    await env.close();
    await assert.rejects(openStore(dir), (error: unknown) => {
      assert.ok(error instanceof StoreFormatError);
      assert.equal(error.message, `the cache at ${dir} has format version 99; this build reads version 2. Use the newer sparsegraph that wrote it, or a fresh cache directory.`);
      return true;
    });
    assert.deepEqual(fs.readdirSync(path.join(dir, FILES.openers)), [], 'a refused open leaves no handle file');
  });

  it('removes its handle file on close', async () => {
    const dir = freshDir();
    const store = await openStore(dir);
    assert.equal(fs.readdirSync(path.join(dir, FILES.openers)).length, 1);
    await store.close();
    assert.deepEqual(fs.readdirSync(path.join(dir, FILES.openers)), []);
  });
});
