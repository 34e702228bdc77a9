/**
 * The local runner: a pool of worker threads, each with its own tensor backend (one wasm backend uses
 * one core, so parallelism comes from running independent nodes side by side).
 */
import { Worker } from 'node:worker_threads';
import type { Outcome, RunHooks, Runner, Task } from './runner.js';
import type { FromWorker, ToWorker, WorkerSetup } from './worker-protocol.js';

export class WorkerPoolRunner implements Runner {
  private readonly idle: Worker[] = [];
  private readonly all = new Set<Worker>();

  constructor(
    readonly slots: number,
    private readonly setup: WorkerSetup,
  ) {}

  private spawn(): Worker {
    const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: this.setup });
    this.all.add(worker);
    worker.once('exit', () => {
      // A worker that dies while idle must not be handed the next task.
      this.all.delete(worker);
      const idle = this.idle.indexOf(worker);
      if (idle >= 0) this.idle.splice(idle, 1);
    });
    return worker;
  }

  run(task: Task, hooks: RunHooks): Promise<Outcome> {
    // An 'abort' listener added to a signal already aborted never fires: such a task never starts.
    if (hooks.signal.aborted) return Promise.resolve({ status: 'aborted' });
    const worker = this.idle.pop() ?? this.spawn();
    return new Promise<Outcome>((resolve) => {
      const onAbort = () => worker.postMessage({ type: 'abort' } satisfies ToWorker);
      const finish = (outcome: Outcome, reusable: boolean) => {
        hooks.signal.removeEventListener('abort', onAbort);
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
        if (reusable) this.idle.push(worker);
        resolve(outcome);
      };
      const onMessage = (message: FromWorker) => {
        if (message.type === 'progress') hooks.onProgress(message.event);
        else finish(message.outcome, true);
      };
      // A crashed worker (out of memory, a native abort) fails its node, not the run.
      const onError = (error: Error) => finish({ status: 'failed', error: `worker crashed: ${error.message}` }, false);
      const onExit = (code: number) => finish({ status: 'failed', error: `worker exited with code ${code}` }, false);
      worker.on('message', onMessage);
      worker.once('error', onError);
      worker.once('exit', onExit);
      hooks.signal.addEventListener('abort', onAbort, { once: true });
      worker.postMessage({ type: 'run', task } satisfies ToWorker);
    });
  }

  async close(): Promise<void> {
    await Promise.all([...this.all].map((w) => w.terminate()));
    this.idle.length = 0;
  }
}
