/** `sparsegraph bench`: the speed figures the project tracks (BENCHMARKS.md records them). */
import os from 'node:os';
import type { Command } from 'commander';
import { jsonOption } from '../common.js';
import { printJson, UsageError } from '../output.js';

const AREAS = ['plan', 'cache', 'nn', 'queue'] as const;

export function registerBenchCommand(cli: Command): void {
  cli
    .command('bench')
    .description(`measure planning, cache and training throughput (areas: ${AREAS.join(', ')})`)
    .option('--only <area>', 'run one area only')
    .addOption(jsonOption())
    .action(async (opts: { only?: string; json?: boolean }) => {
      const areas = opts.only ? [opts.only] : [...AREAS];
      const results: Record<string, number | string> = {};
      for (const area of areas) {
        if (!AREAS.includes(area as (typeof AREAS)[number])) throw new UsageError(`unknown bench area '${area}'; areas: ${AREAS.join(', ')}`);
        if (!opts.json) process.stderr.write(`bench: ${area}...\n`);
        const figures = await runArea(area as (typeof AREAS)[number]);
        Object.assign(results, figures);
        if (!opts.json) for (const [k, v] of Object.entries(figures)) process.stdout.write(`${k.padEnd(48)} ${typeof v === 'number' ? formatNumber(v) : v}\n`);
      }
      if (opts.json) printJson({ machine: machine(), ...results });
    });
}

/** What the figures were measured on, so BENCHMARKS.md entries can be compared. */
function machine(): Record<string, string | number> {
  return { node: process.version, platform: `${os.platform()} ${os.arch()}`, cpus: os.availableParallelism(), cpu: os.cpus()[0]?.model ?? 'unknown' };
}

function formatNumber(v: number): string {
  return Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(3);
}

async function runArea(area: (typeof AREAS)[number]): Promise<Record<string, number | string>> {
  switch (area) {
    case 'plan':
      return (await import('../../bench/plan.js')).benchPlanning();
    case 'cache': {
      const { mkdtempSync, rmSync } = await import('node:fs');
      const { tmpdir } = await import('node:os');
      const { join } = await import('node:path');
      const dir = mkdtempSync(join(tmpdir(), 'sparsegraph-bench-'));
      try {
        return await (await import('../../bench/cache.js')).benchCache(dir);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
    case 'queue':
      return (await import('../../bench/queue.js')).benchQueue((await import('../compose.js')).composerUrl);
    case 'nn': {
      const nn = await import('../../bench/nn.js');
      const figures = await nn.benchNumerics({});
      return { 'nn.backend': nn.benchBackendName(), ...figures };
    }
  }
}
