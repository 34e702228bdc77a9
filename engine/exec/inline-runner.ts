/** Runs tasks in the calling thread, one at a time per slot: for tests and debugging (`--jobs 0`). */
import type { ResultStore } from '../../cache/store.js';
import type { KindRegistry } from '../registry.js';
import { runTask } from './run-task.js';
import type { Outcome, RunHooks, Runner, Task } from './runner.js';

export class InlineRunner implements Runner {
  constructor(
    private readonly store: ResultStore,
    private readonly registry: KindRegistry,
    readonly slots = 1,
    private readonly backend?: string,
  ) {}

  run(task: Task, hooks: RunHooks): Promise<Outcome> {
    return runTask(task, { store: this.store, registry: this.registry, ...(this.backend ? { backend: this.backend } : {}) }, hooks);
  }

  async close(): Promise<void> {}
}
