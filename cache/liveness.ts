/**
 * Who holds something (a claim, an open store handle, the compaction lock) and whether that holder is
 * still alive. A holder on this host is dead when its pid no longer exists; a holder on another host
 * cannot be checked and counts as alive (claims then rely on their heartbeat).
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { threadId } from 'node:worker_threads';
import type { HolderFile } from './layout.js';

export const HOST = hostname();

/** Unique per call: host, pid, thread and random bytes (two claims of one thread never share an id). */
export function newHolderId(): string {
  return `${HOST}-${process.pid}-${threadId}-${randomBytes(6).toString('hex')}`;
}

export function thisHolder(): HolderFile {
  return { host: HOST, pid: process.pid, threadId, since: new Date().toISOString() };
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

export function holderAlive(holder: { readonly host: string; readonly pid: number }): boolean {
  return holder.host !== HOST || pidAlive(holder.pid);
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
