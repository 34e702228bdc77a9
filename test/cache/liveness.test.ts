/** Whether the holder of a claim or run still holds it: by its thread on this host, else by heartbeat. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import type { HolderFile, HolderRecord, ThreadMark } from '../../cache/layout.js';
import { currentThread, defaultClaimStaleMs, HOST, holderAlive, holderRecord, stillHolds, thisHolder, threadVerdict } from '../../cache/liveness.js';

const staleMs = 1000;
const now = Date.now();
const linux = currentThread() !== undefined;

/** A holder record of this thread whose last heartbeat was `ageMs` ago, with `mark` in place of ours. */
function holder(ageMs: number, changes: Partial<HolderRecord> = {}): HolderRecord {
  return { ...holderRecord('test-owner', now - ageMs), ...changes };
}

/** The pid of a process that has exited (and been reaped). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid!;
}

/** The thread mark and opener holder of a worker thread, taken inside it; it lives until told to stop. */
function markOfWorker(): Promise<{ mark: ThreadMark; holder: HolderFile; worker: Worker }> {
  const code = `
    const { parentPort } = require('node:worker_threads');
    import(${JSON.stringify(new URL('../../cache/liveness.js', import.meta.url).href)})
      .then((m) => parentPort.postMessage({ mark: m.currentThread(), holder: m.thisHolder() }));
    parentPort.on('message', () => process.exit(0));`;
  const worker = new Worker(code, { eval: true });
  return new Promise((resolve, reject) => {
    worker.once('message', (m: { mark: ThreadMark; holder: HolderFile }) => resolve({ ...m, worker }));
    worker.once('error', reject);
  });
}

describe('claim and run liveness', () => {
  it('marks this thread with its pid, OS thread id and start time', { skip: !linux && 'no /proc here' }, () => {
    const mark = currentThread()!;
    assert.equal(mark.pid, process.pid);
    assert.equal(mark.tid, process.pid, 'the main thread is the thread group leader');
    assert.ok(Number.isSafeInteger(mark.start) && mark.start > 0);
    assert.equal(threadVerdict(mark), 'alive');
  });

  it('keeps a live thread\'s claim however stale its heartbeat, on this host', { skip: !linux && 'no /proc here' }, () => {
    assert.equal(stillHolds(holder(0), staleMs, now), true);
    assert.equal(stillHolds(holder(60 * staleMs), staleMs, now), true, 'a blocked event loop is not a dead holder');
  });

  it('frees at once the claim of a thread that is gone, or whose pid or tid was reused', { skip: !linux && 'no /proc here' }, async () => {
    const mark = currentThread()!;
    const tasks = new Set(fs.readdirSync('/proc/self/task').map(Number));
    let tid = 2;
    while (tasks.has(tid)) tid++;
    assert.equal(stillHolds(holder(0, { thread: { ...mark, tid } }), staleMs, now), false, 'no such thread in this process');
    assert.equal(stillHolds(holder(0, { thread: { ...mark, start: mark.start - 1 } }), staleMs, now), false, 'same tid, another start');
    const pid = await deadPid();
    assert.equal(stillHolds(holder(0, { pid, thread: { ...mark, pid, tid: pid } }), staleMs, now), false, 'process gone');
  });

  it('tells a worker thread apart from its process: alive while it runs, dead once it exits', { skip: !linux && 'no /proc here' }, async () => {
    const { mark, holder, worker } = await markOfWorker();
    assert.equal(mark.pid, process.pid);
    assert.notEqual(mark.tid, process.pid);
    assert.equal(threadVerdict(mark), 'alive');
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    worker.postMessage('stop');
    await exited;
    assert.equal(threadVerdict(mark), 'dead', 'the process lives on, the thread does not');
    // An open store handle is the process's (its mapping outlives the thread): its file stays live.
    assert.deepEqual(holder.process, thisHolder().process);
    assert.equal(holderAlive(holder), true);
  });

  it('judges an opener or compaction lock by its process: a reused pid is dead, another scope alive', { skip: !linux && 'no /proc here' }, async () => {
    const self = thisHolder();
    assert.equal(self.process?.tid, process.pid);
    assert.equal(holderAlive(self), true);
    assert.equal(holderAlive({ ...self, process: { ...self.process!, start: self.process!.start + 1 } }), false, 'same pid, another process');
    const pid = await deadPid();
    assert.equal(holderAlive({ ...self, pid, process: { ...self.process!, pid, tid: pid } }), false);
    assert.equal(holderAlive({ ...self, process: { ...self.process!, scope: 'another-boot/pid:[1]' } }), true, 'cannot be checked: alive');
    const { process: _, ...unmarked } = self;
    assert.equal(holderAlive({ ...unmarked, pid }), false, 'no mark: the pid on this host decides');
    assert.equal(holderAlive({ ...unmarked, pid, host: `${HOST}-elsewhere` }), true);
  });

  it('judges a holder it cannot check by its heartbeat: another host, another boot or pid namespace', () => {
    const elsewhere = { host: `${HOST}-elsewhere` };
    const { thread: _, ...unmarked } = holder(0);
    assert.equal(stillHolds({ ...unmarked, ...elsewhere }, staleMs, now), true);
    assert.equal(stillHolds({ ...unmarked, ...elsewhere, heartbeatAt: now - staleMs - 1 }, staleMs, now), false);
    // A mark from another scope means nothing here, not even on a host of the same name.
    const foreign: ThreadMark = { scope: 'another-boot/pid:[1]', pid: process.pid, tid: process.pid, start: 1 };
    assert.equal(threadVerdict(foreign), 'unknown');
    assert.equal(stillHolds(holder(0, { thread: foreign }), staleMs, now), true);
    assert.equal(stillHolds(holder(staleMs + 1, { thread: foreign }), staleMs, now), false);
  });

  it('frees at once an unmarked claim on this host whose pid is gone; else waits for its heartbeat', async () => {
    const { thread: _, ...unmarked } = holder(0);
    assert.equal(stillHolds({ ...unmarked, pid: await deadPid() }, staleMs, now), false);
    assert.equal(stillHolds(unmarked, staleMs, now), true);
    assert.equal(stillHolds({ ...unmarked, heartbeatAt: now - staleMs - 1 }, staleMs, now), false, 'no mark: a stale heartbeat decides');
  });

  it('reads the stale time from SPARSEGRAPH_CLAIM_STALE_MS and refuses a bad one', () => {
    const saved = process.env['SPARSEGRAPH_CLAIM_STALE_MS'];
    try {
      delete process.env['SPARSEGRAPH_CLAIM_STALE_MS'];
      assert.equal(defaultClaimStaleMs(), 30_000);
      process.env['SPARSEGRAPH_CLAIM_STALE_MS'] = '1500';
      assert.equal(defaultClaimStaleMs(), 1500);
      for (const bad of ['0', '-5', '1.5', 'soon']) {
        process.env['SPARSEGRAPH_CLAIM_STALE_MS'] = bad;
        assert.throws(() => defaultClaimStaleMs(), {
          message: `SPARSEGRAPH_CLAIM_STALE_MS must be a positive whole number of milliseconds, got '${bad}'`,
          code: 'EINVAL',
        });
      }
    } finally {
      if (saved === undefined) delete process.env['SPARSEGRAPH_CLAIM_STALE_MS'];
      else process.env['SPARSEGRAPH_CLAIM_STALE_MS'] = saved;
    }
  });
});
