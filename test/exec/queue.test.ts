/**
 * Many machines through BullMQ on Redis: a coordinator (`run --queue`) that computes nothing and
 * workers (`sparsegraph worker`) in separate processes, against a redis-server the test starts. The end
 * to end test kills the worker running `pruned` mid-task; the run still succeeds, a second run executes
 * nothing, and every landscape equals a local run's bit for bit.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { openStore } from '../../cache/lmdb-store.js';
import { MemoryStore } from '../../cache/memory-store.js';
import { QueueRunner } from '../../engine/exec/queue/coordinator.js';
import { parseJobData, PROTOCOL_VERSION, redactedUrl, redisKeys, redisOptions } from '../../engine/exec/queue/protocol.js';
import { Redis } from 'ioredis';
import type { NodeKey } from '../../base/brand.js';
import { builtinKinds } from '../../nodes/index.js';
import { cli, cliPath, graphOf, kindsModule, tempDir } from './helpers.js';
import { freePort, redisInstalled, startRedis, type RedisServer } from './redis-server.js';

const skip = redisInstalled ? false : 'redis-server is not installed (apt-get install redis-server; .ci/run installs it)';
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const servers: RedisServer[] = [];
const workers: ChildProcess[] = [];
after(async () => {
  for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
  await Promise.all(servers.map((s) => s.stop()));
});

test('Redis URLs: password, database and TLS are read from the URL; anything else is refused by name', () => {
  assert.deepEqual(redisOptions('redis://:s%40cret@10.0.0.5:6380/2'), { host: '10.0.0.5', port: 6380, password: 's@cret', db: 2, maxRetriesPerRequest: null });
  assert.deepEqual(redisOptions('rediss://user:pw@redis.example.org'), { host: 'redis.example.org', port: 6379, username: 'user', password: 'pw', tls: {}, maxRetriesPerRequest: null });
  assert.throws(() => redisOptions('http://localhost:6379'), /expected a redis:\/\/ or rediss:\/\/ URL, got http:\/\//);
  assert.throws(() => redisOptions('redis://h:1/queue'), /the path must be a database number, got '\/queue'/);
  assert.equal(redactedUrl('redis://:hunter2@h:1'), 'redis://:***@h:1');
});

test('a job of another protocol, without a key, or naming inputs outside the shipped bundles is refused before anything runs', () => {
  const key = 'a'.repeat(64);
  const task = { key, id: 'n', kind: 'init', version: 1, params: {}, inputs: {}, pipeline: 'p.yaml' };
  assert.equal(parseJobData({ protocol: PROTOCOL_VERSION, task, inputs: {} }).ok, true);
  assert.deepEqual(parseJobData({ protocol: 99, task, inputs: {} }), { ok: false, reason: `job speaks protocol 99, this worker ${PROTOCOL_VERSION}` });
  assert.deepEqual(parseJobData({ protocol: PROTOCOL_VERSION, task: { ...task, key: '../etc' }, inputs: {} }), { ok: false, reason: 'task key is not a 64-digit hex key' });
  assert.deepEqual(parseJobData({ protocol: PROTOCOL_VERSION, task, inputs: { [key]: 'some:other:key' } }), { ok: false, reason: `job input ${key.slice(0, 16)} is not a shipped bundle` });
});

interface Worker {
  readonly child: ChildProcess;
  output: string;
  /** Resolves once the output matches. */
  waitFor(pattern: RegExp): Promise<void>;
}

