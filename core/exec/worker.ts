/**
 * A worker thread of the local pool: one tensor backend, one store handle, one task at a time.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openStore } from '../../cache/lmdb-store.js';
import { loadRegistry } from './kinds.js';
import { runTask } from './run-task.js';
import type { Task } from './runner.js';
import type { FromWorker, ToWorker, WorkerSetup } from './worker-protocol.js';

const setup = workerData as WorkerSetup;
const port = parentPort!;
const post = (message: FromWorker) => port.postMessage(message);

const ready = Promise.all([openStore(setup.storeDir), loadRegistry(setup.kindModules)]);
let current: AbortController | undefined;

port.on('message', (message: ToWorker) => {
  if (message.type === 'abort') {
    current?.abort();
    return;
  }
  void execute(message.task);
});

async function execute(task: Task): Promise<void> {
  const [store, registry] = await ready;
  current = new AbortController();
  const outcome = await runTask(task, { store, registry, ...(setup.backend ? { backend: setup.backend } : {}) }, {
    signal: current.signal,
    onProgress: (event) => post({ type: 'progress', event }),
  });
  current = undefined;
  post({ type: 'outcome', outcome });
}
