/** Messages between the pool and its worker threads. */
import type { ProgressEvent } from '../../base/values.js';
import type { Outcome, Task } from './runner.js';

export interface WorkerSetup {
  readonly storeDir: string;
  readonly kindModules: readonly string[];
  readonly backend?: string;
}

export type ToWorker = { readonly type: 'run'; readonly task: Task } | { readonly type: 'abort' };

export type FromWorker =
  | { readonly type: 'progress'; readonly event: ProgressEvent }
  | { readonly type: 'outcome'; readonly outcome: Outcome };
