/**
 * Everything the CLI prints goes through here: colours only on a terminal and never with NO_COLOR,
 * diagnostics as `file:line:col: error: message`, JSON documents on stdout.
 */
import os from 'node:os';
import { styleText } from 'node:util';
import { codeFrame, formatDiagnostic, type Diagnostic, type SourceFiles } from '../engine/lang/diagnostics.js';

type Style = Parameters<typeof styleText>[0];

export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  /** sysexits' EX_SOFTWARE: a bug in sparsegraph, never the user's input, so scripts can tell them apart. */
  internal: 70,
  /** The shell's convention: 128 + the signal's number (130 for Ctrl-C, 143 for SIGTERM). */
  signalled: (signal: NodeJS.Signals) => 128 + (os.constants.signals[signal] ?? 2),
} as const;

export function useColor(stream: NodeJS.WriteStream): boolean {
  return Boolean(stream.isTTY) && process.env['NO_COLOR'] === undefined && process.env['TERM'] !== 'dumb';
}

export function paint(style: Style, text: string, stream: NodeJS.WriteStream = process.stdout): string {
  return useColor(stream) ? styleText(style, text) : text;
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** A size for people: `512 B`, `1.5 KiB`, `3.0 MiB`, `2.1 GiB`. */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let v = n;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}

/** Thrown for command-line mistakes; the entry point prints it and exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Prints diagnostics to stderr (with the offending line on a terminal); returns the JSON form. */
export function reportDiagnostics(problems: readonly Diagnostic[], usage: readonly string[], sources: SourceFiles, json: boolean) {
  const entries = problems.map((d) => {
    const pos = d.range ? sources.position(d.file, d.range[0]) : undefined;
    return { file: d.file, line: pos?.line ?? null, column: pos?.col ?? null, message: d.message };
  });
  if (json) {
    printJson({ ok: false, diagnostics: entries, usage });
    return;
  }
  const err = process.stderr;
  for (const u of usage) err.write(`sparsegraph: ${paint('red', 'error', err)}: ${u}\n`);
  for (const d of problems) {
    const line = formatDiagnostic(d, sources).replace(': error: ', `: ${paint('red', 'error', err)}: `);
    err.write(`${line}\n`);
    const frame = err.isTTY ? codeFrame(d, sources) : undefined;
    if (frame) err.write(`${paint('dim', frame, err)}\n`);
  }
  const count = problems.length;
  if (count > 0) err.write(`${count} problem${count === 1 ? '' : 's'} found\n`);
}

/**
 * The message of an error that is the user's situation rather than a bug: a file that cannot be read or
 * written, a bundle or store that is damaged or from another version, a kinds module that cannot load.
 */
export function expectedFailure(e: unknown): string | undefined {
  if (!(e instanceof Error)) return undefined;
  const known = ['BundleError', 'StoreFormatError', 'StoreDamagedError', 'StoreFileError', 'VerifyError', 'CorruptEntryError', 'MissingResultError', 'StoreBusyError', 'StoreClosedError', 'DataFileError', 'BackendUnavailableError', 'KindsModuleError'];
  if (known.includes(e.name)) return e.message;
  const code = (e as NodeJS.ErrnoException).code;
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return e.message;
  return undefined;
}
