/**
 * The state of every instance of one pipeline, as the page shows it: `cached` when the cache holds its
 * key; else `running` or `queued` when a live run (progress-log.ts) has started or planned it; else
 * `failed` when the last run that finished it failed; else `pending`. Also each running instance's
 * step, loss and ETA. Reads the cache and the progress files only.
 */
import type { NodeKey } from '../../base/brand.js';
import type { ValidGraph } from '../../engine/lang/analyze.js';
import { ProgressReader, runIsLive, type ProgressLine, type RunFollowed } from './progress-log.js';

export const STATES = ['pending', 'queued', 'running', 'cached', 'failed'] as const;
export type InstanceState = (typeof STATES)[number];

/** What the page shows of a running instance. */
export interface InstanceProgress {
  readonly step?: number;
  readonly totalSteps?: number;
  readonly epoch?: number;
  readonly loss?: number;
  readonly message?: string;
  /** Seconds left at the rate seen since it started, when it reports steps. */
  readonly etaS?: number;
  readonly startedAt: number;
}

/** The part of a store the page reads; `undefined` while no cache exists yet. */
export interface ReadableStore {
  has(key: NodeKey): boolean;
}

interface Started {
  readonly run: string;
  readonly at: number;
  first?: { at: number; step: number };
  progress?: InstanceProgress;
}

/** Follows the cache and the progress files; `tick` returns what changed since the last call. */
export class LiveState {
  readonly states = new Map<string, InstanceState>();
  readonly progress = new Map<string, InstanceProgress>();
  readonly errors = new Map<string, string>();
  private readonly reader: ProgressReader;
  /** Per key: the live run that started it and its progress. */
  private readonly started = new Map<string, Started>();
  /** Per key: the runs that planned it and have not finished it. */
  private readonly queued = new Map<string, Set<string>>();
  /** Per key: the last finish seen (a failure is shown until the key is cached or started again). */
  private readonly finished = new Map<string, { status: string; error?: string }>();
  private readonly cached = new Set<string>();
  private lastFullCheck = 0;

  constructor(
    private readonly graph: ValidGraph,
    cacheDir: string,
  ) {
    this.reader = new ProgressReader(cacheDir);
    for (const i of graph.instances) this.states.set(i.id, 'pending');
  }

  /** Reads what is new; returns the instances whose state changed and whether any progress did. */
  tick(store: ReadableStore | undefined, now = Date.now()): { changed: Map<string, InstanceState>; progressed: boolean } {
    let progressed = false;
    for (const { run, fresh } of this.reader.poll()) {
      for (const line of fresh) if (this.apply(run, line)) progressed = true;
    }
    // A run that died (or ended) leaves nothing running or queued.
    for (const run of this.reader.runs.values()) {
      if (runIsLive(run, now)) continue;
      for (const [key, s] of this.started) if (s.run === run.file) this.started.delete(key);
      for (const [key, runs] of this.queued) {
        runs.delete(run.file);
        if (runs.size === 0) this.queued.delete(key);
      }
    }
    // Cached keys stay cached; a full re-check now and then notices a gc or a repair removing one.
    const full = now - this.lastFullCheck > 5000;
    if (full) {
      this.lastFullCheck = now;
      this.cached.clear();
    }
    const changed = new Map<string, InstanceState>();
    for (const i of this.graph.instances) {
      if (!this.cached.has(i.key) && store?.has(i.key)) this.cached.add(i.key);
      const state = this.stateOf(i.key);
      if (this.states.get(i.id) !== state) {
        this.states.set(i.id, state);
        changed.set(i.id, state);
      }
      const p = state === 'running' ? this.started.get(i.key)?.progress : undefined;
      if (p) this.progress.set(i.id, p);
      else if (this.progress.delete(i.id)) progressed = true;
      const error = state === 'failed' ? this.finished.get(i.key)?.error : undefined;
      if (error !== undefined) this.errors.set(i.id, error);
      else this.errors.delete(i.id);
    }
    return { changed, progressed };
  }

  private stateOf(key: string): InstanceState {
    if (this.cached.has(key)) return 'cached';
    if (this.started.has(key)) return 'running';
    if (this.queued.has(key)) return 'queued';
    return this.finished.get(key)?.status === 'failed' ? 'failed' : 'pending';
  }

  /** Folds one line in; true when it is progress. */
  private apply(run: RunFollowed, line: ProgressLine): boolean {
    switch (line.t) {
      case 'run':
        for (const key of line.toRun) {
          const runs = this.queued.get(key) ?? new Set<string>();
          runs.add(run.file);
          this.queued.set(key, runs);
        }
        return false;
      case 'start':
        this.started.set(line.key, { run: run.file, at: line.at, progress: { startedAt: line.at } });
        this.finished.delete(line.key);
        return true;
      case 'progress': {
        const s = this.started.get(line.key);
        if (!s) return false;
        if (line.step !== undefined && s.first === undefined) s.first = { at: line.at, step: line.step };
        let etaS: number | undefined;
        if (line.step !== undefined && line.totalSteps && s.first && line.step > s.first.step) {
          const perStep = (line.at - s.first.at) / (line.step - s.first.step);
          etaS = Math.max(0, ((line.totalSteps - line.step) * perStep) / 1000);
        }
        s.progress = {
          startedAt: s.at,
          ...(line.step !== undefined ? { step: line.step } : {}),
          ...(line.totalSteps !== undefined ? { totalSteps: line.totalSteps } : {}),
          ...(line.epoch !== undefined ? { epoch: line.epoch } : {}),
          ...(line.loss !== undefined ? { loss: line.loss } : {}),
          ...(line.message !== undefined ? { message: line.message } : {}),
          ...(etaS !== undefined ? { etaS } : {}),
        };
        return true;
      }
      case 'finish': {
        if (this.started.get(line.key)?.run === run.file) this.started.delete(line.key);
        const runs = this.queued.get(line.key);
        runs?.delete(run.file);
        if (runs?.size === 0) this.queued.delete(line.key);
        this.finished.set(line.key, { status: line.status, ...(line.error !== undefined ? { error: line.error } : {}) });
        return true;
      }
      case 'end':
        return false;
    }
  }
}
