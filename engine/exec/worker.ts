/**
 * A worker thread of the local pool: one tensor backend, one store handle, one task at a time.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openStore } from '../../cache/lmdb-store.js';
import { RedisProgress, withRedisProgress } from './queue/redis-progress.js';
import { runTask } from './run-task.js';
import type { Task } from './runner.js';
import type { Composer, FromWorker, ToWorker, WorkerSetup } from './worker-protocol.js';

const setup = workerData as WorkerSetup;
const port = parentPort!;
const post = (message: FromWorker) => port.postMessage(message);

const composer = import(setup.composer) as Promise<Composer>;
const progress = setup.progressRedis ? new RedisProgress(setup.progressRedis) : undefined;
const store = openStore(setup.storeDir).then((s) => (progress ? withRedisProgress(s, progress) : s));
const ready = Promise.all([store, composer.then((c) => c.loadKinds(setup.kindModules)), composer]);
/** The running task's controller, set as soon as its message arrives, so an abort sent while this thread is still starting is not lost. */
let current: AbortController | undefined;

port.on('message', (message: ToWorker) => {
  if (message.type === 'abort') {
    current?.abort();
    return;
  }
  const controller = new AbortController();
  current = controller;
  void execute(message.task, controller);
});

async function execute(task: Task, controller: AbortController): Promise<void> {
  const [store, registry, { selectBackend }] = await ready;
  const tensors = { select: selectBackend, ...(setup.backend ? { requested: setup.backend } : {}) };
  const outcome = await runTask(task, { store, registry, tensors }, {
    signal: controller.signal,
    onProgress: (event) => post({ type: 'progress', event }),
  });
  if (current === controller) current = undefined;
  post({ type: 'outcome', outcome });
}