function startWorker(url: string, extra: readonly string[] = []): Worker {
  const child = spawn(process.execPath, [cliPath, 'worker', '--queue', url, '--cache', tempDir('sg-worker-'), '--lock-ms', '2000', ...extra], {
    env: { ...process.env, SPARSEGRAPH_KINDS: kindsModule, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  workers.push(child);
  const w: Worker = {
    child,
    output: '',
    waitFor: (pattern) =>
      new Promise((resolve, reject) => {
        const check = () => {
          if (pattern.test(w.output)) {
            child.stdout!.off('data', check);
            resolve();
          }
        };
        child.stdout!.on('data', check);
        child.once('exit', () => reject(new Error(`worker exited before ${pattern}: ${w.output}`)));
        check();
      }),
  };
  child.stdout!.on('data', (d: Buffer) => (w.output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (w.output += d.toString()));
  return w;
}

test('a worker refuses a task of another kind version; the coordinator reports it as the node failing', { skip }, async () => {
  const redis = await startRedis();
  servers.push(redis);
  const worker = startWorker(redis.url);
  await worker.waitFor(/waiting for tasks/);
  const store = new MemoryStore();
  const runner = await QueueRunner.open(redis.url, store, 4);
  try {
    const task = { key: 'b'.repeat(64) as NodeKey, id: 'init', kind: 'init', version: 999, params: { arch: 'lenet300' }, inputs: {}, pipeline: 'p.yaml' };
    const outcome = await runner.run(task, { signal: new AbortController().signal, onProgress: () => {} });
    const here = builtinKinds.find((k) => k.kind === 'init')!.version;
    assert.deepEqual(outcome, { status: 'failed', error: `refused init: node kind 'init' is version ${here} on this worker, the job wants version 999` });
    assert.equal(store.has(task.key), false);
  } finally {
    await runner.close();
  }
  worker.child.kill('SIGTERM');
  const code = await new Promise((resolve) => worker.child.once('exit', resolve));
  assert.equal(code, 0);
  assert.match(worker.output, /SIGTERM: finishing the running task\(s\), then exiting/);
});

const SMALL = ['--set', 'epochs=2', '--set', "dataset={name: mnist, trainSize: 12000}", '--set', 'prune_begin=20', '--set', 'prune_end=150', '--set', 'prune_every=10', '--set', 'points=5'];

async function landscapes(file: string, cache: string): Promise<Record<string, unknown>> {
  const graph = graphOf(file, SMALL.filter((_, i) => i % 2 === 1));
  const store = await openStore(cache);
  try {
    const out: Record<string, unknown> = {};
    for (const i of graph.instances) {
      if (!i.kind.outputs['landscape']) continue;
      out[i.id] = (await store.load(i.key))['landscape'];
    }
    return out;
  } finally {
    await store.close();
  }
}

test('two workers run the quickstart for a coordinator; the worker running pruned is killed mid-task; nothing is lost', { skip }, async () => {
  const redis = await startRedis({ password: 'pw with spaces' });
  servers.push(redis);
  const dir = tempDir('sg-queue-');
  const file = join(dir, 'quickstart.yaml');
  copyFileSync(join(repoRoot, 'pipelines', 'quickstart.yaml'), file);
  // wasm: slow enough per step that the kill lands while pruned trains, on any machine.
  const pool = [startWorker(redis.url, ['--backend', 'wasm']), startWorker(redis.url, ['--backend', 'wasm'])];
  await Promise.all(pool.map((w) => w.waitFor(/waiting for tasks/)));
  const cache = join(dir, 'cache');
  // Kill the worker running pruned once it has saved progress (its first epoch), which Redis then holds.
  const prunedKey = graphOf(file, SMALL.filter((_, i) => i % 2 === 1)).byId.get('pruned')!.key;
  const client = new Redis(redisOptions(redis.url));
  let killed: Worker | undefined;
  let polling = false;
  const watch = setInterval(() => {
    if (killed || polling) return;
    polling = true;
    void client.exists(redisKeys.progress(prunedKey)).then((saved) => {
      polling = false;
      if (!saved || killed) return;
      killed = pool.find((w) => /start pruned \(prune/.test(w.output) && !/done pruned in/.test(w.output));
      killed?.child.kill('SIGKILL');
    });
  }, 20);
  const ran = await cli(['run', file, ...SMALL, '--cache', cache, '--queue', redis.url, '--json']);
  clearInterval(watch);
  // The survivor resumed from that state and cleared it once the result was stored.
  assert.equal(await client.exists(redisKeys.progress(prunedKey)), 0);
  await client.quit();
  assert.equal(ran.code, 0, ran.stderr);
  assert.ok(killed, 'a worker started pruned and was killed');
  const report = JSON.parse(ran.stdout) as { executed: string[]; failed: unknown[] };
  assert.deepEqual(report.failed, []);
  assert.ok(report.executed.includes('pruned'));
  // The survivor took the job over and finished it, once.
  const survivor = pool.find((w) => w !== killed)!;
  assert.match(survivor.output, /start pruned \(prune/);
  assert.equal(survivor.output.match(/done pruned in/g)?.length, 1);
  // Everything is cached: a second coordinator run executes nothing.
  const again = await cli(['run', file, ...SMALL, '--cache', cache, '--queue', redis.url, '--json']);
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual((JSON.parse(again.stdout) as { executed: string[] }).executed, []);
  // The same pipeline computed here, without the queue: the landscapes are the same bits.
  const local = await cli(['run', file, ...SMALL, '--cache', join(dir, 'local'), '--backend', 'wasm', '--json']);
  assert.equal(local.code, 0, local.stderr);
  const [queued, here] = [await landscapes(file, cache), await landscapes(file, join(dir, 'local'))];
  assert.ok(Object.keys(here).length >= 3);
  assert.deepEqual(queued, here);
});

test('a coordinator killed mid-run and started again finds the jobs it queued: no node runs twice', { skip }, async () => {
  const redis = await startRedis();
  servers.push(redis);
  const dir = tempDir('sg-queue-restart-');
  const file = join(dir, 'quickstart.yaml');
  copyFileSync(join(repoRoot, 'pipelines', 'quickstart.yaml'), file);
  const worker = startWorker(redis.url, ['--backend', 'wasm']);
  await worker.waitFor(/waiting for tasks/);
  const cache = join(dir, 'cache');
  const first = await cli(['run', file, ...SMALL, '--cache', cache, '--queue', redis.url], { killOn: { output: /start\s+pruned\b/ } });
  assert.equal(first.signal, 'SIGKILL');
  const second = await cli(['run', file, ...SMALL, '--cache', cache, '--queue', redis.url]);
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stderr, /^\d+ executed, \d+ cached, 0 failed, 0 skipped$/m);
  // Progress of a node on the worker reaches the coordinator's terminal as a local run's does.
  assert.match(second.stderr, /^\s*scratch: step \d+\/\d+, epoch \d+, loss \d/m);
  for (const id of ['init', 'pruned', 'scratch', 'lottery']) assert.equal(worker.output.match(new RegExp(`start ${id} \\(`, 'g'))?.length, 1, `${id} started once:\n${worker.output}`);
});

test('Redis restarting mid-run (its data gone) costs a resubmission, not the run', { skip }, async () => {
  const redis = await startRedis();
  servers.push(redis);
  const dir = tempDir('sg-queue-redis-');
  const file = join(dir, 'quickstart.yaml');
  copyFileSync(join(repoRoot, 'pipelines', 'quickstart.yaml'), file);
  const worker = startWorker(redis.url, ['--backend', 'wasm']);
  await worker.waitFor(/waiting for tasks/);
  const restarted = worker.waitFor(/start pruned \(/).then(() => redis.restart());
  const ran = await cli(['run', file, ...SMALL, '--cache', join(dir, 'cache'), '--queue', redis.url, '--json']);
  await restarted;
  assert.equal(ran.code, 0, ran.stderr);
  const report = JSON.parse(ran.stdout) as { executed: string[]; failed: unknown[] };
  assert.deepEqual(report.failed, []);
  assert.ok(report.executed.includes('pruned') && report.executed.includes('curve[subspace=dense]'), report.executed.join(', '));
  // The job Redis lost was queued again and taken again; the worker sent the result it had computed.
  assert.ok((worker.output.match(/start pruned \(/g)?.length ?? 0) >= 2, worker.output);
});

test('a coordinator whose Redis does not answer says so and exits 2 without running anything', { skip }, async () => {
  const dir = tempDir('sg-queue-down-');
  const file = join(dir, 'quickstart.yaml');
  copyFileSync(join(repoRoot, 'pipelines', 'quickstart.yaml'), file);
  const port = await freePort();
  const ran = await cli(['run', file, '--cache', join(dir, 'cache'), '--queue', `redis://:secret@127.0.0.1:${port}`]);
  assert.equal(ran.code, 2);
  assert.match(ran.stderr, new RegExp(`cannot reach the queue at redis://:\\*\\*\\*@127\\.0\\.0\\.1:${port}: `));
  assert.doesNotMatch(ran.stderr + ran.stdout, /secret/);
});
