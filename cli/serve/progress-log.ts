/**
 * How a `run` tells a `serve` in another process what it is doing: one append-only JSON-lines file per
 * run in `<cache>/progress/` (FILES.progress), written from the run's execution events.
 *
 * Why a file and not the cache: the server must never write the cache, and the run should not pay a
 * durable LMDB transaction per progress tick. The claim records say which keys are being computed, but
 * not the step, loss or ETA, nor which keys a run has queued. A file per run needs no locking (one
 * writer, appends only), is readable from any number of servers by offset, and stays small: progress is
 * written at most PROGRESS_EVERY_MS per instance, so a paper run leaves a few hundred kilobytes.
 */
import { closeSync, mkdirSync, openSync, readdirSync, readSync, rmSync, statSync, writeSync, fstatSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { FILES } from '../../cache/layout.js';
import type { ExecutionEvent, FinishStatus } from '../../engine/exec/executor.js';
import type { ProgressEvent } from '../../base/values.js';

/** One line of a progress file. `at` is milliseconds since the epoch. */
export type ProgressLine =
  | { readonly t: 'run'; readonly at: number; readonly pid: number; readonly host: string; readonly pipeline: string; readonly name: string; readonly toRun: readonly string[] }
  | { readonly t: 'start'; readonly at: number; readonly id: string; readonly key: string }
  | ({ readonly t: 'progress'; readonly at: number; readonly id: string; readonly key: string } & ProgressEvent)
  | { readonly t: 'finish'; readonly at: number; readonly id: string; readonly key: string; readonly status: FinishStatus; readonly error?: string; readonly ms: number }
  | { readonly t: 'end'; readonly at: number };

/** At most one progress line per instance this often: enough for a page that updates each second. */
const PROGRESS_EVERY_MS = 250;
/** Files of runs that ended (or died) this long ago are removed by the next run. */
const KEEP_MS = 7 * 24 * 3600 * 1000;

export const progressDir = (cacheDir: string): string => join(cacheDir, FILES.progress);

/** The writer one run holds: `onEvent` for the executor, `end` when it is over. */
export interface ProgressLog {
  readonly file: string;
  onEvent(event: ExecutionEvent): void;
  end(): void;
}

export function openProgressLog(cacheDir: string, run: { pipeline: string; name: string; toRun: readonly string[]; keyOf: (id: string) => string }): ProgressLog {
  const dir = progressDir(cacheDir);
  mkdirSync(dir, { recursive: true });
  pruneOld(dir);
  const file = join(dir, `${Date.now()}-${process.pid}-${randomBytes(4).toString('hex')}.jsonl`);
  const fd = openSync(file, 'a');
  let open = true;
  const write = (line: ProgressLine) => {
    if (!open) return;
    // One write per line, in append mode: a reader sees whole lines, or a torn last one it skips.
    writeSync(fd, `${JSON.stringify(line)}\n`);
  };
  write({ t: 'run', at: Date.now(), pid: process.pid, host: hostname(), pipeline: run.pipeline, name: run.name, toRun: run.toRun });
  const lastProgress = new Map<string, number>();
  return {
    file,
    onEvent(e) {
      const at = Date.now();
      const key = run.keyOf(e.id);
      if (e.type === 'start') write({ t: 'start', at, id: e.id, key });
      else if (e.type === 'finish') write({ t: 'finish', at, id: e.id, key, status: e.status, ms: e.ms, ...(e.error !== undefined ? { error: e.error } : {}) });
      else {
        if (at - (lastProgress.get(e.id) ?? 0) < PROGRESS_EVERY_MS) return;
        lastProgress.set(e.id, at);
        write({ t: 'progress', at, id: e.id, key, ...e.event });
      }
    },
    end() {
      if (!open) return;
      write({ t: 'end', at: Date.now() });
      open = false;
      closeSync(fd);
    },
  };
}

function pruneOld(dir: string): void {
  const now = Date.now();
  for (const name of readdirSync(dir)) {
    const file = join(dir, name);
    try {
      if (now - statSync(file).mtimeMs > KEEP_MS) rmSync(file, { force: true });
    } catch {
      // Removed by another run meanwhile.
    }
  }
}

/** What a reader knows of one run's file so far. */
export interface RunFollowed {
  readonly file: string;
  offset: number;
  /** A partial last line, completed by the next read. */
  rest: string;
  mtimeMs: number;
  /** Its first line, naming the process. */
  head?: Extract<ProgressLine, { t: 'run' }>;
  ended: boolean;
}

/**
 * Reads what was appended to each progress file since the last call (by offset; never writes). Returns
 * the new lines per file.
 */
export class ProgressReader {
  readonly runs = new Map<string, RunFollowed>();

  constructor(private readonly cacheDir: string) {}

  poll(): { run: RunFollowed; fresh: ProgressLine[] }[] {
    const dir = progressDir(this.cacheDir);
    let names: string[];
    try {
      names = readdirSync(dir).filter((n) => n.endsWith('.jsonl')).sort();
    } catch {
      return [];
    }
    const out: { run: RunFollowed; fresh: ProgressLine[] }[] = [];
    for (const name of names) {
      const file = join(dir, name);
      let run = this.runs.get(file);
      if (!run) this.runs.set(file, (run = { file, offset: 0, rest: '', mtimeMs: 0, ended: false }));
      const fresh = readAppended(run);
      if (fresh.length > 0) out.push({ run, fresh });
    }
    return out;
  }
}

function readAppended(run: RunFollowed): ProgressLine[] {
  let fd: number;
  try {
    fd = openSync(run.file, 'r');
  } catch {
    return [];
  }
  try {
    const stats = fstatSync(fd);
    run.mtimeMs = stats.mtimeMs;
    if (stats.size <= run.offset) return [];
    const buffer = Buffer.alloc(stats.size - run.offset);
    const n = readSync(fd, buffer, 0, buffer.length, run.offset);
    run.offset += n;
    const text = run.rest + buffer.subarray(0, n).toString('utf8');
    const parts = text.split('\n');
    run.rest = parts.pop() ?? '';
    const fresh: ProgressLine[] = [];
    for (const part of parts) {
      if (part.trim() === '') continue;
      try {
        fresh.push(JSON.parse(part) as ProgressLine);
      } catch {
        // Not a line this version wrote: skipped, as a reader should.
      }
    }
    for (const line of fresh) {
      if (line.t === 'run') run.head = line;
      else if (line.t === 'end') run.ended = true;
    }
    return fresh;
  } finally {
    closeSync(fd);
  }
}

/** Whether the process that writes a run's file is still at it. */
export function runIsLive(run: RunFollowed, now = Date.now()): boolean {
  const head = run.head;
  if (!head || run.ended) return false;
  if (head.host === hostname()) {
    try {
      process.kill(head.pid, 0);
      return true;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'EPERM';
    }
  }
  // Another host (a shared file system): live while it keeps writing.
  return now - run.mtimeMs < 60_000;
}
