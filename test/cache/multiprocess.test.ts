/** Several processes and threads on one LMDB cache: claims, live and dead owners, runs and gc, kill -9 atomicity. */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import type { NodeKey } from '../../base/brand.js';
import { collectGarbage } from '../../cache/gc.js';
import { currentThread } from '../../cache/liveness.js';
import { openStore } from '../../cache/lmdb-store.js';
import type { CacheStore } from '../../cache/store.js';
import { atomicityOutputs, ATOMICITY_KEYS } from './fixtures/atomicity.js';
import { keyOf, provenance, rng } from './fixtures/data.js';
import { tempDir } from './fixtures/lmdb-harness.js';
import { watchedSignal } from './fixtures/watched-claim.js';

const CHILD = fileURLToPath(new URL('./fixtures/child.js', import.meta.url));
const dirs: string[] = [];
/** Threads are told apart from their process only where /proc says which threads exist. */
const linux = currentThread() !== undefined;
after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

/** The keys the store counts as claimed by a live owner right now (what gc reads). */
async function liveClaims(store: CacheStore): Promise<readonly NodeKey[]> {
  let live: readonly NodeKey[] = ['not looked at' as NodeKey];
  await store.sweep((view) => ((live = view.liveClaims), { removeResults: [], removeProgress: [] }), { dryRun: true });
  return live;
}

function freshDir(): string {
  const dir = tempDir('sg-mp-');
  dirs.push(dir);
  return dir;
}

interface Child {
  readonly process: ChildProcess;
  /** Resolves with the first stdout line equal to (or, with a function, accepted by) `expected`. */
  line(expected?: (line: string) => boolean): Promise<string>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

function child(...args: string[]): Child {
  const proc = spawn(process.execPath, [CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let stderr = '';
  const waiting: { accept: (line: string) => boolean; resolve: (line: string) => void }[] = [];
  proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    let nl: number;
    while ((nl = out.indexOf('\n')) >= 0) {
      const line = out.slice(0, nl);
      out = out.slice(nl + 1);
      const i = waiting.findIndex((w) => w.accept(line));
      if (i >= 0) waiting.splice(i, 1)[0]!.resolve(line);
    }
  });
  proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) =>
    proc.on('exit', (code, signal) => resolve({ code, signal, stderr })),
  );
  return {
    process: proc,
    line: (accept = () => true) =>
      new Promise((resolve, reject) => {
        waiting.push({ accept, resolve });
        void exit.then((e) => reject(new Error(`child exited (${e.code ?? e.signal}) before the expected line: ${e.stderr}`)));
      }),
    exit,
  };
}

