/**
 * Problems found in pipeline files. A diagnostic keeps a file and a byte range; it becomes
 * `FILE:LINE:COLUMN` only when printed, using the line table of the file it points into.
 */
import { LineCounter } from 'yaml';

export interface Diagnostic {
  /** Path of the file as the user named it (relative paths stay relative). */
  readonly file: string;
  /** Offsets [start, end) in the file's text; absent for problems that belong to no place (usage). */
  readonly range?: readonly [number, number];
  readonly message: string;
}

/** The line table of a text: where each line starts (LF breaks lines; a CR before it ends the line). */
export function lineTable(text: string): LineCounter {
  const lines = new LineCounter();
  lines.addNewLine(0);
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) lines.addNewLine(i + 1);
  return lines;
}

/** Every source file read during one analysis, with its text and line table, by path. */
export class SourceFiles {
  private readonly files = new Map<string, { text: string; lines: LineCounter }>();

  add(file: string, text: string, lines: LineCounter): void {
    this.files.set(file, { text, lines });
  }

  text(file: string): string | undefined {
    return this.files.get(file)?.text;
  }

  /**
   * 1-based line and column of an offset. Offsets count UTF-16 code units (JavaScript strings); the
   * column counts characters, so that an emoji or a CJK character before it counts once.
   */
  position(file: string, offset: number): { line: number; col: number } {
    const entry = this.files.get(file);
    if (!entry) return { line: 1, col: 1 };
    const { line } = entry.lines.linePos(offset);
    const start = entry.lines.lineStarts[line - 1] ?? 0;
    return { line, col: codePoints(entry.text, start, Math.min(offset, entry.text.length)) + 1 };
  }

  /** The text of a line (1-based), without its line break. */
  line(file: string, line: number): string {
    const entry = this.files.get(file);
    if (!entry) return '';
    const start = entry.lines.lineStarts[line - 1] ?? entry.text.length;
    const end = entry.lines.lineStarts[line] ?? entry.text.length + 1;
    return entry.text.slice(start, end - 1).replace(/\r$/, '');
  }
}

/** Characters (code points) in text[start, end): a surrogate pair is one. */
function codePoints(text: string, start: number, end: number): number {
  let count = 0;
  for (let i = start; i < end; i++) {
    const unit = text.charCodeAt(i);
    // A low surrogate after a high one finishes a character counted already.
    if (unit >= 0xdc00 && unit <= 0xdfff && i > start) {
      const before = text.charCodeAt(i - 1);
      if (before >= 0xd800 && before <= 0xdbff) continue;
    }
    count++;
  }
  return count;
}

/** `file:line:col: error: message` (or `file: error: message` without a range). */
export function formatDiagnostic(d: Diagnostic, sources: SourceFiles): string {
  if (!d.range) return `${d.file}: error: ${d.message}`;
  const { line, col } = sources.position(d.file, d.range[0]);
  return `${d.file}:${line}:${col}: error: ${d.message}`;
}

/** The offending line with a squiggle under the range, for terminals. */
export function codeFrame(d: Diagnostic, sources: SourceFiles): string | undefined {
  if (!d.range || sources.text(d.file) === undefined) return undefined;
  const { line, col } = sources.position(d.file, d.range[0]);
  const lineText = sources.line(d.file, line);
  const width = Math.max(1, Math.min(d.range[1] - d.range[0], [...lineText].length - col + 1));
  return `  ${String(line).padStart(4)} | ${lineText}\n       | ${' '.repeat(col - 1)}${'^'.repeat(width)}`;
}

/** Sorts diagnostics by file, then position, and drops exact repeats (swept instances repeat problems). */
export function sortDiagnostics(list: readonly Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  const unique = list.filter((d) => {
    const id = JSON.stringify([d.file, d.range?.[0], d.message]);
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
  return unique.sort(
    (a, b) => a.file.localeCompare(b.file) || (a.range?.[0] ?? -1) - (b.range?.[0] ?? -1),
  );
}
