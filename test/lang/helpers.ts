/**
 * Shared by the pipeline-language tests: where the repository is, the built-in registry, running the
 * CLI, and analysing pipelines written into a scratch directory.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { analyze, type Analysis, type ValidGraph } from '../../engine/lang/analyze.js';
import { formatDiagnostic } from '../../engine/lang/diagnostics.js';
import { KindRegistry } from '../../engine/registry.js';
import { builtinKinds } from '../../nodes/index.js';

/** The repository root (tests run from dist/test/lang, fixtures live in the source tree). */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
export const corpusDir = join(repoRoot, 'test/lang/corpus');
export const validDir = join(repoRoot, 'test/lang/valid');
export const cliPath = join(repoRoot, 'dist/cli/main.js');

export const registry = new KindRegistry(builtinKinds);

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `node dist/cli/main.js ARGS...` with the repository root as working directory. */
export function runCli(args: readonly string[], cwd = repoRoot): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [cliPath, ...args],
      { cwd, env: { ...process.env, NO_COLOR: '1', SPARSEGRAPH_KINDS: '' }, timeout: 30_000 },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') reject(error);
        else resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
      },
    );
  });
}

const scratchDirs: string[] = [];
process.on('exit', () => {
  for (const dir of scratchDirs) rmSync(dir, { recursive: true, force: true });
});

/** A fresh scratch directory, removed when the test process exits. */
export function scratchDir(prefix = 'sparsegraph-lang-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  scratchDirs.push(dir);
  return dir;
}

/** Writes `files` (relative path to text) under `dir`. */
export function writeFiles(dir: string, files: Readonly<Record<string, string>>): void {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
}

export function analyzeFile(file: string, set: readonly string[] = []): Analysis {
  return analyze(file, { registry, set });
}

/** Analyses a pipeline given as text (written to a scratch directory) and expects it to be valid. */
export function graphOf(text: string, set: readonly string[] = [], name = 'pipeline.yaml'): ValidGraph {
  const dir = scratchDir();
  writeFiles(dir, { [name]: text });
  return validGraph(join(dir, name), set);
}

export function validGraph(file: string, set: readonly string[] = []): ValidGraph {
  const result = analyzeFile(file, set);
  if (!result.ok) {
    const lines = [...result.usage, ...result.problems.map((d) => formatDiagnostic(d, result.sources))];
    throw new Error(`expected ${file} to be valid:\n${lines.join('\n')}`);
  }
  return result.graph;
}

/** Instance id to key. */
export function keyMap(graph: ValidGraph): Map<string, string> {
  return new Map(graph.instances.map((i) => [i.id, i.key]));
}

/** Instance ids whose key differs between two graphs of the same instances. */
export function changedIds(before: ValidGraph, after: ValidGraph): string[] {
  const a = keyMap(before);
  const b = keyMap(after);
  const ids = [...new Set([...a.keys(), ...b.keys()])].sort();
  return ids.filter((id) => a.get(id) !== b.get(id));
}
