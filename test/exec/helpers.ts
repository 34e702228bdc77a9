/** Shared set-up for executor tests: a temp directory with pipeline files, analysis with test kinds. */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dataHooks } from '../../science/data/index.js';
import { analyze, type ValidGraph } from '../../engine/lang/analyze.js';
import { KindRegistry } from '../../engine/registry.js';
import { builtinKinds } from '../../nodes/index.js';
import { kinds } from '../fixtures/kinds.js';

export const registry = new KindRegistry([...builtinKinds, ...kinds]);
export const kindsModule = fileURLToPath(new URL('../fixtures/kinds.js', import.meta.url));
export const cliPath = fileURLToPath(new URL('../../cli/main.js', import.meta.url));

export function tempDir(prefix = 'sg-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function writePipeline(dir: string, name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

export function graphOf(file: string, set: string[] = []): ValidGraph {
  const result = analyze(file, { registry, set, ...dataHooks });
  if (!result.ok) throw new Error(`analysis failed: ${JSON.stringify(result.problems.map((p) => p.message).concat(result.usage))}`);
  return result.graph;
}

/** a -> b -> c, d alone, e sums b and d. */
export const CHAIN = `sparsegraph: 1
name: chain
params: { base: 1, step: 2 }
nodes:
  a: { kind: test-constant, with: { v: "\${params.base}" } }
  b: { kind: test-add, inputs: { a: a }, with: { plus: "\${params.step}" } }
  c: { kind: test-add, inputs: { a: b }, with: { plus: 10 } }
  d: { kind: test-constant, with: { v: 100 } }
  e: { kind: test-add, inputs: { a: b, b: d } }
`;

/** The outcome of one CLI process. */
export interface Ran {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** SIGKILL this long after the start. Prefer `killOn`: a delay from the start means less on a loaded machine. */
  readonly killAfterMs?: number;
  /** SIGKILL `afterMs` (default 0) after the output (stdout and stderr together) first matches `output`. */
  readonly killOn?: { readonly output: RegExp; readonly afterMs?: number };
  /**
   * SIGINT (Ctrl-C) as soon as the output matches, or matches every pattern of a list: e.g. a node's
   * `start` line. Waiting for the event, not a delay, keeps the test meaning the same on a loaded machine.
   */
  readonly interruptOn?: RegExp | readonly RegExp[];
  readonly env?: Record<string, string>;
}

export function cli(args: string[], options: CliOptions = {}): Promise<Ran> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cliPath, ...args], {
      env: { ...process.env, SPARSEGRAPH_KINDS: kindsModule, NO_COLOR: '1', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    /** Signals still waiting for their output; each is sent once. */
    const triggers: { patterns: readonly RegExp[]; fire: () => void }[] = [];
    if (options.interruptOn !== undefined) triggers.push({ patterns: [options.interruptOn].flat(), fire: () => child.kill('SIGINT') });
    if (options.killOn !== undefined) {
      const { output, afterMs = 0 } = options.killOn;
      triggers.push({ patterns: [output], fire: () => setTimeout(() => child.kill('SIGKILL'), afterMs) });
    }
    const watch = () => {
      const seen = stdout + stderr;
      for (const t of [...triggers]) {
        if (!t.patterns.every((p) => seen.search(p) >= 0)) continue;
        triggers.splice(triggers.indexOf(t), 1);
        t.fire();
      }
    };
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      watch();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      watch();
    });
    if (options.killAfterMs !== undefined) setTimeout(() => child.kill('SIGKILL'), options.killAfterMs);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}
