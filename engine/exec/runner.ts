/**
 * The dispatch interface: hand a runner a node key and the keys of its inputs; it computes the node
 * and leaves the outputs under the key in the result store. The local worker pool is one runner; a
 * distributed queue (BullMQ, Slurm, Kubernetes) with blobs in a shared store can be another.
 */
import type { NodeKey } from '../../base/brand.js';
import type { KeyComponents } from '../keys.js';
import type { ProgressEvent } from '../../base/values.js';

/** Everything needed to compute one node instance, as plain data (it crosses threads and machines). */
export interface Task {
  readonly key: NodeKey;
  /** Instance id, for messages and provenance. */
  readonly id: string;
  readonly kind: string;
  readonly version: number;
  readonly params: Record<string, unknown>;
  readonly inputs: KeyComponents['inputs'];
  /**
   * Fingerprint of the dataset the kind's `datasetParam` names, as analysis computed it for the key
   * (`KeyComponents.data`): the worker hands it to `run`, so no runner hashes the data files again.
   */
  readonly datasetFingerprint?: string;
  /** Pipeline file, for provenance. */
  readonly pipeline: string;
  readonly gitCommit?: string;
}

export type Outcome =
  | { readonly status: 'done' }
  | { readonly status: 'failed'; readonly error: string }
  | { readonly status: 'aborted' }
  /**
   * An input result is gone: its blobs failed verification (the store removed it) or it was removed
   * (a gc) after the plan was made. It must be recomputed.
   */
  | { readonly status: 'input-lost'; readonly key: NodeKey; readonly error: string };

export interface RunHooks {
  readonly signal: AbortSignal;
  readonly onProgress: (event: ProgressEvent) => void;
}

export interface Runner {
  /** How many tasks it can run at once. */
  readonly slots: number;
  run(task: Task, hooks: RunHooks): Promise<Outcome>;
  close(): Promise<void>;
}
