/**
 * Everything the CLI prints goes through here: colours only on a terminal and never with NO_COLOR,
 * diagnostics as `file:line:col: error: message`, JSON documents on stdout.
 */
import { styleText } from 'node:util';
import { codeFrame, formatDiagnostic, type Diagnostic, type SourceFiles } from '../lang/diagnostics.js';

type Style = Parameters<typeof styleText>[0];

export const EXIT = { ok: 0, failure: 1, usage: 2, interrupted: 130 } as const;

export function useColor(stream: NodeJS.WriteStream): boolean {
  return Boolean(stream.isTTY) && process.env['NO_COLOR'] === undefined && process.env['TERM'] !== 'dumb';
}

export function paint(style: Style, text: string, stream: NodeJS.WriteStream = process.stdout): string {
  return useColor(stream) ? styleText(style, text) : text;
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
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
