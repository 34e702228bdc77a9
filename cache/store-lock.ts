/**
 * Who has a store directory open, so that compaction (which replaces data.mdb) never happens under
 * another handle: a handle still mapping the old file would keep writing into it and lose those writes.
 *
 * Protocol (both sides write their file first, then look for the other's; on a local file system one of
 * them always sees the other):
 * - opening: write `openers/<id>.json`, then if `compacting.json` exists and its holder is alive,
 *   delete the opener file, wait and retry;
 * - compacting: create `compacting.json` exclusively, then if any other opener file has a live holder,
 *   delete `compacting.json` and give up (saying who has the store open).
 * Files of dead holders (pid gone on this host) are removed by whoever finds them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { FILES, type HolderFile } from './layout.js';
import { holderAlive, newHolderId, sleep, thisHolder } from './liveness.js';

export interface OpenerRegistration {
  readonly id: string;
  /** Removes the opener file (idempotent). */
  unregister(): void;
}

/** Raised when a store stays locked by a live compaction longer than the open timeout. */
export class StoreBusyError extends Error {
  constructor(dir: string, holder: HolderFile, waitedMs: number) {
    super(`the cache at ${dir} is being compacted by pid ${holder.pid} on ${holder.host} ` +
      `(waited ${Math.round(waitedMs / 1000)} s); try again when that gc has finished`);
    this.name = 'StoreBusyError';
  }
}

export async function registerOpener(dir: string, options: { readonly timeoutMs: number }): Promise<OpenerRegistration> {
  const openers = path.join(dir, FILES.openers);
  fs.mkdirSync(openers, { recursive: true });
  const id = newHolderId();
  const file = path.join(openers, `${id}.json`);
  const registration = { id, unregister: () => fs.rmSync(file, { force: true }) };
  const started = Date.now();
  for (;;) {
    writeAtomically(file, thisHolder());
    const lockFile = path.join(dir, FILES.compactionLock);
    const lock = readHolder(lockFile);
    if (lock === undefined) return registration;
    if (!holderAlive(lock)) {
      // A compaction died: data.mdb is either the old or the new complete file (rename is atomic).
      fs.rmSync(lockFile, { force: true });
      fs.rmSync(path.join(dir, FILES.compactionTmp), { recursive: true, force: true });
      return registration;
    }
    registration.unregister();
    if (Date.now() - started > options.timeoutMs) throw new StoreBusyError(dir, lock, Date.now() - started);
    await sleep(50);
  }
}

export type CompactionLock = { readonly ok: true; release(): void } | { readonly ok: false; readonly reason: string };

/** Takes the compaction lock if no handle other than `selfId` has the store open. */
export function acquireCompactionLock(dir: string, selfId: string): CompactionLock {
  const lockFile = path.join(dir, FILES.compactionLock);
  for (let attempt = 0; ; attempt++) {
    // link() creates the lock complete or not at all, and fails if it exists.
    const staging = path.join(dir, `.${FILES.compactionLock}.${selfId}`);
    fs.writeFileSync(staging, JSON.stringify(thisHolder()));
    try {
      fs.linkSync(staging, lockFile);
      break;
    } catch (error: unknown) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = readHolder(lockFile);
      if (holder !== undefined && holderAlive(holder)) {
        return { ok: false, reason: `another compaction (pid ${holder.pid} on ${holder.host}) is running` };
      }
      if (attempt > 0) return { ok: false, reason: 'could not take the compaction lock' };
      fs.rmSync(lockFile, { force: true });
    } finally {
      fs.rmSync(staging, { force: true });
    }
  }
  const release = (): void => fs.rmSync(lockFile, { force: true });
  const live: HolderFile[] = [];
  const openers = path.join(dir, FILES.openers);
  for (const name of fs.readdirSync(openers)) {
    if (!name.endsWith('.json') || name === `${selfId}.json`) continue;
    const file = path.join(openers, name);
    const holder = readHolder(file);
    if (holder === undefined) continue;
    if (holderAlive(holder)) live.push(holder);
    else fs.rmSync(file, { force: true });
  }
  if (live.length > 0) {
    release();
    const who = live.map((h) => `pid ${h.pid} thread ${h.threadId} on ${h.host}`).join(', ');
    return { ok: false, reason: `the store is open in ${live.length} other handle(s) (${who}); close them to compact` };
  }
  return { ok: true, release };
}

/** Writes a holder file so that readers see it complete or not at all. */
function writeAtomically(file: string, holder: HolderFile): void {
  const staging = path.join(path.dirname(file), `.${path.basename(file)}.tmp`);
  fs.writeFileSync(staging, JSON.stringify(holder));
  fs.renameSync(staging, file);
}

function readHolder(file: string): HolderFile | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as HolderFile;
  } catch {
    // Removed meanwhile (holder files are written by rename or link, so never seen half-written).
    return undefined;
  }
}
