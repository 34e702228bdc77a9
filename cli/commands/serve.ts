/**
 * `serve FILE`: a local page with the instance graph of a pipeline, live progress of any `run` on the
 * same cache (this process's or another's), results and figures. See ../serve/server.ts.
 */
import { type Command } from 'commander';
import type { ValidGraph } from '../../engine/lang/analyze.js';
import type { CacheStore } from '../../cache/store.js';
import { analyzeOrExit, cacheDirectory, cacheOption, kindsOption, setOption, type AnalysisOptions, type CacheOptions } from '../common.js';
import { UsageError } from '../output.js';
import type { RunningServer } from '../serve/server.js';

export interface ServeFlags {
  port?: number;
  host?: string;
}

export function registerServeCommand(cli: Command): void {
  cli
    .command('serve')
    .description('serve a local page with the instance graph, live progress, results and figures (prints its URL with an access token)')
    .argument('<file>', 'pipeline YAML file')
    .addOption(setOption())
    .addOption(kindsOption())
    .addOption(cacheOption())
    .option('--port <port>', 'port to listen on (default: a free one)', parsePort)
    .option('--host <host>', 'address to listen on (default 127.0.0.1; anything else lets other machines reach the page, token still required)')
    .action(async (file: string, opts: AnalysisOptions & CacheOptions & ServeFlags) => {
      const graph = await analyzeOrExit(file, opts);
      const server = await serveGraph(graph, cacheDirectory(opts, file), opts);
      await new Promise<void>((done) => {
        const stop = () => done();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await server.close();
    });
}

export function parsePort(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 65535) throw new UsageError(`--port expects a port number 0-65535, got '${value}'`);
  return Number(value);
}

/**
 * Starts the page for `graph` on the cache in `cacheDir` and prints its URL as the first stdout line.
 * `shared`: a store this process already has open (run --serve), read through instead of a second handle.
 */
export async function serveGraph(graph: ValidGraph, cacheDir: string, flags: ServeFlags, shared?: CacheStore): Promise<RunningServer> {
  const host = flags.host ?? '127.0.0.1';
  const { startServer } = await import('../serve/server.js');
  const { openStore } = await import('../../cache/lmdb-store.js');
  const server = await startServer({
    graph,
    cacheDir,
    host,
    port: flags.port ?? 0,
    // Read-only: the page never writes the cache. Until a first run makes the cache, there is none to open.
    openStore: async () => (shared ? wrapShared(shared) : await openStore(cacheDir, { readOnly: true }).catch(() => undefined)),
  }).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'EADDRINUSE' || e.code === 'EACCES' || e.code === 'EADDRNOTAVAIL' || e.code === 'ENOTFOUND') throw new UsageError(`cannot listen on ${host}:${flags.port ?? 0}: ${e.message}`);
    throw e;
  });
  process.stdout.write(`${server.url}\n`);
  if (host !== '127.0.0.1' && host !== 'localhost' && host !== '::1') {
    process.stderr.write(`sparsegraph: warning: listening on ${host}, not only this machine: anyone who can reach it and has the URL's token can read the results\n`);
  }
  process.stderr.write(`serving ${graph.name} (${graph.instances.length} instances) from ${cacheDir}; Ctrl-C to stop\n`);
  return server;
}

/** The run's own store, which the server must not close: the run closes it. */
function wrapShared(store: CacheStore): CacheStore {
  return new Proxy(store, {
    get: (target, prop) => {
      if (prop === 'close') return async () => {};
      const value: unknown = Reflect.get(target, prop, target);
      // Bound to the store itself: its methods use private fields, which a proxy as `this` lacks.
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
