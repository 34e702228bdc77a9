/**
 * `sparsegraph worker --queue URL`: a machine's worker for coordinators that run pipelines with
 * `run FILE --queue URL` (engine/exec/queue/). It runs only the node kinds it has (built-in ones and
 * `--kinds` modules), in worker threads, and listens on no port: it connects out to Redis.
 */
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { kindModules, kindsOption, registryFor, type AnalysisOptions } from '../common.js';
import { composerUrl } from '../compose.js';
import { UsageError } from '../output.js';

interface WorkerFlags extends Pick<AnalysisOptions, 'kinds'> {
  queue: string;
  jobs: string;
  gpus?: string;
  cache?: string;
  backend?: string;
  lockMs?: string;
}

/** Where a worker keeps the inputs it fetched and the results it computed (a local disk, never shared). */
function defaultCacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'sparsegraph', 'worker');
}

function count(value: string, flag: string, min: number): number {
  if (!/^\d+$/.test(value) || Number(value) < min) throw new UsageError(`${flag} expects a whole number of at least ${min}, got '${value}'`);
  return Number(value);
}

export function registerWorkerCommand(cli: Command): void {
  cli
    .command('worker')
    .description('take tasks from a queue (a coordinator running `run FILE --queue URL`) and run them here')
    .requiredOption('--queue <url>', 'Redis URL: redis://[:PASSWORD@]HOST:PORT[/DB] or rediss:// for TLS')
    .option('-j, --jobs <n>', 'tasks at once, each in its own worker thread', '1')
    .option('--gpus <n>', 'accelerator slots: tensor tasks hold one each while they run (default: no limit)')
    .option('--cache <dir>', 'local cache of fetched inputs and computed results (default: ~/.cache/sparsegraph/worker)')
    .option('--backend <name>', 'tensor backend: tensorflow-gpu, tensorflow, native, wasm, cpu (default: best available)')
    .option('--lock-ms <ms>', 'how long a silent worker keeps its job before BullMQ gives it to another (default 30000)')
    .addOption(kindsOption())
    .action(async (opts: WorkerFlags) => {
      const [{ startRemoteWorker }, { checkRedisUrl, redactedUrl }] = await Promise.all([import('../../engine/exec/queue/remote-worker.js'), import('../../engine/exec/queue/protocol.js')]);
      try {
        checkRedisUrl(opts.queue);
      } catch (error: unknown) {
        throw new UsageError((error as Error).message);
      }
      const jobs = count(opts.jobs, '--jobs', 1);
      const gpus = opts.gpus === undefined ? 0 : count(opts.gpus, '--gpus', 0);
      const lockMs = opts.lockMs === undefined ? undefined : count(opts.lockMs, '--lock-ms', 1000);
      const log = (line: string) => process.stdout.write(`${new Date().toISOString()} ${line}\n`);
      const worker = await startRemoteWorker({
        url: opts.queue,
        cacheDir: path.resolve(opts.cache ?? defaultCacheDir()),
        jobs,
        gpus,
        registry: await registryFor(opts),
        composer: composerUrl,
        kindModules: kindModules(opts),
        ...(opts.backend ? { backend: opts.backend } : {}),
        ...(lockMs ? { lockMs } : {}),
        log,
      });
      await worker.ready;
      log(`worker ${os.hostname()}:${process.pid} waiting for tasks on ${redactedUrl(opts.queue)} (${jobs} at once)`);
      await new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          log(`${signal}: finishing the running task(s), then exiting`);
          void worker.close().then(resolve);
        };
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
      });
      log('worker stopped');
      process.exit(0);
    });
}
