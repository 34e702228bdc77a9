/** Runs tasks in the calling thread, one at a time per slot: for tests and debugging (`--jobs 0`). */
import type { ResultStore } from '../../cache/store.js';
import type { KindRegistry } from '../registry.js';
import { runTask, type TensorBackendChoice } from './run-task.js';
import type { Outcome, RunHooks, Runner, Task } from './runner.js';

export class InlineRunner implements Runner {
  constructor(
    private readonly store: ResultStore,
    private readonly registry: KindRegistry,
    readonly slots = 1,
    /** For kinds that compute with tensors; the CLI hands in the science layer's `selectBackend`. */
    private readonly tensors?: TensorBackendChoice,
  ) {}

  run(task: Task, hooks: RunHooks): Promise<Outcome> {
    return runTask(task, { store: this.store, registry: this.registry, ...(this.tensors ? { tensors: this.tensors } : {}) }, hooks);
  }

  async close(): Promise<void> {}
}
