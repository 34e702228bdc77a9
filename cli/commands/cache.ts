/**
 * `sparsegraph cache …`: the cache as a whole. `cache export` and `cache import` share results as one
 * bundle file; `cache verify` checks every record and blob (and `--repair` keeps the sound ones).
 */
import { access } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { exportBundle, importBundle } from '../../cache/bundle.js';
import { repairStore, verifyStore, type RepairReport, type VerifyReport } from '../../cache/verify.js';
import {
  analyzeOrExit,
  cacheDirectory,
  cacheOption,
  jsonOption,
  kindsOption,
  refuseIrregularOut,
  setOption,
  withStore,
  type AnalysisOptions,
  type CacheOptions,
} from '../common.js';
import { cacheFromEnv } from '../environment.js';
import { EXIT, formatBytes, printJson, UsageError } from '../output.js';

/** `cache` and its subcommands `export`, `verify` and `import`, in the order `--help` lists them. */
export function registerCacheCommand(cli: Command): void {
  const cache = cli.command('cache').description('share cached results (export a pipeline\'s results to a bundle, import one) and check the cache (verify)');
  exportCommand(cache);
  verifyCommand(cache);
  importCommand(cache);
}

function exportCommand(cache: Command): void {
  cache
    .command('export')
    .description('write every cached result a pipeline needs to one bundle file')
    .argument('<file>', 'pipeline YAML file')
    .requiredOption('--out <bundle>', 'bundle file to write')
    .addOption(setOption())
    .addOption(kindsOption())
    .addOption(cacheOption())
    .addOption(jsonOption())
    .action(async (file: string, opts: CacheOptions & AnalysisOptions & { out: string; json?: boolean }) => {
      refuseIrregularOut(opts.out);
      const graph = await analyzeOrExit(file, opts);
      await withStore(opts, file, async (store) => {
        const wanted = graph.instances.map((i) => i.key).filter((k) => store.has(k));
        const report = await exportBundle(store, wanted, resolve(opts.out));
        const notRun = graph.instances.length - wanted.length;
        if (opts.json) printJson({ ...report, notCached: notRun });
        else {
          process.stdout.write(`wrote ${report.exported.length} result(s), ${report.blobs} blob(s), ${formatBytes(report.fileBytes)} to ${opts.out}\n`);
          if (notRun > 0) process.stdout.write(`${notRun} node instance(s) of ${file} are not cached and were not exported\n`);
        }
      });
    });
}

function printVerifyReport(report: VerifyReport | RepairReport): void {
  const out = process.stdout;
  out.write(`cache ${report.location}: ${report.results} result(s), ${report.soundResults} sound; ${report.blobs} blob(s)\n`);
  for (const p of report.problems) out.write(`  ${p.key === undefined ? '' : `${p.key.slice(0, 16)}: `}${p.problem}\n`);
  out.write(report.problems.length === 0 ? 'no problems found\n' : `${report.problems.length} problem(s) found\n`);
  if ('keptAs' in report) {
    out.write(
      `repaired: kept ${report.salvaged} of ${report.results} result(s) with their blobs, ${report.pins} pin(s), ${report.lastRuns} last run(s)` +
        `${report.droppedProgress > 0 ? `; ${report.droppedProgress} in-progress state(s) dropped` : ''}\n` +
        `the old file is kept as ${report.keptAs}\n`,
    );
  } else if (report.problems.length > 0) {
    out.write(`run \`sparsegraph cache verify --repair --cache ${report.location}\` to keep every sound result in a fresh cache file\n`);
  }
}

function verifyCommand(cache: Command): void {
  cache
    .command('verify')
    .description('check every record and blob of the cache (checksums, references, counts); --repair keeps every sound result in a fresh cache file')
    .option('--pipeline <file>', 'locate the default cache beside this pipeline')
    .option('--repair', 'copy every sound result (with its blobs, pins and last runs) into a fresh cache file that replaces the damaged one, kept beside it')
    .addOption(cacheOption())
    .addOption(jsonOption())
    .action(async (opts: CacheOptions & { pipeline?: string; repair?: boolean; json?: boolean }) => {
      const dir = cacheDirectory(opts, opts.pipeline);
      const report = opts.repair ? await repairStore(dir) : await verifyStore(dir);
      // A repair that succeeded leaves a sound cache; a verify reports what it found.
      const ok = Boolean(opts.repair) || report.problems.length === 0;
      if (opts.json) printJson({ ok, ...report });
      else printVerifyReport(report);
      process.exitCode = ok ? EXIT.ok : EXIT.failure;
    });
}

function importCommand(cache: Command): void {
  cache
    .command('import')
    .description('add the results of a bundle to the cache')
    .argument('<bundle>', 'bundle file written by `cache export`')
    .option('--pipeline <file>', 'locate the default cache beside this pipeline')
    .addOption(cacheOption())
    .addOption(jsonOption())
    .action(async (bundle: string, opts: CacheOptions & { pipeline?: string; json?: boolean }) => {
      if (!opts.pipeline && !opts.cache && !cacheFromEnv()) {
        // `run FILE` reads the cache beside FILE; importing into the current directory would miss it.
        throw new UsageError('say which cache to import into: --pipeline FILE (the cache beside it, as `run FILE` uses) or --cache DIR');
      }
      await access(resolve(bundle)).catch(() => {
        throw new UsageError(`bundle ${bundle} does not exist`);
      });
      await withStore(opts, opts.pipeline, async (store) => {
        const report = await importBundle(store, resolve(bundle));
        if (opts.json) printJson(report);
        else process.stdout.write(`imported ${report.imported.length} result(s); ${report.present.length} were already cached\n`);
      });
    });
}
