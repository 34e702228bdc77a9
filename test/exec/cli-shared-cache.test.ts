/**
 * Runs and gcs of separate `sparsegraph` processes sharing one cache: a long synchronous step is computed
 * once, and a gc never deletes what a run in progress has just stored.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { cli, tempDir, writePipeline, type Ran } from './helpers.js';

const blockingKinds = fileURLToPath(new URL('./blocking-kinds.js', import.meta.url));

/** The `<event> <pid>` lines a blocking kind appended to `log` (none when it never ran). */
function events(log: string): string[] {
  return existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : [];
}

/** Resolves once `file` exists; rejects if `running` ends first (the run failed before reaching it). */
async function fileAppears(file: string, running: Promise<Ran>): Promise<void> {
  let ended: Ran | undefined;
  void running.then((ran) => (ended = ran));
  while (!existsSync(file)) {
    if (ended) throw new Error(`the run ended (${ended.code}) before ${file} appeared: ${ended.stderr}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Starts two `run --jobs 0` processes at once on a pipeline whose one node blocks its thread (and so
 * the heartbeat of its claim) for `stepMs`, and checks that it was computed once: by one process,
 * while the other planned to run it, waited for the claim and then used the cached result.
 */
async function runTwiceAtOnce(stepMs: number, env: Record<string, string>): Promise<void> {
  const dir = tempDir('sg-shared-');
  const log = join(dir, 'step.log');
  const file = writePipeline(dir, 'p.yaml', `sparsegraph: 1
name: shared
nodes:
  step: { kind: test-block-sync, with: { ms: ${stepMs}, log: ${JSON.stringify(log)} } }
`);
  const args = ['run', file, '--jobs', '0', '--cache', join(dir, 'cache'), '--kinds', blockingKinds];
  const runs = await Promise.all([cli(args, { env }), cli(args, { env })]);
  for (const ran of runs) {
    assert.equal(ran.code, 0, ran.stderr);
    assert.match(ran.stderr, /^shared: 1 node instance\(s\), 1 to run$/m, 'both planned to run it: they overlapped');
  }
  const summaries = runs.map((r) => r.stderr.match(/^\d+ executed, \d+ cached, \d+ failed, \d+ skipped$/m)?.[0]).sort();
  assert.deepEqual(summaries, ['0 executed, 1 cached, 0 failed, 0 skipped', '1 executed, 0 cached, 0 failed, 0 skipped']);
  const ran = events(log);
  assert.equal(ran.length, 2, `computed exactly once: ${ran.join('; ')}`);
  const pid = ran[0]!.split(' ')[1];
  assert.deepEqual(ran, [`start ${pid}`, `end ${pid}`]);
}

describe('processes sharing one cache', () => {
  it('computes a long synchronous step (--jobs 0) once: the other process waits for its claim', { timeout: 120_000 }, async () => {
    // Stale after 1 s, blocked for 6 s: the holder's heartbeat is silent for six stale periods.
    await runTwiceAtOnce(6000, { SPARSEGRAPH_CLAIM_STALE_MS: '1000' });
  });

  it('computes a 40-second synchronous step once with the default stale time (30 s): the mark, not the heartbeat, keeps the claim', { timeout: 180_000 }, async () => {
    // No SPARSEGRAPH_CLAIM_STALE_MS: the configuration users run. The step blocks 10 s past the default
    // stale time, long enough that the waiter looks many times after the heartbeat went stale; a waiter
    // that judged by the heartbeat would compute the step a second time. 40 s of one of the suite's
    // slots, in the default run because this is the setting every user has.
    await runTwiceAtOnce(40_000, {});
  });

  it('refuses a stale time that is not a positive whole number of milliseconds', async () => {
    const dir = tempDir('sg-stale-');
    const file = writePipeline(dir, 'p.yaml', 'sparsegraph: 1\nname: x\nnodes:\n  a: { kind: test-constant }\n');
    const ran = await cli(['run', file, '--cache', join(dir, 'cache'), '--json'], { env: { SPARSEGRAPH_CLAIM_STALE_MS: '2s' } });
    assert.equal(ran.code, 1);
    assert.deepEqual(JSON.parse(ran.stdout), { ok: false, error: "SPARSEGRAPH_CLAIM_STALE_MS must be a positive whole number of milliseconds, got '2s'" });
  });

  it('keeps what a run in progress has just stored through a gc in another process; afterwards gc removes it', { timeout: 120_000 }, async () => {
    const dir = tempDir('sg-gc-live-');
    const cache = join(dir, 'cache');
    const firstLog = join(dir, 'first.log');
    const gateLog = join(dir, 'gate.log');
    const release = join(dir, 'release');
    // `third` needs `first` again after the gate: a first result deleted meanwhile would be recomputed.
    const file = writePipeline(dir, 'p.yaml', `sparsegraph: 1
name: fresh
nodes:
  first: { kind: test-block-sync, with: { ms: 0, v: 5, log: ${JSON.stringify(firstLog)} } }
  second: { kind: test-gate, inputs: { after: first }, with: { log: ${JSON.stringify(gateLog)}, release: ${JSON.stringify(release)} } }
  third: { kind: test-add, inputs: { a: second, b: first } }
`);
    const other = writePipeline(dir, 'other.yaml', `sparsegraph: 1
name: other
nodes:
  kept: { kind: test-constant, with: { v: 1 } }
`);
    const run = cli(['run', file, '--jobs', '1', '--cache', cache, '--kinds', blockingKinds, '--json']);
    const gc = ['gc', '--keep', other, '--cache', cache, '--kinds', blockingKinds, '--json'];
    let during: Ran;
    try {
      // The gate has started: `first` is stored, and no last run or kept pipeline names it.
      await fileAppears(gateLog, run);
      during = await cli(gc);
    } finally {
      // Released whatever happened, so that a failed assertion never leaves the run waiting.
      writeFileSync(release, '');
    }
    assert.equal(during.code, 0, during.stderr);
    const duringReport = JSON.parse(during.stdout) as { removedResults: string[]; compaction: { compacted: boolean; reason?: string } };
    assert.deepEqual(duringReport.removedResults, [], 'the run in progress keeps its fresh result');
    // The run (its main thread and its worker) has the store open.
    assert.match(duringReport.compaction.reason ?? '', /^the store is open in 2 other handle\(s\)/);
    const ran = await run;
    assert.equal(ran.code, 0, ran.stderr);
    assert.deepEqual(JSON.parse(ran.stdout), { ok: true, executed: ['first', 'second', 'third'], cached: [], failed: [], skipped: [] }, 'nothing recomputed');
    assert.equal(events(firstLog).length, 2, 'first ran once');
    const again = await cli(['run', file, '--jobs', '0', '--cache', cache, '--kinds', blockingKinds, '--json']);
    assert.deepEqual(JSON.parse(again.stdout), { ok: true, executed: [], cached: ['first', 'second', 'third'], failed: [], skipped: [] });
    // The run has ended: gc is as before, and keeps only what the kept pipeline or a pin needs.
    const after = await cli(gc);
    assert.equal(after.code, 0, after.stderr);
    const afterReport = JSON.parse(after.stdout) as { removedResults: string[]; compaction: { compacted: boolean } };
    assert.equal(afterReport.removedResults.length, 3);
    assert.equal(afterReport.compaction.compacted, true);
  });
});
