/** What several commands share: option definitions, locating the cache, analysing or exiting. */
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Option } from 'commander';
import { irregularPath } from '../base/file-type.js';
import type { CacheStore } from '../cache/store.js';
import { dataHooks } from '../science/data/index.js';
import { kindModulesFromEnv } from '../engine/exec/kinds-modules.js';
import { analyze, type ValidGraph } from '../engine/lang/analyze.js';
import type { KindRegistry } from '../engine/registry.js';
import { loadKinds } from './compose.js';
import { cacheFromEnv } from './environment.js';
import { EXIT, reportDiagnostics, UsageError } from './output.js';

export interface AnalysisOptions {
  set: string[];
  json?: boolean;
  kinds: string[];
}

export interface CacheOptions {
  cache?: string;
}

export const collect = (value: string, previous: string[]) => [...previous, value];
export const setOption = () => new Option('--set <name=value>', 'override a pipeline param (VALUE is YAML); repeatable').argParser(collect).default([]);
export const kindsOption = () =>
  new Option('--kinds <module>', 'load extra node kinds from a module exporting `kinds`; repeatable').argParser(collect).default([]);
export const jsonOption = () => new Option('--json', 'print one JSON document on stdout');
export const cacheOption = () => new Option('--cache <dir>', 'cache directory (default: .sparsegraph/ beside the pipeline, or $SPARSEGRAPH_CACHE)');

/** `--cache`, else SPARSEGRAPH_CACHE, else `.sparsegraph/` beside the pipeline file. */
export function cacheDirFor(options: CacheOptions, pipelineFile?: string): string {
  if (options.cache) return resolve(options.cache);
  const fromEnv = cacheFromEnv();
  if (fromEnv) return resolve(fromEnv);
  return join(pipelineFile ? dirname(resolve(pipelineFile)) : process.cwd(), '.sparsegraph');
}

/** The cache directory (as cacheDirFor); a path that exists and is no directory is a usage error. */
export function cacheDirectory(options: CacheOptions, pipelineFile?: string): string {
  const dir = cacheDirFor(options, pipelineFile);
  let stats;
  try {
    stats = statSync(dir, { throwIfNoEntry: false });
  } catch (e) {
    // ENOTDIR: a folder on its path is a file.
    if ((e as NodeJS.ErrnoException).code === 'ENOTDIR') throw new UsageError(`cache ${dir} is not a directory`);
    throw e;
  }
  if (stats !== undefined && !stats.isDirectory()) throw new UsageError(`cache ${dir} is not a directory`);
  return dir;
}

/**
 * Refuses an --out file that exists and is not a regular file: writing into a FIFO waits forever, and a
 * writer that renames its finished file into place would replace a device or a socket.
 */
export function refuseIrregularOut(out: string, name = `--out ${out}`): void {
  const kind = irregularPath(out);
  if (kind !== undefined) throw new UsageError(`${name} is ${kind}, not a regular file; name a new file or a regular file to replace`);
}

export async function openCache(options: CacheOptions, pipelineFile?: string): Promise<CacheStore> {
  const { openStore } = await import('../cache/lmdb-store.js');
  const dir = cacheDirectory(options, pipelineFile);
  try {
    return await openStore(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTDIR') throw new UsageError(`cache ${dir} is not a directory`);
    throw e;
  }
}

/**
 * Runs `fn` on the opened cache, then closes it and says what damage it found there (reportDamage),
 * also when `fn` throws.
 */
export async function withStore<T>(opts: CacheOptions, pipeline: string | undefined, fn: (store: CacheStore) => Promise<T>): Promise<T> {
  const store = await openCache(opts, pipeline);
  try {
    return await fn(store);
  } finally {
    await store.close();
    reportDamage(store);
  }
}

/**
 * Says on stderr which damaged values a command found in the cache (they were removed, and what they
 * held is computed again by the next run), so that a failing disk does not go unnoticed.
 */
export function reportDamage(store: CacheStore): void {
  const damage = store.damage();
  if (damage.length === 0) return;
  process.stderr.write(`sparsegraph: warning: the cache ${store.location} held ${damage.length} damaged value(s); they were removed:\n`);
  for (const d of damage) process.stderr.write(`  ${d.table} ${d.key.slice(0, 64)}: ${d.detail}\n`);
}

/** The kinds modules of a command (`$SPARSEGRAPH_KINDS`, then `--kinds`), as absolute paths for workers. */
export function kindModules(options: Pick<AnalysisOptions, 'kinds'>): string[] {
  // resolve('') is the working directory: an empty --kinds is a slip, not a request to load a folder.
  if (options.kinds.some((m) => m.trim() === '')) throw new UsageError("--kinds expects a module path, got ''");
  return [...kindModulesFromEnv(), ...options.kinds].map((m) => resolve(m));
}

const registries = new Map<string, Promise<KindRegistry>>();

/** The node kinds a command knows, loaded once per process however many times it is asked. */
export function registryFor(options: Pick<AnalysisOptions, 'kinds'>): Promise<KindRegistry> {
  const modules = kindModules(options);
  const id = JSON.stringify(modules);
  let registry = registries.get(id);
  if (!registry) registries.set(id, (registry = loadKinds(modules)));
  return registry;
}

/** Analyses a pipeline; on problems prints them and exits 1 (2 for command-line problems). */
export async function analyzeOrExit(file: string, options: AnalysisOptions): Promise<ValidGraph> {
  // An empty argument would resolve to the working directory; it names no file.
  if (file.trim() === '') throw new UsageError('the pipeline file path is empty; name a pipeline YAML file');
  const registry = await registryFor(options);
  const result = analyze(file, {
    registry,
    set: options.set,
    ...dataHooks,
  });
  if (result.ok) return result.graph;
  reportDiagnostics(result.problems, result.usage, result.sources, Boolean(options.json));
  return exitWhenWritten(result.usage.length > 0 && result.problems.length === 0 ? EXIT.usage : EXIT.failure);
}

/**
 * Exits once everything written to stdout and stderr has been handed over: into a full pipe the rest
 * waits in memory, and exiting at once would cut 100,000 diagnostics (or a JSON document) short.
 */
async function exitWhenWritten(code: number): Promise<never> {
  await Promise.all([process.stdout, process.stderr].map((stream) => new Promise<void>((done) => stream.write('', () => done()))));
  process.exit(code);
}

export function gitCommit(dir: string): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: dir, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    return undefined;
  }
}