describe('several processes on one LMDB cache', () => {
  it('lets exactly one of two processes compute a key; the other waits and gets its result', async () => {
    const dir = freshDir();
    const key = keyOf('two-processes');
    const a = child('claim', dir, key, '400');
    const b = child('claim', dir, key, '400');
    const roles = (await Promise.all([a.line(), b.line()])).map((l) => (JSON.parse(l) as { role: string }).role).sort();
    assert.deepEqual(roles, ['computed', 'waited']);
    assert.deepEqual((await a.exit).code, 0);
    assert.deepEqual((await b.exit).code, 0);
    const store = await openStore(dir);
    assert.equal(store.has(key), true);
    await store.close();
  });

  it('lets exactly one of three threads of one process compute a key', async () => {
    const dir = freshDir();
    const key = keyOf('three-threads');
    const script = new URL('./fixtures/thread-claimer.js', import.meta.url);
    const roles = await Promise.all(
      [0, 1, 2].map(
        () =>
          new Promise<string>((resolve, reject) => {
            const worker = new Worker(script, { workerData: { dir, key, computeMs: 300 } });
            worker.once('message', resolve);
            worker.once('error', reject);
          }),
      ),
    );
    assert.deepEqual(roles.sort(), ['computed', 'waited', 'waited']);
  });

  it('takes over the claim of a process that was killed', async () => {
    const dir = freshDir();
    const key = keyOf('dead-owner');
    const owner = child('claim-and-hang', dir, key);
    assert.equal(await owner.line(), 'claimed');
    // Default heartbeat settings: only the dead pid can explain a prompt takeover.
    const store = await openStore(dir, { claimPollMs: 20 });
    const watch = watchedSignal();
    const blocked = store.claim(key, { signal: watch.signal });
    await watch.afterLooks(5);
    watch.abort(new Error('owner alive'));
    await assert.rejects(blocked, /owner alive/, 'a live owner keeps its claim');
    assert.deepEqual(await liveClaims(store), [key]);
    owner.process.kill('SIGKILL');
    assert.equal((await owner.exit).signal, 'SIGKILL');
    // Its heartbeat is not 30 s old yet: only the dead owner's mark (or pid) can free the claim now, and
    // it must: the store no longer counts it live, and the next claimant owns the key at its first look.
    assert.deepEqual(await liveClaims(store), []);
    const taker = watchedSignal();
    const claim = await store.claim(key, { signal: taker.signal });
    assert.equal(claim.status, 'owner');
    assert.equal(taker.looks, 0, 'taken over without waiting');
    await store.put(key, { v: 1 }, provenance('n'));
    await store.close();
  });

  it('keeps the claim of a process whose only thread is blocked far past the stale time', { skip: !linux }, async () => {
    const dir = freshDir();
    const key = keyOf('blocked-owner');
    const staleMs = 200;
    const owner = child('claim-and-block', dir, key, String(8 * staleMs));
    assert.equal(await owner.line(), 'claimed');
    const computed = owner.line();
    const store = await openStore(dir, { claimPollMs: 20, claimStaleMs: staleMs });
    // The owner's heartbeat cannot run for 8 stale periods; its thread lives, so the claim stays its own.
    assert.deepEqual(await store.claim(key), { status: 'done' });
    assert.equal(await computed, 'computed');
    assert.equal((await owner.exit).code, 0);
    await store.close();
  });

  it('keeps the claim of a worker thread blocked synchronously; another thread waits for its result', { skip: !linux }, async () => {
    const dir = freshDir();
    const key = keyOf('blocked-thread');
    const staleMs = 200;
    const worker = new Worker(new URL('./fixtures/thread-claimer.js', import.meta.url), { workerData: { dir, key, computeMs: 0, blockMs: 8 * staleMs } });
    const messages: string[] = [];
    const computed = new Promise<void>((resolve, reject) => {
      worker.on('message', (m: string) => (messages.push(m), m === 'computed' && resolve()));
      worker.once('error', reject);
    });
    await new Promise<void>((resolve) => worker.once('message', () => resolve()));
    const store = await openStore(dir, { claimPollMs: 20, claimStaleMs: staleMs });
    assert.deepEqual(await store.claim(key), { status: 'done' });
    await computed;
    assert.deepEqual(messages, ['claimed', 'computed']);
    await store.close();
  });

  it('takes over at once the claim of a worker thread that died while its process lives', { skip: !linux }, async () => {
    const dir = freshDir();
    const key = keyOf('dead-thread');
    const worker = new Worker(new URL('./fixtures/thread-claimer.js', import.meta.url), { workerData: { dir, key, computeMs: 0, hang: true } });
    assert.equal(await new Promise((resolve) => worker.once('message', resolve)), 'claimed');
    // Terminated without closing its store: nothing releases the claim; its heartbeat stops with it.
    await worker.terminate();
    // Default stale time (30 s): only the dead thread's mark can explain a takeover at the first look.
    const store = await openStore(dir, { claimPollMs: 20 });
    assert.deepEqual(await liveClaims(store), []);
    const taker = watchedSignal();
    const claim = await store.claim(key, { signal: taker.signal });
    assert.equal(claim.status, 'owner');
    assert.equal(taker.looks, 0, 'taken over without waiting');
    if (claim.status === 'owner') claim.release();
    await store.close();
  });

  it('keeps the fresh results of a run in progress through gc in another process, until its holder dies', async () => {
    const dir = freshDir();
    const key = keyOf('fresh-of-a-run');
    const run = child('run-and-hang', dir, key);
    assert.equal(await run.line(), 'stored');
    const store = await openStore(dir);
    const during = await collectGarbage(store, { roots: [], compact: false });
    assert.deepEqual(during.removedResults, [], 'no kept pipeline names it, but its run is in progress');
    run.process.kill('SIGKILL');
    assert.equal((await run.exit).signal, 'SIGKILL');
    const afterwards = await collectGarbage(store, { roots: [], compact: false });
    assert.deepEqual(afterwards.removedResults, [key], 'a dead run protects nothing');
    await store.close();
  });

  it('stays valid when a writer is killed with SIGKILL at random moments', async () => {
    const dir = freshDir();
    const random = rng(42);
    const rounds = 8;
    for (let round = 0; round < rounds; round++) {
      const writer = child('put-loop', dir);
      assert.equal(await writer.line(), 'ready');
      await new Promise((r) => setTimeout(r, 50 + random() * 500));
      writer.process.kill('SIGKILL');
      assert.equal((await writer.exit).signal, 'SIGKILL');
    }
    const store = await openStore(dir);
    const keys = store.keys();
    assert.ok(keys.length > 0, 'the writer stored something');
    // Every stored result is one the writer wrote, and loads (verifying every blob's sha256) exactly as
    // the round its record names wrote it: none is half of one round and half of another.
    const written = new Map(Array.from({ length: ATOMICITY_KEYS }, (_, i) => [keyOf(`atomic-${i}`), i]));
    for (const key of keys) {
      const i = written.get(key);
      assert.ok(i !== undefined, `${key} is not a key the writer writes`);
      const round = store.record(key)!.provenance.seed!;
      assert.deepStrictEqual(await store.load(key), atomicityOutputs(i, round));
    }
    // The same for saved progress: at least one state survived, each whole.
    let states = 0;
    for (let i = 0; i < ATOMICITY_KEYS; i += 3) {
      const state = await store.loadProgress(keyOf(`progress-${i}`));
      if (state === undefined) continue;
      states++;
      assert.deepStrictEqual(state, atomicityOutputs(i, state['round'] as number));
    }
    assert.ok(states > 0, 'the writer saved progress');
    // No blob is left unreferenced...
    const sweep = await store.sweep(() => ({ removeResults: [], removeProgress: [] }), { dryRun: true });
    assert.equal(sweep.removedBlobs, 0);
    // ...and no reference count drifted: removing everything through the API frees every blob.
    for (const key of store.keys()) await store.remove(key);
    for (let i = 0; i < ATOMICITY_KEYS; i += 3) await store.clearProgress(keyOf(`progress-${i}`));
    assert.deepEqual(store.stats(), { ...store.stats(), results: 0, progress: 0, blobs: 0, blobBytes: 0 });
    await store.close();
  });
});
