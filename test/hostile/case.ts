/**
 * What a hostile case is, and the commands it is run through. A case describes an input (files written
 * into its own scratch directory, and flags) and what the CLI must answer: the exit code, where the
 * diagnostic points, and for an input that must be accepted, what the accepted graph holds.
 */
import { join } from 'node:path';

export const FAMILIES = ['prototype', 'yaml', 'numbers', 'paths', 'scale', 'encodings', 'flags', 'kinds'] as const;
export type Family = (typeof FAMILIES)[number];

/** 0: accepted (a near miss that must stay valid); 1: located diagnostics or an expected failure; 2: usage error. */
export type Exit = 0 | 1 | 2;

/** The commands a pipeline file goes through; each reads the pipeline before anything else. */
export const PIPELINE_COMMANDS = ['validate', 'plan', 'graph', 'graph-mermaid', 'run', 'report', 'export', 'cache-export', 'gc', 'show'] as const;
export type PipelineCommand = (typeof PIPELINE_COMMANDS)[number];
/** What an accepted pipeline may go through without computing anything. */
export const CHEAP_COMMANDS: readonly PipelineCommand[] = ['plan', 'graph', 'graph-mermaid', 'cache-export', 'gc'];

/** What an accepted input must come out as, read from `plan --json`. */
export interface Accepted {
  readonly instances?: number;
  /** Every instance has its own key: nothing collapsed two different inputs into one. */
  readonly distinctKeys?: boolean;
  /** Instance id, param name and the value its key was computed from. */
  readonly params?: readonly { readonly id: string; readonly name: string; readonly value: unknown }[];
}

export interface HostileCase {
  readonly name: string;
  readonly family: Family;
  /** What a new user or an attacker does, in one line. */
  readonly why: string;
  /** Writes what the case needs into its scratch directory, which is also the working directory of its runs. */
  readonly setup: (dir: string) => void | Promise<void>;
  /** The pipeline argument (relative to the scratch directory); absent for a case that gives `argv`. */
  readonly file?: string;
  /** Arguments after the pipeline file (`--set ...`), for every command the file goes through. */
  readonly args?: readonly string[];
  /** A whole command line instead of a pipeline file: run as given, and again with `--json`. */
  readonly argv?: (dir: string) => readonly string[];
  readonly exit: Exit | readonly Exit[];
  /**
   * `LINE:COL` in the pipeline file, or `FILE:LINE:COL`: a diagnostic must point there. Alternatives are
   * joined by '|' where two designs are both right (refusing a name where it is written, or where it is read).
   */
  readonly at?: string;
  /** The message must say this (stderr, or the JSON document with --json). */
  readonly says?: RegExp;
  /** The commands the file goes through (default: validate and one more, chosen by the case's name). */
  readonly commands?: readonly PipelineCommand[];
  /** Wall-clock limit of each run (default 20 s: far above what a bounded answer needs on a loaded machine). */
  readonly timeoutMs?: number;
  /**
   * The heap this case may use, in MiB, when a legitimate input needs more than HEAP_MB: 100,000 written
   * nodes peak at about 700 MB inside the yaml library's token tree (and take ~7 s on a quiet machine,
   * so their limit guards against a hang, not a speed: the speed is `bench`'s
   * validate.100k_written_nodes.ms).
   */
  readonly heapMb?: number;
  readonly env?: Readonly<Record<string, string>>;
  readonly accepted?: Accepted;
  /**
   * The command's answer is a report on stdout even when it exits 1 (`cache verify`, as `git fsck`):
   * then stdout may hold it, stderr may be silent, and `says` is looked for in both.
   */
  readonly reportOnStdout?: boolean;
  /** Runs as an unprivileged user also when the suite runs as root (test/fixtures/unprivileged.ts): permission cases. */
  readonly unprivileged?: boolean;
}

export const DEFAULT_TIMEOUT_MS = 20_000;

export const NO_BACKEND = 'hostile-no-such-backend';

export function exitsOf(c: HostileCase): readonly Exit[] {
  return typeof c.exit === 'number' ? [c.exit] : c.exit;
}

/** The command line of one pipeline command on `file`, with everything it writes kept inside `dir`. */
export function commandLine(command: PipelineCommand, file: string, dir: string): string[] {
  const cache = join(dir, '.hostile-cache');
  const out = join(dir, '.hostile-out');
  switch (command) {
    case 'validate':
      return ['validate', file];
    case 'plan':
      return ['plan', file, '--cache', cache];
    case 'graph':
      return ['graph', file];
    case 'graph-mermaid':
      return ['graph', file, '--format', 'mermaid'];
    case 'run':
      // A backend that does not exist: a pipeline wrongly accepted ends in a usage error instead of training.
      return ['run', file, '--cache', cache, '--jobs', '0', '--backend', NO_BACKEND];
    case 'report':
      return ['report', file, '--cache', cache, '--out', out];
    case 'export':
      return ['export', file, '--out', out, '--cache', cache];
    case 'cache-export':
      return ['cache', 'export', file, '--out', join(dir, 'bundle.sgb'), '--cache', cache];
    case 'gc':
      return ['gc', '--dry-run', '--cache', cache, '--keep', file];
    case 'show':
      return ['show', 'init', '--pipeline', file, '--cache', cache];
  }
}
