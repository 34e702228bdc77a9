/** Messages between the pool and its worker threads, and what a worker is set up with. */
import type { ProgressEvent } from '../../base/values.js';
import type { KindRegistry } from '../registry.js';
import type { TensorBackendInfo } from './run-task.js';
import type { Outcome, Task } from './runner.js';

/**
 * What a worker thread imports to build what its parent built: the node kinds and the tensor backend.
 * The engine names no kinds and no tensor library, so the composer (the CLI) gives the pool its own
 * module's URL; the thread imports that module, never code carried by a task.
 */
export interface Composer {
  loadKinds(modules: readonly string[]): Promise<KindRegistry>;
  selectBackend(requested?: string): Promise<TensorBackendInfo>;
}

export interface WorkerSetup {
  readonly storeDir: string;
  /** URL of a module exporting {@link Composer}'s functions. */
  readonly composer: string;
  readonly kindModules: readonly string[];
  readonly backend?: string;
  /** A queue worker's Redis URL: resumable progress is kept there, so another worker can resume a task. */
  readonly progressRedis?: string;
}

export type ToWorker = { readonly type: 'run'; readonly task: Task } | { readonly type: 'abort' };

export type FromWorker =
  | { readonly type: 'progress'; readonly event: ProgressEvent }
  | { readonly type: 'outcome'; readonly outcome: Outcome };
