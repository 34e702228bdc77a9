/**
 * Who holds something (a claim, a run in progress, an open store handle, the compaction lock) and
 * whether that holder is still alive.
 *
 * Claims and runs (`stillHolds`) are held by a thread, and on Linux the kernel can say whether that very
 * thread still exists; see `stillHolds` for the rule and why it is right. Open handles and the
 * compaction lock (`holderAlive`) are judged by their process: a handle whose thread died may still be
 * mapped by its process, so taking its death for granted there would be unsafe.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { hostname } from 'node:os';
import { threadId } from 'node:worker_threads';
import type { HolderFile, HolderRecord, ThreadMark } from './layout.js';

export const HOST = hostname();

/** Unique per call: host, pid, thread and random bytes (two claims of one thread never share an id). */
export function newHolderId(): string {
  return `${HOST}-${process.pid}-${threadId}-${randomBytes(6).toString('hex')}`;
}

export function thisHolder(): HolderFile {
  const main = currentProcess();
  return { host: HOST, pid: process.pid, threadId, since: new Date().toISOString(), ...(main === undefined ? {} : { process: main }) };
}

/** The holder fields of a claim or run record that this thread takes now. */
export function holderRecord(owner: string, now: number): HolderRecord {
  const thread = currentThread();
  return { owner, host: HOST, pid: process.pid, threadId, ...(thread === undefined ? {} : { thread }), heartbeatAt: now };
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error: unknown) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether the process of an opener file or the compaction lock lives. With a process mark of this scope
 * the kernel decides (a pid reused by another process is dead to us, so its leftover file cannot block
 * compaction forever); a mark of another scope cannot be checked and counts as alive, as a holder on
 * another host does; without a mark, a pid on this host is checked.
 */
export function holderAlive(holder: Pick<HolderFile, 'host' | 'pid' | 'process'>): boolean {
  if (holder.process !== undefined) return threadVerdict(holder.process) !== 'dead';
  return holder.host !== HOST || pidAlive(holder.pid);
}

/**
 * Whether the holder of a claim or run still holds it. The rule:
 *
 * 1. When the record carries a ThreadMark of this boot and pid namespace, the kernel decides: the holder
 *    lives exactly while /proc/<pid>/task/<tid> exists with the recorded start time, whatever its
 *    heartbeat says. That is the question a waiter asks ("can the holder still put or release?"); a
 *    heartbeat only answers "did its event loop turn lately", which a long synchronous `run` on the
 *    inline runner (`--jobs 0`) stops for minutes while the holder is well. The mark names the thread,
 *    not the process, so a worker thread that crashed or was terminated while its process lives frees
 *    its claims at once (its task entry goes with it). The start time tells a reused pid or tid apart;
 *    the scope (boot id and pid namespace) makes sure pid, tid and start time mean to the reader what
 *    they meant to the writer (after a reboot, or in another container with the same host name, they
 *    do not). A live thread that simply never releases keeps its claim, as it did when its heartbeat
 *    timer kept beating.
 * 2. Otherwise (another host or container, a host without /proc, a record of an older build) the
 *    heartbeat decides, since nothing else can be checked; on this host without a mark a dead pid still
 *    frees the claim at once.
 */
export function stillHolds(holder: HolderRecord, staleMs: number, now: number): boolean {
  const verdict = holder.thread === undefined ? 'unknown' : threadVerdict(holder.thread);
  if (verdict !== 'unknown') return verdict === 'alive';
  if (holder.thread === undefined && holder.host === HOST && !pidAlive(holder.pid)) return false;
  return now - holder.heartbeatAt <= staleMs;
}

export type ThreadVerdict = 'alive' | 'dead' | 'unknown';

/** What the kernel says about a marked thread; 'unknown' when this reader cannot tell. */
export function threadVerdict(mark: ThreadMark): ThreadVerdict {
  if (mark.scope !== currentScope()) return 'unknown';
  const stat = readThreadStat(mark.pid, mark.tid);
  if (stat !== undefined) return stat.start === mark.start && stat.state !== 'Z' && stat.state !== 'X' ? 'alive' : 'dead';
  if (!pidAlive(mark.pid)) return 'dead';
  // The process exists: its thread is gone, unless /proc hides the process from us (hidepid=2).
  return fs.existsSync(`/proc/${mark.pid}`) ? 'dead' : 'unknown';
}

// Computed once per thread (null: not yet); undefined where /proc cannot tell.
let cachedMark: ThreadMark | undefined | null = null;
let cachedScope: string | undefined | null = null;

/** This thread's mark, or undefined where /proc cannot give one. Module state is per thread, so is the cache. */
export function currentThread(): ThreadMark | undefined {
  if (cachedMark === null) {
    cachedMark = undefined;
    const scope = currentScope();
    const self = scope === undefined ? undefined : readLink('/proc/thread-self')?.match(/^(\d+)\/task\/(\d+)$/);
    if (scope !== undefined && self) {
      const pid = Number(self[1]);
      const tid = Number(self[2]);
      const stat = readThreadStat(pid, tid);
      if (stat !== undefined && Number.isSafeInteger(stat.start)) cachedMark = { scope, pid, tid, start: stat.start };
    }
  }
  return cachedMark;
}

/** The mark of this process's main thread (the thread group leader, whose start is the process's). */
function currentProcess(): ThreadMark | undefined {
  const thread = currentThread();
  if (thread === undefined || thread.tid === thread.pid) return thread;
  const stat = readThreadStat(thread.pid, thread.pid);
  return stat === undefined ? undefined : { ...thread, tid: thread.pid, start: stat.start };
}

/** Boot id and pid namespace: within one scope, a pid and a start time name one thread. */
function currentScope(): string | undefined {
  if (cachedScope === null) {
    const boot = readText('/proc/sys/kernel/random/boot_id')?.trim();
    const namespace = readLink('/proc/self/ns/pid');
    cachedScope = boot && namespace ? `${boot}/${namespace}` : undefined;
  }
  return cachedScope;
}

function readThreadStat(pid: number, tid: number): { readonly state: string; readonly start: number } | undefined {
  const text = readText(`/proc/${pid}/task/${tid}/stat`);
  if (text === undefined) return undefined;
  // The command name (field 2) is in parentheses and may hold spaces or parentheses itself: the fields
  // after the last ')' start with field 3 (state), so field 22 (starttime) is the 20th of them.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const start = Number(fields[19]);
  return fields[0] === undefined || !Number.isFinite(start) ? undefined : { state: fields[0], start };
}

function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function readLink(file: string): string | undefined {
  try {
    return fs.readlinkSync(file);
  } catch {
    return undefined;
  }
}

/** Error code of a setting that is not a valid value (the CLI reports it as an expected failure). */
const INVALID_SETTING = 'EINVAL';

/**
 * The default `claimStaleMs`: SPARSEGRAPH_CLAIM_STALE_MS when set (tests shorten it; worker threads and
 * child processes inherit it), else 30 s.
 */
export function defaultClaimStaleMs(): number {
  const text = process.env['SPARSEGRAPH_CLAIM_STALE_MS'];
  if (text === undefined || text === '') return 30_000;
  const ms = Number(text);
  if (!Number.isSafeInteger(ms) || ms <= 0) {
    throw Object.assign(new Error(`SPARSEGRAPH_CLAIM_STALE_MS must be a positive whole number of milliseconds, got '${text}'`), {
      code: INVALID_SETTING,
    });
  }
  return ms;
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
