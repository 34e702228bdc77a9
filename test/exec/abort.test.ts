/** An abort, however early it comes, leaves no result: in runTask and in the worker pool. */
import assert from 'node:assert/strict';
import { composerUrl } from '../../cli/compose.js';
import { join } from 'node:path';
import { test } from 'node:test';
import { Type } from '@sinclair/typebox';
import { MemoryStore } from '../../cache/memory-store.js';
import type { NodeKey } from '../../base/brand.js';
import { runTask } from '../../engine/exec/run-task.js';
import type { Task } from '../../engine/exec/runner.js';
import { WorkerPoolRunner } from '../../engine/exec/worker-pool.js';
import { defineNode } from '../../engine/node-def.js';
import { KindRegistry } from '../../engine/registry.js';
import { kindsModule, tempDir } from './helpers.js';

const taskOf = (kind: string, key = 'a'.repeat(64)): Task => ({
  key: key as NodeKey,
  id: 'x',
  kind,
  version: 1,
  params: { v: 1 },
  inputs: {},
  pipeline: 'p.yaml',
});

const aborted = () => {
  const controller = new AbortController();
  controller.abort();
  return controller.signal;
};

test('runTask with a signal aborted before it starts never calls run and stores nothing', async () => {
  let calls = 0;
  const counted = defineNode({
    kind: 'test-counted',
    version: 1,
    description: 'Counts its runs.',
    params: Type.Object({ v: Type.Number() }),
    inputs: {},
    outputs: { out: { type: 'Metrics', doc: 'v' } },
    run: async ({ params }) => {
      calls++;
      return { out: { values: { v: params.v } } };
    },
  });
  const store = new MemoryStore();
  const task = taskOf('test-counted');
  const outcome = await runTask(task, { store, registry: new KindRegistry([counted]) }, { signal: aborted(), onProgress: () => {} });
  assert.deepEqual(outcome, { status: 'aborted' });
  assert.equal(calls, 0);
  assert.equal(store.has(task.key), false);
});

test('a kind that ignores an abort and returns normally leaves no result', async () => {
  const controller = new AbortController();
  const deaf = defineNode({
    kind: 'test-deaf',
    version: 1,
    description: 'Never looks at its signal.',
    params: Type.Object({ v: Type.Number() }),
    inputs: {},
    outputs: { out: { type: 'Metrics', doc: 'v' } },
    run: async ({ params }) => {
      controller.abort();
      return { out: { values: { v: params.v } } };
    },
  });
  const store = new MemoryStore();
  const task = taskOf('test-deaf');
  const outcome = await runTask(task, { store, registry: new KindRegistry([deaf]) }, { signal: controller.signal, onProgress: () => {} });
  assert.deepEqual(outcome, { status: 'aborted' });
  assert.equal(store.has(task.key), false);
});

test('the worker pool answers an already aborted signal as aborted, without running the task', async () => {
  const pool = new WorkerPoolRunner(1, { storeDir: join(tempDir(), 'cache'), composer: composerUrl, kindModules: [kindsModule] });
  try {
    assert.deepEqual(await pool.run(taskOf('test-constant'), { signal: aborted(), onProgress: () => {} }), { status: 'aborted' });
  } finally {
    await pool.close();
  }
});
