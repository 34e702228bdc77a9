/**
 * What travels between a coordinator (`run --queue`) and its workers (`sparsegraph worker`) through
 * Redis: BullMQ jobs carrying a Task as plain data, result bundles (cache/bundle.ts) under keys of their
 * own, and resumable progress. A worker checks every job against this shape and against its own
 * registry before anything runs: a job names a kind, never code.
 */
import type { NodeKey } from '../../../base/brand.js';
import type { Task } from '../runner.js';

/** The BullMQ queue every coordinator and worker of one Redis database shares. */
export const QUEUE_NAME = 'sparsegraph-tasks';

/** Version of this protocol; a job of another is refused by the worker that reads it. */
export const PROTOCOL_VERSION = 1;

/** How long shipped bundles live in Redis when nobody deletes them (a coordinator that died). */
export const BUNDLE_TTL_S = 24 * 3600;

export interface JobData {
  readonly protocol: number;
  readonly task: Task;
  /** Redis key of each input result's bundle, by input key (the worker fetches those it lacks). */
  readonly inputs: Readonly<Record<string, string>>;
}

export interface JobResult {
  /** Redis key of the bundle holding the task's result. */
  readonly bundle: string;
  /** The worker's host and id, for the coordinator's messages. */
  readonly worker: string;
}

/** Redis keys of sparsegraph's own data, beside BullMQ's. */
export const redisKeys = {
  input: (key: NodeKey): string => `sparsegraph:input:${key}`,
  output: (key: NodeKey, job: string): string => `sparsegraph:output:${key}:${job}`,
  progress: (key: NodeKey): string => `sparsegraph:progress:${key}`,
};

/** A Redis URL as the user gave it: `redis://` or `rediss://` (TLS), with an optional password and database. */
export function checkRedisUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`--queue '${url}' is not a URL; expected redis://HOST:PORT or rediss://HOST:PORT`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') throw new Error(`--queue '${url}': expected a redis:// or rediss:// URL, got ${parsed.protocol}//`);
  if (!parsed.hostname) throw new Error(`--queue '${url}' names no host`);
  return parsed;
}

/** ioredis connection options from a checked URL: host, port, user, password, database, TLS for rediss://. */
export function redisOptions(url: string): { host: string; port: number; username?: string; password?: string; db?: number; tls?: object; maxRetriesPerRequest: null } {
  const u = checkRedisUrl(url);
  const db = u.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d+$/.test(db)) throw new Error(`--queue '${redactedUrl(url)}': the path must be a database number, got '/${db}'`);
  return {
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port: u.port ? Number(u.port) : 6379,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(db ? { db: Number(db) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
    // BullMQ's blocking connections must retry for ever rather than fail a command.
    maxRetriesPerRequest: null,
  };
}

/** The URL with its password hidden, for messages and logs. */
export function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(invalid URL)';
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isKey = (v: unknown): v is string => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v);

/**
 * The job's data if it has the protocol's shape, else the reason it does not. Parameter values are
 * checked later, against the kind's own schema.
 */
export function parseJobData(data: unknown): { ok: true; job: JobData } | { ok: false; reason: string } {
  if (!isRecord(data)) return { ok: false, reason: 'job data is not an object' };
  if (data.protocol !== PROTOCOL_VERSION) return { ok: false, reason: `job speaks protocol ${String(data.protocol)}, this worker ${PROTOCOL_VERSION}` };
  const task = data.task;
  if (!isRecord(task)) return { ok: false, reason: 'job has no task' };
  if (!isKey(task.key)) return { ok: false, reason: 'task key is not a 64-digit hex key' };
  for (const field of ['id', 'kind', 'pipeline'] as const) if (typeof task[field] !== 'string') return { ok: false, reason: `task ${field} is not a string` };
  if (!Number.isInteger(task.version)) return { ok: false, reason: 'task version is not an integer' };
  if (!isRecord(task.params)) return { ok: false, reason: 'task params are not an object' };
  if (!isRecord(task.inputs)) return { ok: false, reason: 'task inputs are not an object' };
  if (!isRecord(data.inputs)) return { ok: false, reason: 'job inputs are not an object' };
  for (const [key, where] of Object.entries(data.inputs)) {
    if (!isKey(key) || typeof where !== 'string' || where !== redisKeys.input(key as NodeKey)) return { ok: false, reason: `job input ${key.slice(0, 16)} is not a shipped bundle` };
  }
  return { ok: true, job: data as unknown as JobData };
}
