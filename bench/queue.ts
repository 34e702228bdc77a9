/**
 * The queue's overhead: a 2,000-instance pipeline of nodes that do nothing (200 chains of 10), run by
 * a coordinator through BullMQ on a local redis-server with 2 `sparsegraph worker` processes, against
 * the same pipeline on the local pool of 2 worker threads. Needs redis-server on the PATH; without it
 * the figures are absent and the bench says why.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openStore } from '../cache/lmdb-store.js';
import type { CacheStore } from '../cache/store.js';
import type { Runner } from '../engine/exec/runner.js';
import { analyze, type ValidGraph } from '../engine/lang/analyze.js';
import { execute } from '../engine/exec/executor.js';
import { QueueRunner } from '../engine/exec/queue/coordinator.js';
import { WorkerPoolRunner } from '../engine/exec/worker-pool.js';
import { planGraph } from '../engine/plan.js';
import { KindRegistry } from '../engine/registry.js';
import { builtinKinds } from '../nodes/index.js';
import { instantChains, kinds } from './instant-kind.js';

const KINDS_MODULE = fileURLToPath(new URL('./instant-kind.js', import.meta.url));
const CLI = fileURLToPath(new URL('../cli/main.js', import.meta.url));

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Spawns `command` and resolves once its stdout shows `ready`. */
function started(command: string, args: readonly string[], ready: string): Promise<ChildProcess> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes(ready)) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`${command} exited with ${code} before it was ready`)));
  });
}

/** Tasks per second of the whole pipeline on a fresh cache in `cacheDir`, through the runner `runnerFor` makes. */
async function timed(graph: ValidGraph, cacheDir: string, runnerFor: (store: CacheStore) => Promise<Runner>): Promise<number> {
  const store = await openStore(cacheDir);
  const runner = await runnerFor(store);
  try {
    const t = performance.now();
    const report = await execute(graph, planGraph(graph, store), { store, runner });
    if (report.executed.length !== 2000) throw new Error(`the queue bench executed ${report.executed.length} of 2000 nodes; first failure: ${report.failed[0]?.id}: ${report.failed[0]?.error}`);
    return 2000 / ((performance.now() - t) / 1000);
  } finally {
    await runner.close();
    await store.close();
  }
}

/** `composer`: the module worker threads compose themselves from (the CLI's, handed in: bench sits below it). */
export async function benchQueue(composer: string): Promise<Record<string, number | string>> {
  if (spawnSync('redis-server', ['--version']).status !== 0) return { 'exec.queue.tasks_per_s': 'skipped: redis-server is not installed' };
  const dir = mkdtempSync(join(tmpdir(), 'sparsegraph-bench-queue-'));
  const children: ChildProcess[] = [];
  try {
    const file = join(dir, 'chains.yaml');
    writeFileSync(file, instantChains('bench-queue', 200, 10));
    const registry = new KindRegistry([...builtinKinds, ...kinds]);
    const result = analyze(file, { registry });
    if (!result.ok) throw new Error(`queue bench pipeline invalid: ${result.problems.map((p) => p.message).join('; ')}`);
    const local = await timed(result.graph, join(dir, 'local'), async () => new WorkerPoolRunner(2, { storeDir: join(dir, 'local'), composer, kindModules: [KINDS_MODULE] }));
    const port = await freePort();
    children.push(await started('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], 'Ready to accept connections'));
    const url = `redis://127.0.0.1:${port}`;
    for (const w of [1, 2]) children.push(await started(process.execPath, [CLI, 'worker', '--queue', url, '--cache', join(dir, `worker${w}`), '--kinds', KINDS_MODULE], 'waiting for tasks'));
    const queued = await timed(result.graph, join(dir, 'coordinator'), (store) => QueueRunner.open(url, store, 256));
    return { 'exec.queue.tasks_per_s': Math.round(queued), 'exec.local_pool.tasks_per_s': Math.round(local) };
  } finally {
    for (const c of children.reverse()) c.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}
